"""Log groups, tags, determinism across deployment ids, outputs and the state backend."""
from __future__ import annotations

import re
from typing import Any, Dict, Tuple

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, LOG_RETENTION_DAYS


# --- 13: logs ----------------------------------------------------------------------------------------

def test_every_log_group_keeps_14_days_and_is_kms_encrypted(stack):
    groups = stack.bodies("aws_cloudwatch_log_group")
    # flow logs, the two Lambdas, the WAF, one per CodeBuild project (builds, test, activate, and the source
    # mirror's where the region mirrors its repository), one per service x stage
    mirror = 1 if stack.cfg.source_mirror_regions else 0
    assert len(groups) == 4 + (len(stack.cfg.services) + 2 + mirror) + len(stack.cfg.services) * len(DEPLOY_STAGES)
    for group in groups:
        assert group.get("retention_in_days") == LOG_RETENTION_DAYS == 14, group["name"]
        assert stack.is_kms_key(group.get("kms_key_id")), group["name"]


# --- 14: tags ----------------------------------------------------------------------------------------

def test_provider_default_tags(stack, cfg):
    providers = stack.doc["provider"]["aws"]
    assert len(providers) == 1
    provider = providers[0]
    assert provider["region"] == cfg.region
    tags = provider["default_tags"][0]["tags"]
    assert tags["project"] == cfg.project
    assert tags["region"] == cfg.region
    assert tags["owner"] == cfg.owner


def _expected(cfg, stage, service) -> Dict[str, str]:
    return {"stage": stage.value, "service": service.name}


def _tags_of(body: dict) -> Dict[str, str]:
    return {k: v for k, v in (body.get("tags") or {}).items() if k in ("stage", "service")}


def test_per_service_resources_carry_stage_and_service_tags(stack, cfg):
    for stage in DEPLOY_STAGES:
        for service in cfg.services:
            expected = _expected(cfg, stage, service)
            where = f"{stage.value}/{service.name}"
            _, ecs = stack.the("aws_ecs_service", name=naming.ecs_service(cfg, stage, service))
            _, taskdef = stack.the("aws_ecs_task_definition", family=naming.task_family(cfg, stage, service))
            _, group = stack.the("aws_codedeploy_deployment_group",
                                 deployment_group_name=naming.deployment_group(cfg, stage, service))
            target_groups = [stack.ref(tg["name"], "aws_lb_target_group", "name")[1]
                             for tg in group["load_balancer_info"]["target_group_pair_info"]["target_group"]]
            _, logs = stack.the("aws_cloudwatch_log_group", name=naming.service_log_group(cfg, stage, service))
            alarms = [a for a in stack.bodies("aws_cloudwatch_metric_alarm")
                      if a["alarm_name"].startswith(naming.deployment_group(cfg, stage, service) + "-")]
            parameters = [p for p in stack.bodies("aws_ssm_parameter")
                          if p["name"].startswith(naming.parameter_path(stage, service))]
            assert alarms and parameters and len(target_groups) == 2
            for kind, body in ([("ECS service", ecs), ("task definition", taskdef), ("deployment group", group),
                                ("log group", logs)] + [("target group", tg) for tg in target_groups]
                               + [("alarm", a) for a in alarms] + [("parameter", p) for p in parameters]):
                assert _tags_of(body) == expected, f"{where}: {kind} tags {body.get('tags')}"


def test_build_resources_carry_the_service_tag(stack, cfg):
    for service in cfg.services:
        _, project = stack.the("aws_codebuild_project", name=naming.build_project(cfg, service))
        _, repo = stack.the("aws_ecr_repository", name=naming.ecr_repository(cfg, service))
        for body in (project, repo):
            assert (body.get("tags") or {}).get("service") == service.name


# --- 14: determinism ---------------------------------------------------------------------------------

