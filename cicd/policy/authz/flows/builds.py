"""Run-time flows of the CodeBuild projects, as their service role: logs, artifacts, parameters, ECR pushes.

What each project's buildspec makes it call is read from the rendered buildspec itself: the SSM
parameters it names, an image push, the source mirror's Git pull and cross-region push
(templates/buildspecs/mirror.yml.j2) and the Activate job's release markers and scalable targets
(templates/buildspecs/activate.yml.j2).
"""
from __future__ import annotations

import json
import re
from typing import List, Tuple

from cicd.policy.authz.builder import Builder
from cicd.policy.authz.catalogue import Stack
from cicd.policy.authz.flows.pipeline import artifact_bucket


def projects(b: Builder) -> None:
    s = b.stack
    (_, pipeline), = s.items("aws_codepipeline")
    bucket = artifact_bucket(s, pipeline)
    for _, project in s.items("aws_codebuild_project"):
        role = s.value(project["service_role"])
        name = s.value(project["name"])
        b.assume(role, "codebuild.amazonaws.com", f"build {name}")
        b.log_stream(f"{name} writes its log", "codebuild-role", role, s.value(project["logs_config"]["cloudwatch_logs"]["group_name"]))
        source = project["source"] if isinstance(project["source"], dict) else project["source"][0]
        buildspec = source["buildspec"]
        if source["type"] == "CODEPIPELINE":  # the pipeline hands it artifacts; NO_SOURCE jobs get none
            b.s3_object(f"{name} reads its input", "codebuild-role", role, bucket, "shop-pipeline/source/abc.zip",
                        "s3:GetObject", "s3:PutObject")
            b.kms(f"{name} artifact key", "codebuild-role", role, "kms:GenerateDataKey", "kms:Decrypt")
        _git_mirror(b, role, name, s.value(buildspec))
        _activation(b, role, name, s.value(buildspec))
        for parameter in _buildspec_parameters(s.value(buildspec)):
            b.as_role(f"{name} reads {parameter}", "codebuild-role", role, "ssm:GetParameters",
                      s.arn("ssm", f"parameter{parameter}"))
        if "docker push" in buildspec:
            b.as_role(f"{name} logs in to ECR", "ecr-push", role, "ecr:GetAuthorizationToken", "*")
            for _, repo in s.items("aws_ecr_repository"):
                repo_name = s.value(repo["name"])
                if f"/{repo_name.split('/')[-1]}" not in s.value(str(project.get("environment", ""))) and \
                        repo_name.split("/")[-1] not in name:
                    continue
                for act in ("InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "PutImage",
                            "BatchCheckLayerAvailability", "BatchGetImage", "GetDownloadUrlForLayer"):
                    b.as_role(f"{name} pushes {repo_name}", "ecr-push", role, f"ecr:{act}",
                              s.arn("ecr", f"repository/{repo_name}"))


def _repo_arn(s: Stack, clone_url: str) -> Tuple[str, str]:
    """(region, repository ARN) of a CodeCommit HTTPS clone URL."""
    host, _, name = clone_url.split("://", 1)[1].partition("/v1/repos/")
    region = host.split(".")[1]
    return region, f"arn:aws:codecommit:{region}:{s.account}:{name}"


def _git_mirror(b: Builder, role: str, name: str, buildspec: str) -> None:
    """A buildspec that clones SOURCE_URL and pushes to TARGET_URLS (templates/buildspecs/mirror.yml.j2)."""
    import yaml
    variables = ((yaml.safe_load(buildspec) or {}).get("env") or {}).get("variables") or {}
    if "SOURCE_URL" not in variables:
        return
    s = b.stack
    region, source = _repo_arn(s, variables["SOURCE_URL"])
    b.as_role(f"{name} clones the repository", "codecommit-git", role, "codecommit:GitPull", source)
    b.kms(f"{name} reads the repository's objects", "codecommit-kms", role, "kms:Decrypt")
    for url in variables.get("TARGET_URLS", "").split():
        target_region, target = _repo_arn(s, url)
        b.as_role(f"{name} pushes to {target_region}", "codecommit-git", role, "codecommit:GitPush", target)
        # The DR key belongs to the DR stack; its policy has the same shape as this region's (stack/encryption.py).
        dr_key = s.key_arn().replace(f":{s.region}:", f":{target_region}:")
        policy = json.loads(json.dumps(s.key_policy()).replace(f":{s.region}:", f":{target_region}:"))
        for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"):
            b.as_role(f"{name} writes objects in {target_region}", "codecommit-kms", role, action, dr_key,
                      resource_policy=policy, kms_ViaService=f"codecommit.{target_region}.amazonaws.com",
                      kms_ResourceAliases=[f"alias/{s.project()}-pipeline"])


_ACTIVATE = re.compile(r'^\s*activate "([^"]+)" "([^"]+)" "([^"]+)" (\d+) (\d+)$', re.MULTILINE)


def _activation(b: Builder, role: str, name: str, buildspec: str) -> None:
    """The Activate job's calls per service (templates/buildspecs/activate.yml.j2): read the release marker,
    register the raised scalable target (Application Auto Scaling checks the caller may describe and update
    the service), wait on the service's desired count, write the marker."""
    s = b.stack
    targets = {s.value(t["resource_id"]): n for n, t in s.items("aws_appautoscaling_target")}
    for _stage, marker, resource_id, _low, _high in _ACTIVATE.findall(buildspec):
        parameter = s.arn("ssm", f"parameter{marker}")
        service = s.arn("ecs", resource_id)
        for action in ("ssm:GetParameter", "ssm:PutParameter"):
            b.as_role(f"{name} reads and sets {marker}", "activate", role, action, parameter)
        b.as_role(f"{name} raises {resource_id}", "activate", role, "application-autoscaling:RegisterScalableTarget",
                  s.attr("aws_appautoscaling_target", targets[resource_id], "arn"),
                  **{"application-autoscaling:service-namespace": "ecs",
                     "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount"})
        for action in ("ecs:DescribeServices", "ecs:UpdateService"):
            b.as_role(f"{name} raises {resource_id}", "activate", role, action, service)


def _buildspec_parameters(buildspec: str) -> List[str]:
    import yaml  # the toolchain's YAML parser; the buildspec is the rendered template
    spec = yaml.safe_load(buildspec) or {}
    return sorted(((spec.get("env") or {}).get("parameter-store") or {}).values())
