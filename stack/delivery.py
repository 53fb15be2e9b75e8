"""CodePipeline: Source -> Build (three builds in parallel) -> Test -> Staging -> Production.

Each deploy stage starts with Activate (stack/activation.py: a stage's first release raises its
services from the 0 tasks a fresh install runs), then deploys its services in parallel.

Every stage's actions run under that stage's own role, which the pipeline role may only assume;
production waits for a manual approval announced on the notifications topic.
"""
from __future__ import annotations

import json
from typing import Dict, List

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.codepipeline import Codepipeline
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import RegionConfig, Stage
from stack.activation import Activation
from stack.build import Builds
from stack.blocks import blocks
from stack.context import StackContext
from stack.deployments import DEPLOYMENT_CONFIG, Deployments
from stack.encryption import Encryption
from stack.iam import Role
from stack.notifications import Notifications
from stack.services import Services
from stack.source import Source
from stack.storage import Storage

STAGE_NAMES = ("Source", "Build", "Test", "Staging", "Production")
SOURCE_ARTIFACT = "source"
SOURCE_ACTION = "Source"
MAX_FILE_PATH_PATTERNS = 8  # CodePipeline API, GitFilePathFilterCriteria.includes


def release_paths(cfg: RegionConfig) -> List[str]:
    """Paths whose change starts a release: each service's folder is all the pipeline builds and tests
    (the buildspecs, task definitions and appspecs live in the stack, not in the repository). A push filter
    takes at most 8 file-path patterns: more services share one pattern for the whole folder."""
    if len(cfg.services) > MAX_FILE_PATH_PATTERNS:
        return ["services/**"]
    return [f"services/{svc.name}/**" for svc in cfg.services]