def _leaves(value: Any, path: Tuple = ()) -> Dict[Tuple, Any]:
    if isinstance(value, dict):
        out: Dict[Tuple, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, path + (key,)))
        return out or {path: {}}
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(_leaves(item, path + (index,)))
        return out or {path: []}
    return {path: value}


def test_another_deployment_id_changes_only_the_taskdef_tags_and_the_output(synthesized, resynthesized, deployment_id,
                                                                            other_deployment_id):
    first = synthesized[resynthesized.region]
    a, b = _leaves(first.doc), _leaves(resynthesized.doc)
    assert set(a) == set(b), f"paths differ: {sorted(set(a) ^ set(b), key=str)[:10]}"
    changed = {path for path in a if a[path] != b[path]}
    taskdefs = set(first.resources("aws_ecs_task_definition"))
    expected = {("output", "deployment_id", "value")} | {
        ("resource", "aws_ecs_task_definition", name, "tags", "deployment-id") for name in taskdefs}
    assert len(taskdefs) == len(first.cfg.services) * len(DEPLOY_STAGES)
    assert changed == expected, f"unexpected differences: {sorted(changed ^ expected, key=str)}"
    for path in expected:
        assert (a[path], b[path]) == (deployment_id, other_deployment_id), path
    # the Lambda asset is the same file too
    files = [sorted(str(p.relative_to(s.directory)) for p in s.directory.rglob("*") if p.is_file())
             for s in (first, resynthesized)]
    assert files[0] == files[1]


# --- 15: outputs -------------------------------------------------------------------------------------

def test_pipeline_url_output(stack, cfg):
    url = stack.expand(stack.doc["output"]["pipeline_url"]["value"])
    assert url.startswith("https://"), url
    assert f"/{naming.pipeline(cfg)}/" in url or url.endswith(f"/{naming.pipeline(cfg)}"), url
    assert cfg.region in url and f"region={cfg.region}" in url, url
    assert "${" not in url, url


def test_ecr_repository_uris_output(stack, cfg):
    uris = stack.doc["output"]["ecr_repository_uris"]["value"]
    assert sorted(uris) == sorted(s.name for s in cfg.services)
    for service in cfg.services:
        _, repo = stack.ref(uris[service.name], "aws_ecr_repository", "repository_url")
        assert repo["name"] == naming.ecr_repository(cfg, service)


def test_service_endpoints_output(stack, cfg):
    endpoints = stack.doc["output"]["service_endpoints"]["value"]
    expected = {f"{stage.value}/{service.name}" for stage in DEPLOY_STAGES for service in cfg.services}
    assert set(endpoints) == expected and len(endpoints) == 6
    scheme = "https" if cfg.certificate_arn else "http"
    for key, url in endpoints.items():
        stage, service = key.split("/")
        match = re.fullmatch(rf"{scheme}://(\$\{{[^}}]+\}})/{re.escape(service)}/", url)
        assert match, url
        _, alb = stack.ref(match.group(1), "aws_lb", "dns_name")
        assert alb["tags"]["stage"] == stage


def test_deployment_id_output(stack, deployment_id):
    assert stack.doc["output"]["deployment_id"]["value"] == deployment_id


# --- 16: backend -------------------------------------------------------------------------------------

def test_s3_backend(stack, cfg):
    backend = stack.doc["terraform"]["backend"]
    assert list(backend) == ["s3"]
    s3 = backend["s3"]
    assert s3["bucket"] == cfg.state.bucket
    assert s3["key"] == cfg.state.key
    assert s3["region"] == cfg.state.region == cfg.region
    assert s3["encrypt"] is True
    assert s3["use_lockfile"] is True
    assert "dynamodb_table" not in s3


def test_regions_keep_separate_state(synthesized):
    backends = [s.doc["terraform"]["backend"]["s3"] for s in synthesized.values()]
    assert len(backends) == 2
    assert backends[0]["bucket"] != backends[1]["bucket"]
    assert backends[0]["key"] != backends[1]["key"]
