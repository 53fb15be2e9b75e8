"""CodeBuild: one privileged build project per service (docker builds) and one test project.

Buildspecs are the rendered templates/buildspecs; build-time values come from Parameter Store.
"""
from __future__ import annotations

from typing import Dict

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.codebuild_project import CodebuildProject
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, LOG_RETENTION_DAYS
from cicd.workspace.render import render_build_buildspec, render_test_buildspec
from stack.context import StackContext
from stack.encryption import Encryption
from stack.iam import Role
from stack.policy import LOG_RETENTION, skip
from stack.registry import Registry
from stack.services import Services
from stack.storage import Storage

IMAGE = "aws/codebuild/standard:7.0"
BUILD_TIMEOUT_MINUTES = 30


class Builds(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption, storage: Storage,
                 registry: Registry, services: Services):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.build_role = ctx.role(Role(self, "build-role", name=naming.role(cfg, "codebuild-build"),
                                        description="CodeBuild: build and push the service images",
                                        service="codebuild.amazonaws.com",
                                        conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        self.test_role = ctx.role(Role(self, "test-role", name=naming.role(cfg, "codebuild-test"),
                                       description="CodeBuild: run the services' tests",
                                       service="codebuild.amazonaws.com",
                                       conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        self.builds: Dict[str, CodebuildProject] = {}
        for service in cfg.services:
            taskdefs = {stage: services.deployables[(stage, service.name)].bare_taskdef for stage in DEPLOY_STAGES}
            self.builds[service.name] = self._project(
                ctx, encryption, self.build_role, naming.build_project(cfg, service),
                f"Build, scan and push {service.name}", render_build_buildspec(cfg, service, taskdefs))
            skip(self.builds[service.name], "CKV_AWS_316",
                 "docker build and push need privileged mode (the Docker daemon); the project builds only "
                 "this monorepo's Dockerfiles from the pipeline's own source artifact")
        self.test = self._project(ctx, encryption, self.test_role, naming.test_project(cfg),
                                  "Run every service's tests", render_test_buildspec(cfg.services))
        skip(self.test, "CKV_AWS_316", "`docker build --target test` runs the services' tests and needs the Docker "
                                       "daemon (privileged mode); the project runs only this monorepo's code")

        for role in (self.build_role, self.test_role):
            role.allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [f"{storage.artifacts.arn}/*"])
            role.allow(["kms:Decrypt", "kms:GenerateDataKey"], [encryption.arn])
        self.build_role.allow(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                               "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage",
                               "ecr:UploadLayerPart"], [r.arn for r in registry.repositories.values()])
        self.build_role.allow_unscoped(["ecr:GetAuthorizationToken"])
        # Whether the bootstrap tag exists yet (the first build pushes it).
        self.build_role.allow(["ecr:DescribeImages"], [r.arn for r in registry.repositories.values()])
        self.build_role.allow(["ssm:GetParameters"], [ctx.arn("ssm", "parameter/pipeline/build/*")])

    def _project(self, ctx: StackContext, encryption: Encryption, role: Role, name: str, description: str,
                 buildspec: str) -> CodebuildProject:
        log_group = CloudwatchLogGroup(self, f"{name}-logs", name=naming.codebuild_log_group(name),
                                       retention_in_days=LOG_RETENTION_DAYS, kms_key_id=encryption.arn)
        skip(log_group, "CKV_AWS_338", LOG_RETENTION)
        role.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group.arn}:*"])
        return CodebuildProject(
            self, name, name=name, description=description, service_role=role.arn,
            encryption_key=encryption.arn, build_timeout=BUILD_TIMEOUT_MINUTES, queued_timeout=60,
            source={"type": "CODEPIPELINE", "buildspec": buildspec},
            artifacts={"type": "CODEPIPELINE"},
            environment={"compute_type": "BUILD_GENERAL1_MEDIUM", "image": IMAGE, "type": "LINUX_CONTAINER",
                         # Docker-in-Docker needs privileged mode; the project builds only our own monorepo.
                         "privileged_mode": True, "image_pull_credentials_type": "CODEBUILD"},
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": log_group.name},
                         "s3_logs": {"status": "DISABLED"}},
        )
