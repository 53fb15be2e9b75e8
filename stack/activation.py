"""The pipeline's Activate action: a service's first release in a stage raises it from 0 tasks.

A fresh install runs no task (stack/services.py): the first task definitions name the `bootstrap`
tag, which only the service's first build pushes. At each deploy stage, before its deployments, the
Activate action (one small CodeBuild project, the stage given by the action) raises the auto-scaling
minimum of every service of that stage whose release marker still says `none`, and records the
release in the marker. The original (blue) task set then starts the bootstrap image - the first
build's - so the first blue/green deployment has tasks on both sides, and its pre-traffic test sees
real replacement tasks. Later releases find the markers set and change nothing; Terraform reads the
markers back and keeps the configured minimum, so a later apply (or a failover) agrees.
"""
from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.codebuild_project import CodebuildProject
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, LOG_RETENTION_DAYS
from cicd.workspace.parameters import UNRELEASED
from cicd.workspace.render import render_activate_buildspec
from stack.context import StackContext
from stack.encryption import Encryption
from stack.iam import Role
from stack.policy import LOG_RETENTION, skip
from stack.services import Services
from stack.storage import Storage

IMAGE = "aws/codebuild/standard:7.0"
TIMEOUT_MINUTES = 10


def targets(cfg) -> list:
    """What the buildspec activates: per stage and service its marker, scalable target and counts."""
    return [{"stage": stage.value, "marker": naming.release_marker(cfg, stage, service),
             "resource_id": f"service/{naming.cluster(cfg)}/{naming.ecs_service(cfg, stage, service)}",
             "min": cfg.size(stage).desired_count, "max": max(cfg.size(stage).desired_count * 4, 2)}
            for stage in DEPLOY_STAGES for service in cfg.services]


class Activation(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption, storage: Storage,
                 services: Services):
        super().__init__(scope, id)
        cfg = ctx.cfg
        name = f"{cfg.project}-activate"
        role = ctx.role(Role(self, "role", name=naming.role(cfg, "codebuild-activate"),
                             description="CodeBuild: a stage's first release raises its services from 0 tasks",
                             service="codebuild.amazonaws.com",
                             conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        self.role = role
        log_group = CloudwatchLogGroup(self, "logs", name=naming.codebuild_log_group(name),
                                       retention_in_days=LOG_RETENTION_DAYS, kms_key_id=encryption.arn)
        skip(log_group, "CKV_AWS_338", LOG_RETENTION)
        role.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group.arn}:*"])
        # The pipeline hands every CodeBuild action an input artifact (KMS-encrypted in the artifact bucket).
        role.allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [f"{storage.artifacts.arn}/*"])
        role.allow(["kms:Decrypt", "kms:GenerateDataKey"], [encryption.arn])
        role.allow(["ssm:GetParameter", "ssm:PutParameter"],
                   [ctx.arn("ssm", f"parameter{t['marker']}") for t in targets(cfg)])
        # Registering an ECS service's scalable target: Application Auto Scaling checks that the caller may
        # describe and update the service.
        role.allow(["application-autoscaling:RegisterScalableTarget"],
                   [d.scaling.arn for d in services.deployables.values()],
                   Condition={"StringEquals": {"application-autoscaling:service-namespace": "ecs",
                                               "application-autoscaling:scalable-dimension":
                                                   "ecs:service:DesiredCount"}})
        role.allow(["ecs:DescribeServices", "ecs:UpdateService"],
                   [ctx.arn("ecs", f"service/{naming.cluster(cfg)}/{naming.ecs_service(cfg, st, svc)}")
                    for st in DEPLOY_STAGES for svc in cfg.services])
        self.project = CodebuildProject(
            self, "project", name=name, description="Raise a stage's services from 0 tasks at its first release",
            service_role=role.arn, encryption_key=encryption.arn, build_timeout=TIMEOUT_MINUTES, queued_timeout=60,
            source={"type": "CODEPIPELINE", "buildspec": render_activate_buildspec(targets(cfg), UNRELEASED)},
            artifacts={"type": "CODEPIPELINE"},
            environment={"compute_type": "BUILD_GENERAL1_SMALL", "image": IMAGE, "type": "LINUX_CONTAINER",
                         "privileged_mode": False, "image_pull_credentials_type": "CODEBUILD"},
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": log_group.name},
                         "s3_logs": {"status": "DISABLED"}},
        )
