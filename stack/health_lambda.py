"""The deployment-health Lambda (code in lambda/health_check/): CodeDeploy's AfterAllowTestTraffic
hook, and the alarm -> SNS -> Lambda path that stops a deployment and rolls it back."""
from __future__ import annotations

import atexit
import json
import functools
import shutil
import tempfile
import zipfile
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from cicd.workspace import naming, smoke
from cicd.workspace.config import DEPLOY_STAGES, LOG_RETENTION_DAYS, ROOT
from stack.context import StackContext
from stack.encryption import Encryption
from stack.iam import Role
from stack.load_balancing import TEST_LISTENER_PORT, LoadBalancing
from stack.network import INTERFACE_ENDPOINTS, Network
from stack.probe import TestProbe
from stack.notifications import Notifications
from stack.policy import LOG_RETENTION, skip

SOURCE_DIR = ROOT / "lambda" / "health_check"
RUNTIME = "python3.12"
TIMEOUT_SECONDS = 60  # far below CodeDeploy's one-hour hook limit; the code keeps its retries within it
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: time to look at an event that failed every retry


@functools.lru_cache(maxsize=None)
def _package(source_dir: Path) -> Path:
    """The function's deployment package: its .py files (no __pycache__ from test runs) at the zip's root.

    Built here with zipfile, once per process and source folder (both regions' stacks share it), with
    fixed timestamps and modes, so the same sources always give the same bytes and asset hash. A cdktf
    ARCHIVE asset would start a Node archiver process for every stack on every synth (~0.3 s each).
    """
    staging = Path(tempfile.mkdtemp(prefix="health-lambda-"))
    atexit.register(shutil.rmtree, staging, True)
    target = staging / "health_check.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for source in sorted(source_dir.glob("*.py")):
            info = zipfile.ZipInfo(source.name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16  # rw-r--r--: readable by the Lambda runtime's user
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return target


class HealthLambda(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption,
                 notifications: Notifications, traffic: LoadBalancing, network: Network):
        super().__init__(scope, id)
        cfg = ctx.cfg
        name = naming.health_function(cfg)
        self.function_arn = ctx.arn("lambda", f"function:{name}")
        log_group = CloudwatchLogGroup(self, "logs", name=f"/aws/lambda/{name}", retention_in_days=LOG_RETENTION_DAYS,
                                       kms_key_id=encryption.arn)
        skip(log_group, "CKV_AWS_338", LOG_RETENTION)
        # SNS invokes the function asynchronously (alarm notifications): an event that still fails after
        # Lambda's two retries lands in this queue instead of being dropped.
        self.dead_letters = SqsQueue(self, "dead-letters", name=f"{name}-dlq", kms_master_key_id=encryption.arn,
                                     kms_data_key_reuse_period_seconds=300,
                                     message_retention_seconds=DLQ_RETENTION_SECONDS)
        role = ctx.role(Role(self, "role", name=naming.role(cfg, "health-lambda"),
                             description="Deployment health checks and alarm-driven rollbacks",
                             service="lambda.amazonaws.com"))
        self.role = role
        app = naming.codedeploy_application(cfg)
        groups = [ctx.arn("codedeploy", f"deploymentgroup:{app}/{naming.deployment_group(cfg, st, svc)}")
                  for st in DEPLOY_STAGES for svc in cfg.services]
        role.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group.arn}:*"])
        role.allow(["codedeploy:GetDeployment", "codedeploy:GetDeploymentGroup", "codedeploy:ListDeployments"],
                   groups)
        role.allow(["codedeploy:ListDeploymentGroups"], [ctx.arn("codedeploy", f"application:{app}")])
        # The Service Authorization Reference lists no resource type for these two: AWS authorizes them
        # only against "*", so a grant on a deployment-group ARN is denied (the hook could never report).
        role.allow_unscoped(["codedeploy:PutLifecycleEventHookExecutionStatus", "codedeploy:StopDeployment"])
        role.allow_on_all(["cloudwatch:DescribeAlarms"], exception=(
            "the hook asks DescribeAlarms for AlarmTypes MetricAlarm and CompositeAlarm; the CloudWatch API "
            "reference: returning composite alarms needs cloudwatch:DescribeAlarms scoped to '*' (read-only)"))
        role.allow(["ecs:DescribeServices"], [ctx.arn("ecs", f"service/{naming.cluster(cfg)}/{cfg.project}-*")])
        # Release images are tagged so ECR's lifecycle policy never expires them (hc_release): read the task
        # sets' task definitions, then re-put each image's own manifest under a release-* tag.
        role.allow_unscoped(["ecs:DescribeTaskDefinition"])
        role.allow(["ecr:BatchGetImage", "ecr:PutImage"],
                   [ctx.arn("ecr", f"repository/{naming.ecr_repository(cfg, svc)}") for svc in cfg.services])
        role.allow_unscoped(["elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTargetGroups",
                             "xray:PutTraceSegments", "xray:PutTelemetryRecords"])
        # The pre-traffic test: the ALB nodes' private addresses (no resource type: Describe*), then the probe
        # function inside the VPC (stack/probe.py), invoked synchronously.
        self.probe = TestProbe(self, "probe", ctx=ctx, encryption=encryption, network=network, traffic=traffic,
                               package=str(_package(SOURCE_DIR)), runtime=RUNTIME)
        role.allow_unscoped(["ec2:DescribeNetworkInterfaces"])
        role.allow(["lambda:InvokeFunction"], [self.probe.function_arn])
        role.allow(["sns:Publish"], [notifications.topic.arn])
        role.allow(["sqs:SendMessage"], [self.dead_letters.arn])
        role.allow(["kms:Decrypt", "kms:GenerateDataKey"], [encryption.arn])

        code = TerraformAsset(self, "code", path=str(_package(SOURCE_DIR)), type=AssetType.FILE)
        self.function = LambdaFunction(
            self, "function", function_name=name, description="CodeDeploy health hook and alarm-driven rollback",
            role=role.arn, runtime=RUNTIME, handler="handler.handler", filename=code.path,
            source_code_hash=code.asset_hash, timeout=TIMEOUT_SECONDS, memory_size=256,
            kms_key_arn=encryption.arn, tracing_config={"mode": "Active"},
            dead_letter_config={"target_arn": self.dead_letters.arn},
            environment={"variables": {
                "CODEDEPLOY_APPLICATION": app,
                "NOTIFICATION_TOPIC_ARN": notifications.topic.arn,
                "PROJECT_NAME": cfg.project,
                "MAX_ATTEMPTS": "3",
                "PROBE_TIMEOUT_SECONDS": "5",
                # What the pre-traffic test requests of each group's replacement (health path, smoke requests).
                "SMOKE_CHECKS": smoke.smoke_checks_json(cfg),
                "PROBE_FUNCTION": naming.test_probe(cfg),
                "TEST_LISTENERS": json.dumps({
                    naming.deployment_group(cfg, stage, svc): {"alb": traffic.stages[stage].alb.arn_suffix,
                                                               "port": TEST_LISTENER_PORT,
                                                               "scheme": traffic.stages[stage].scheme}
                    for stage in DEPLOY_STAGES for svc in cfg.services}, sort_keys=True),
            }},
            depends_on=[log_group],
        )
        skip(self.function, "CKV_AWS_117",
             "the function only calls AWS APIs (CodeDeploy, CloudWatch, ELB, ECS, SNS, X-Ray); the private "
             "subnets have no internet route and VPC endpoints only for " + ", ".join(INTERFACE_ENDPOINTS)
             + " and S3, so inside the VPC it could reach none of them")
        skip(self.function, "CKV_AWS_115",
             "no reserved concurrency: a reservation must leave 10 unreserved executions in the account, so "
             "any reservation fails to apply in new accounts whose concurrency quota is 10; the function "
             "runs a few times per deployment")
        skip(self.function, "CKV_AWS_272",
             "code signing needs an AWS Signer signing profile and a package signed by a Signer job in S3; "
             "this package is built at synth from lambda/health_check, which is reviewed and tested in this "
             "repository")
        LambdaPermission(self, "from-alarms", statement_id="AllowAlarmTopic", action="lambda:InvokeFunction",
                         function_name=self.function.function_name, principal="sns.amazonaws.com",
                         source_arn=notifications.alarm_topic.arn)
        SnsTopicSubscription(self, "alarm-subscription", topic_arn=notifications.alarm_topic.arn, protocol="lambda",
                             endpoint=self.function.arn)
