"""Run-time flows of CodePipeline: the pipeline role, each stage action's role, and what the deploy stages call.

Per action provider, the calls its action reference says the stage role makes (CodeCommit, a Git host
through CodeConnections, CodeBuild, a manual approval's notification, CodeDeployToECS with the task
definition it registers and the roles it passes); the artifact bucket and key every stage uses. The
CodeBuild projects' own calls are cicd.policy.authz.flows.builds.
"""
from __future__ import annotations

from typing import Any, Dict

from cicd.policy.authz.builder import Builder
from cicd.policy.authz.catalogue import Stack


def actions(b: Builder) -> None:
    s = b.stack
    (_, pipeline), = s.items("aws_codepipeline")
    role = s.value(pipeline["role_arn"])
    b.assume(role, "codepipeline.amazonaws.com", "pipeline")
    bucket = artifact_bucket(s, pipeline)
    b.s3_object("pipeline moves artifacts", "pipeline", role, bucket, "shop-pipeline/source/abc.zip",
                "s3:GetObject", "s3:PutObject")
    b.as_role("pipeline checks the artifact bucket", "pipeline", role, "s3:GetBucketVersioning",
              f"arn:aws:s3:::{bucket}", resource_policy=s.bucket_policy(bucket), aws_SecureTransport="true")
    b.kms("pipeline encrypts artifacts", "pipeline", role, "kms:GenerateDataKey", "kms:Decrypt")
    for stage in pipeline["stage"]:
        for action in stage["action"]:
            stage_role = s.role(action["role_arn"])
            b.as_role(f"pipeline assumes the {stage['name']} role", "pipeline", role, "sts:AssumeRole",
                      stage_role.arn, resource_policy=stage_role.trust)
            label = f"{stage['name']}/{action['name']}"
            config = {k: s.value(v) for k, v in (action.get("configuration") or {}).items()}
            b.s3_object(f"{label} reads and writes artifacts", "pipeline", stage_role.arn, bucket,
                        "shop-pipeline/build/abc.zip", "s3:GetObject", "s3:PutObject")
            b.kms(f"{label} artifact key", "pipeline", stage_role.arn, "kms:GenerateDataKey", "kms:Decrypt")
            provider = action["provider"]
            if provider == "CodeCommit":
                repo = s.arn("codecommit", config["RepositoryName"])
                for act in ("GetBranch", "GetCommit", "GetRepository", "UploadArchive", "GetUploadArchiveStatus",
                            "CancelUploadArchive"):
                    b.as_role(f"{label} reads the repository", "codecommit", stage_role.arn, f"codecommit:{act}", repo)
            elif provider == "CodeStarSourceConnection":
                connection = config["ConnectionArn"]
                prefix = connection.split(":")[2]  # codeconnections, or codestar-connections for older ARNs
                b.as_role(f"{label} reads the Git host through the connection", "connections", stage_role.arn,
                          f"{prefix}:UseConnection", connection)
            elif provider == "CodeBuild":
                project = s.arn("codebuild", f"project/{config['ProjectName']}")
                for act in ("StartBuild", "BatchGetBuilds", "StopBuild"):
                    b.as_role(f"{label} runs the build", "codebuild-action", stage_role.arn, f"codebuild:{act}", project)
            elif provider == "Manual":
                b.publish(f"{label} announces the approval", "approval", config["NotificationArn"],
                          role_arn=stage_role.arn)


def deploy_stages(b: Builder) -> None:
    """CodeDeployToECS: what the deploy stages' roles call (the action reference's permissions)."""
    s = b.stack
    (_, pipeline), = s.items("aws_codepipeline")
    groups = {s.value(g["deployment_group_name"]): g for _, g in s.items("aws_codedeploy_deployment_group")}
    for stage in pipeline["stage"]:
        for action in stage["action"]:
            if action["provider"] != "CodeDeployToECS":
                continue
            role = s.value(action["role_arn"])
            label = f"{stage['name']}/{action['name']}"
            config = {k: s.value(v) for k, v in action["configuration"].items()}
            app, group_name = config["ApplicationName"], config["DeploymentGroupName"]
            group = groups[group_name]
            group_arn = s.arn("codedeploy", f"deploymentgroup:{app}/{group_name}")
            for act in ("CreateDeployment", "GetDeployment"):
                b.as_role(f"{label} deploys", "ecs-bluegreen", role, f"codedeploy:{act}", group_arn)
            for act in ("GetApplication", "GetApplicationRevision", "RegisterApplicationRevision"):
                b.as_role(f"{label} registers the revision", "ecs-bluegreen", role, f"codedeploy:{act}",
                          s.arn("codedeploy", f"application:{app}"))
            b.as_role(f"{label} reads the deployment config", "ecs-bluegreen", role, "codedeploy:GetDeploymentConfig",
                      s.arn("codedeploy", f"deploymentconfig:{s.value(group['deployment_config_name'])}"))
            taskdef = taskdef_for(s, s.value(group["ecs_service"]["service_name"]))
            revision = s.arn("ecs", f"task-definition/{taskdef['family']}:2")
            b.as_role(f"{label} registers the task definition", "ecs-bluegreen", role, "ecs:RegisterTaskDefinition",
                      revision)
            # taskdef.json carries tags: ECS then also authorizes TagResource on the new revision.
            b.as_role(f"{label} tags the task definition", "ecs-tagging", role, "ecs:TagResource", revision,
                      ecs_CreateAction="RegisterTaskDefinition")
            for key in ("execution_role_arn", "task_role_arn"):
                b.as_role(f"{label} passes the task's roles", "ecs-bluegreen", role, "iam:PassRole",
                          s.value(taskdef[key]), iam_PassedToService="ecs-tasks.amazonaws.com")


def artifact_bucket(s: Stack, pipeline: Dict[str, Any]) -> str:
    store = pipeline["artifact_store"]
    return s.value((store[0] if isinstance(store, list) else store)["location"])


def taskdef_for(s: Stack, service_name: str) -> Dict[str, Any]:
    for name, body in s.items("aws_ecs_service"):
        if s.value(body["name"]) == service_name:
            ref = body["task_definition"]  # ${aws_ecs_task_definition.X.arn}
            return s.doc["resource"]["aws_ecs_task_definition"][ref.split(".")[1]]
    raise KeyError(service_name)
