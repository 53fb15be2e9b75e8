"""Keeps the disaster-recovery regions' CodeCommit repositories in step with this region's.

Every push to this region's repository (EventBridge: CodeCommit referenceCreated/referenceUpdated) starts a
small CodeBuild job that clones the repository and pushes its branches and tags to the repository of the same
name in each SOURCE_MIRROR_REGIONS region (templates/buildspecs/mirror.yml.j2). A failed or stopped mirror
build is published to the notifications topic. The DR stack itself references nothing of this region: the
mirror is configured from the primary, as ECR replication is.
"""
from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.codebuild_project import CodebuildProject
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import LOG_RETENTION_DAYS
from cicd.workspace.render import render_mirror_buildspec
from stack.build import IMAGE
from stack.context import StackContext
from stack.encryption import Encryption
from stack.iam import Role
from stack.notifications import Notifications
from stack.policy import LOG_RETENTION, skip
from stack.source import Source

MIRROR_TIMEOUT_MINUTES = 15


def mirror_events(repository_arn: str) -> dict:
    """Every branch or tag created or moved in the repository."""
    return {"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"],
            "resources": [repository_arn], "detail": {"event": ["referenceCreated", "referenceUpdated"]}}


def mirror_failures(project_name: str) -> dict:
    return {"source": ["aws.codebuild"], "detail-type": ["CodeBuild Build State Change"],
            "detail": {"project-name": [project_name], "build-status": ["FAILED", "STOPPED"]}}


class SourceMirror(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption, source: Source,
                 notifications: Notifications):
        super().__init__(scope, id)
        cfg = ctx.cfg
        assert source.repository is not None and cfg.source_mirror_regions, "a CodeCommit source with mirror regions"
        name = naming.source_mirror_project(cfg)
        self.role = ctx.role(Role(self, "role", name=naming.role(cfg, "source-mirror"),
                                  description="CodeBuild: mirror the monorepo into the disaster-recovery regions",
                                  service="codebuild.amazonaws.com",
                                  conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        log_group = CloudwatchLogGroup(self, "logs", name=naming.codebuild_log_group(name),
                                       retention_in_days=LOG_RETENTION_DAYS, kms_key_id=encryption.arn)
        skip(log_group, "CKV_AWS_338", LOG_RETENTION)
        self.role.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group.arn}:*"])
        # git clone over HTTPS needs GitPull on this repository only; its objects are encrypted with this
        # region's key, which CodeCommit uses on the caller's behalf.
        self.role.allow(["codecommit:GitPull"], [source.repository.arn])
        self.role.allow(["kms:Decrypt"], [encryption.arn])
        self.role.allow(["codecommit:GitPush"], [f"arn:{ctx.partition}:codecommit:{region}:{ctx.account_id}:"
                                                 f"{cfg.source_repository}" for region in cfg.source_mirror_regions])
        # The DR repositories are encrypted with their own region's key, whose ARN this stack cannot know
        # (the DR stack stands alone); the grant is limited to keys of those regions, used through CodeCommit
        # there, and named by the DR stack's alias (stack/encryption.py).
        self.role.allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                        [f"arn:{ctx.partition}:kms:{region}:{ctx.account_id}:key/*"
                         for region in cfg.source_mirror_regions],
                        exception="the DR repositories' key is created by the DR stack, whose key ARN this stack "
                                  "cannot know; the conditions limit the grant to use through CodeCommit in those "
                                  "regions and to the key carrying the DR stack's alias",
                        Condition={"StringEquals": {"kms:ViaService": [f"codecommit.{region}.amazonaws.com"
                                                                       for region in cfg.source_mirror_regions]},
                                   "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{cfg.project}-pipeline"}})
        self.project = CodebuildProject(
            self, "project", name=name, description=f"Mirror {cfg.source_repository} into "
                                                    f"{', '.join(cfg.source_mirror_regions)}",
            service_role=self.role.arn, encryption_key=encryption.arn, build_timeout=MIRROR_TIMEOUT_MINUTES,
            queued_timeout=60,
            source={"type": "NO_SOURCE", "buildspec": render_mirror_buildspec(cfg)},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"compute_type": "BUILD_GENERAL1_SMALL", "image": IMAGE, "type": "LINUX_CONTAINER",
                         "privileged_mode": False, "image_pull_credentials_type": "CODEBUILD"},
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": log_group.name},
                         "s3_logs": {"status": "DISABLED"}},
        )

        events_role = ctx.role(Role(self, "events-role", name=naming.role(cfg, "source-mirror-trigger"),
                                    description="EventBridge starts the source mirror on a push",
                                    service="events.amazonaws.com",
                                    conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        events_role.allow(["codebuild:StartBuild"], [self.project.arn])
        on_push = CloudwatchEventRule(self, "on-push", name=f"{cfg.project}-source-mirror-on-push",
                                      description=f"A push to {cfg.source_repository} starts {name}",
                                      event_pattern=json.dumps(mirror_events(source.repository.arn), sort_keys=True))
        CloudwatchEventTarget(self, "on-push-target", rule=on_push.name, target_id="mirror", arn=self.project.arn,
                              role_arn=events_role.arn)
        # The notifications topic's policy already lets events.amazonaws.com of this account publish, and the
        # key policy lets it encrypt for the topic (stack/notifications.py, stack/encryption.py).
        on_failure = CloudwatchEventRule(self, "on-failure", name=f"{cfg.project}-source-mirror-failed",
                                         description=f"A failed {name} build notifies {notifications.topic.name}",
                                         event_pattern=json.dumps(mirror_failures(name), sort_keys=True))
        CloudwatchEventTarget(self, "on-failure-target", rule=on_failure.name, target_id="sns",
                              arn=notifications.topic.arn)