class Delivery(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption, storage: Storage,
                 source: Source, builds: Builds, services: Services, deployments: Deployments,
                 notifications: Notifications, activation: Activation):
        super().__init__(scope, id)
        cfg = ctx.cfg
        name = naming.pipeline(cfg)
        self.activation = activation
        self.pipeline_role = ctx.role(Role(self, "pipeline-role", name=naming.role(cfg, "pipeline"),
                                           description="CodePipeline: artifact store and assuming the stage roles",
                                           service="codepipeline.amazonaws.com"))
        artifacts = [f"{storage.artifacts.arn}/*"]
        self.stage_roles: Dict[str, Role] = {}
        for stage_name in STAGE_NAMES:
            role = ctx.role(Role(self, f"{stage_name.lower()}-role",
                                 name=naming.role(cfg, f"stage-{stage_name.lower()}"),
                                 description=f"CodePipeline {stage_name} stage actions",
                                 aws=self.pipeline_role.arn))
            role.allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], artifacts)
            role.allow(["kms:Decrypt", "kms:GenerateDataKey"], [encryption.arn])
            self.stage_roles[stage_name] = role
        self.pipeline_role.allow(["sts:AssumeRole"], [r.arn for r in self.stage_roles.values()])
        self.pipeline_role.allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], artifacts)
        self.pipeline_role.allow(["s3:GetBucketVersioning"], [storage.artifacts.arn])
        self.pipeline_role.allow(["kms:Decrypt", "kms:GenerateDataKey"], [encryption.arn])

        if source.repository is not None:
            self.stage_roles["Source"].allow(
                ["codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetRepository", "codecommit:UploadArchive",
                 "codecommit:GetUploadArchiveStatus", "codecommit:CancelUploadArchive"], [source.repository.arn])
        else:
            # The Source action reads the Git host through the connection (and nothing else of it).
            self.stage_roles["Source"].allow([source.use_connection_action], [source.connection_arn])
        self.stage_roles["Build"].allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"],
                                        [p.arn for p in builds.builds.values()])
        self.stage_roles["Test"].allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"],
                                       [builds.test.arn])
        for stage, stage_name in ((Stage.STAGING, "Staging"), (Stage.PRODUCTION, "Production")):
            self._allow_deploy(ctx, self.stage_roles[stage_name], stage, deployments, services)
            self.stage_roles[stage_name].allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds",
                                                "codebuild:StopBuild"], [activation.project.arn])
        self.stage_roles["Production"].allow(["sns:Publish"], [notifications.topic.arn])

        deploy_actions = {stage: self._deploy_actions(ctx, stage, deployments) for stage in (Stage.STAGING,
                                                                                             Stage.PRODUCTION)}
        self.pipeline = Codepipeline(
            self, "pipeline", name=name, role_arn=self.pipeline_role.arn, pipeline_type="V2",
            execution_mode="QUEUED",
            artifact_store=blocks({"location": storage.artifacts.bucket, "type": "S3",
                                   "encryption_key": {"id": encryption.arn, "type": "KMS"}}),
            stage=blocks(
                {"name": "Source", "action": [self._source_action(source)]},
                {"name": "Build", "action": [{
                    "name": f"Build-{svc.name}", "category": "Build", "owner": "AWS", "provider": "CodeBuild",
                    "version": "1", "run_order": 1, "input_artifacts": [SOURCE_ARTIFACT],
                    "output_artifacts": [naming.artifact_name(svc, Stage.STAGING),
                                         naming.artifact_name(svc, Stage.PRODUCTION)],
                    "role_arn": self.stage_roles["Build"].arn,
                    "configuration": {"ProjectName": builds.builds[svc.name].name}} for svc in cfg.services]},
                {"name": "Test", "action": [{
                    "name": "Test", "category": "Test", "owner": "AWS", "provider": "CodeBuild", "version": "1",
                    "input_artifacts": [SOURCE_ARTIFACT], "role_arn": self.stage_roles["Test"].arn,
                    "configuration": {"ProjectName": builds.test.name}}]},
                {"name": "Staging", "action": deploy_actions[Stage.STAGING]},
                {"name": "Production", "action": [{
                    "name": "Approve", "category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1",
                    "run_order": 1, "role_arn": self.stage_roles["Production"].arn,
                    "configuration": {"NotificationArn": notifications.topic.arn,
                                      "CustomData": f"Release to production in {cfg.region}? Staging passed."}}]
                    + deploy_actions[Stage.PRODUCTION]},
            ),
            **self._git_host_trigger(ctx, source),
        )
        if source.repository is not None:
            self._trigger_on_push(ctx, source)

    def _source_action(self, source: Source) -> dict:
        action = {"name": SOURCE_ACTION, "category": "Source", "owner": "AWS", "version": "1",
                  "output_artifacts": [SOURCE_ARTIFACT], "role_arn": self.stage_roles["Source"].arn}
        if source.repository is not None:
            return {**action, "provider": "CodeCommit",
                    "configuration": {"RepositoryName": source.repository.repository_name,
                                      "BranchName": source.branch, "PollForSourceChanges": "false",
                                      "OutputArtifactFormat": "CODE_ZIP"}}
        return {**action, "provider": "CodeStarSourceConnection",
                "configuration": {"ConnectionArn": source.connection_arn, "FullRepositoryId": source.full_repository_id,
                                  "BranchName": source.branch, "OutputArtifactFormat": "CODE_ZIP"}}

    @staticmethod
    def _git_host_trigger(ctx: StackContext, source: Source) -> dict:
        """A Git host starts the pipeline through a V2 push trigger (no EventBridge rule): only a push to the
        release branch that touches a configured service's folder starts a release, so a change to docs
        alone does not. With a trigger, CodePipeline turns off the action's own change detection."""
        if source.repository is not None:
            return {}
        return {"trigger": blocks({
            "provider_type": "CodeStarSourceConnection",
            "git_configuration": {"source_action_name": SOURCE_ACTION, "push": [{
                "branches": {"includes": [source.branch]},
                "file_paths": {"includes": release_paths(ctx.cfg)}}]}})}

    def _deploy_actions(self, ctx: StackContext, stage: Stage, deployments: Deployments) -> List[dict]:
        role = self.stage_roles["Staging" if stage is Stage.STAGING else "Production"]
        first = 1 if stage is Stage.STAGING else 2  # production: after the approval
        actions = [{
            "name": "Activate", "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1",
            "run_order": first, "input_artifacts": [SOURCE_ARTIFACT], "role_arn": role.arn,
            "configuration": {"ProjectName": self.activation.project.name,
                              "EnvironmentVariables": json.dumps([{"name": "STAGE", "value": stage.value,
                                                                   "type": "PLAINTEXT"}])}}]
        for svc in ctx.cfg.services:
            artifact = naming.artifact_name(svc, stage)
            actions.append({
                "name": f"Deploy-{svc.name}", "category": "Deploy", "owner": "AWS", "provider": "CodeDeployToECS",
                "version": "1", "run_order": first + 1, "input_artifacts": [artifact],
                "role_arn": role.arn,
                "configuration": {
                    "ApplicationName": deployments.application.name,
                    "DeploymentGroupName": deployments.groups[(stage, svc.name)].deployment_group_name,
                    "TaskDefinitionTemplateArtifact": artifact, "TaskDefinitionTemplatePath": "taskdef.json",
                    "AppSpecTemplateArtifact": artifact, "AppSpecTemplatePath": "appspec.yaml",
                    "Image1ArtifactName": artifact, "Image1ContainerName": "IMAGE1_NAME",
                }})
        return actions

    def _allow_deploy(self, ctx: StackContext, role: Role, stage: Stage, deployments: Deployments,
                      services: Services) -> None:
        cfg = ctx.cfg
        app = naming.codedeploy_application(cfg)
        role.allow(["codedeploy:CreateDeployment", "codedeploy:GetDeployment"],
                   [ctx.arn("codedeploy", f"deploymentgroup:{app}/{naming.deployment_group(cfg, stage, s)}")
                    for s in cfg.services])
        role.allow(["codedeploy:GetApplication", "codedeploy:GetApplicationRevision",
                    "codedeploy:RegisterApplicationRevision"], [ctx.arn("codedeploy", f"application:{app}")])
        role.allow(["codedeploy:GetDeploymentConfig"],
                   [ctx.arn("codedeploy", f"deploymentconfig:{DEPLOYMENT_CONFIG[stage]}")])
        role.allow_on_all(["ecs:RegisterTaskDefinition"], exception=(
            "the CodeDeployToECS action registers the new revision before its ARN exists; the CodePipeline "
            "service-role reference grants RegisterTaskDefinition on '*'. What it may run is bounded by the "
            "iam:PassRole grant below (only this stage's task roles, only to ecs-tasks)"))
        role.allow(["ecs:TagResource"], [ctx.arn("ecs", f"task-definition/{naming.task_family(cfg, stage, s)}:*")
                                         for s in cfg.services])
        mine = [d for (st, _), d in services.deployables.items() if st is stage]
        role.allow(["iam:PassRole"], [d.exec_role.arn for d in mine] + [d.task_role.arn for d in mine],
                   Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})

    def _trigger_on_push(self, ctx: StackContext, source: Source) -> None:
        """Start the pipeline on every push to the branch (CodeCommit -> EventBridge), instead of polling."""
        cfg = ctx.cfg
        role = ctx.role(Role(self, "events-role", name=naming.role(cfg, "pipeline-trigger"),
                             description="EventBridge starts the pipeline on a push", service="events.amazonaws.com",
                             conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        role.allow(["codepipeline:StartPipelineExecution"], [self.pipeline.arn])
        rule = CloudwatchEventRule(self, "on-push", name=f"{cfg.project}-pipeline-on-push",
                                   description=f"Push to {cfg.source_branch} starts {self.pipeline.name}",
                                   event_pattern=json.dumps({
                                       "source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"],
                                       "resources": [source.repository.arn],
                                       "detail": {"event": ["referenceCreated", "referenceUpdated"],
                                                  "referenceType": ["branch"], "referenceName": [cfg.source_branch]}},
                                       sort_keys=True))
        CloudwatchEventTarget(self, "on-push-target", rule=rule.name, target_id="pipeline", arn=self.pipeline.arn,
                              role_arn=role.arn)
