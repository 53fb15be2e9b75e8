"""How one run-time request is written down: `Flow` (principal, action, resource, context and the
policies AWS consults), the AWS pages cited, and `Builder`, the shorthand the catalogue
(cicd.policy.authz.flows) uses for recurring shapes: a role's call, a service assuming a role, a KMS use,
an S3 object write, a publish to an encrypted topic, a log stream."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from cicd.policy.authz.catalogue import Stack

DOCS = "https://docs.aws.amazon.com"
CITE = {
    "pipeline": f"{DOCS}/codepipeline/latest/userguide/security-iam.html#how-to-custom-role",
    "codecommit": f"{DOCS}/codepipeline/latest/userguide/action-reference-CodeCommit.html",
    "connections": f"{DOCS}/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html",
    "codebuild-action": f"{DOCS}/codepipeline/latest/userguide/action-reference-CodeBuild.html",
    "ecs-bluegreen": f"{DOCS}/codepipeline/latest/userguide/action-reference-ECSbluegreen.html",
    "approval": f"{DOCS}/codepipeline/latest/userguide/approvals-service-role-permissions.html",
    "codebuild-role": f"{DOCS}/codebuild/latest/userguide/setting-up-service-role.html",
    "ecr-push": f"{DOCS}/AmazonECR/latest/userguide/image-push-iam.html",
    "codedeploy-ecs": f"{DOCS}/AmazonECS/latest/developerguide/codedeploy_IAM_role.html",
    "ecs-tagging": f"{DOCS}/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html",
    "exec-role": f"{DOCS}/AmazonECS/latest/developerguide/task_execution_IAM_role.html",
    "ssm-secrets": f"{DOCS}/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html",
    "hook": f"{DOCS}/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html",
    "events-pipeline": f"{DOCS}/codepipeline/latest/userguide/pipelines-trigger-source-repo-changes-cfn.html",
    "sns-kms": f"{DOCS}/sns/latest/dg/sns-key-management.html",
    "sns-lambda": f"{DOCS}/lambda/latest/dg/with-sns.html",
    "alb-logs": f"{DOCS}/elasticloadbalancing/latest/application/enable-access-logging.html",
    "s3-logs": f"{DOCS}/AmazonS3/latest/userguide/enable-server-access-logging.html",
    "waf-logs": f"{DOCS}/waf/latest/developerguide/logging-cw-logs.html",
    "flow-logs": f"{DOCS}/vpc/latest/userguide/flow-logs-iam-role.html",
    "codecommit-git": f"{DOCS}/codecommit/latest/userguide/auth-and-access-control-permissions-reference.html",
    "codecommit-kms": f"{DOCS}/codecommit/latest/userguide/encryption.html",
    "events-codebuild": f"{DOCS}/eventbridge/latest/userguide/eb-use-identity-based.html",
    "activate": f"{DOCS}/autoscaling/application/userguide/security_iam_id-based-policy-examples.html",
    "logs-kms": f"{DOCS}/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    "lambda-role": f"{DOCS}/lambda/latest/dg/lambda-intro-execution-role.html",
    "lambda-dlq": f"{DOCS}/lambda/latest/dg/invocation-async-retain-records.html",
    "assume": f"{DOCS}/IAM/latest/UserGuide/id_roles_create_for-service.html",
}


@dataclass(frozen=True)
class Flow:
    region: str
    name: str
    cite: str
    principal: str  # a role ARN, a service principal, or an account root ARN
    action: str
    resource: str
    context: Tuple[Tuple[str, str], ...] = ()
    identity: Optional[str] = None  # JSON of the caller's identity policy (roles)
    resource_policy: Optional[str] = None  # JSON of the resource's policy, if it has one

    def simulation(self, account: str) -> Dict[str, Any]:
        identity = [{"name": "inline", "policy": json.loads(self.identity)}] if self.identity else []
        simulation: Dict[str, Any] = {
            "identityPolicies": identity, "serviceControlPolicies": [], "resourceControlPolicies": [],
            "request": {"action": self.action, "principal": self.principal,
                        "resource": {"accountId": account, "resource": self.resource},
                        "contextVariables": dict(self.context)}}
        if self.resource_policy:
            simulation["resourcePolicy"] = json.loads(self.resource_policy)
        return simulation


def _json(value: Optional[Dict[str, Any]]) -> Optional[str]:
    return json.dumps(value, sort_keys=True) if value else None


@dataclass
class Builder:
    stack: Stack
    flows: List[Flow] = field(default_factory=list)

    def add(self, name: str, cite: str, principal: str, action: str, resource: str, *,
            identity: Optional[Dict[str, Any]] = None, resource_policy: Optional[Dict[str, Any]] = None,
            **context: str) -> None:
        # keyword arguments name context keys with "_" for the first ":" (aws_SourceAccount).
        ctx = {k if ":" in k else k.replace("_", ":", 1): v for k, v in context.items()}
        self.flows.append(Flow(self.stack.region, name, CITE[cite], principal, action, resource,
                               tuple(sorted(ctx.items())), _json(identity), _json(resource_policy)))

    def as_role(self, name: str, cite: str, role_arn: str, action: str, resource: str, *,
                resource_policy: Optional[Dict[str, Any]] = None, **context: str) -> None:
        role = self.stack.role(role_arn)
        self.add(name, cite, role.arn, action, resource, identity=role.policy, resource_policy=resource_policy,
                 **context)

    def assume(self, role_arn: str, service: str, name: str) -> None:
        """The service assumes the role: the trust policy is the resource policy of sts:AssumeRole."""
        role = self.stack.role(role_arn)
        self.add(f"{name}: {service} assumes {role.name}", "assume", service, "sts:AssumeRole", role.arn,
                 resource_policy=role.trust, aws_SourceAccount=self.stack.account)

    def kms(self, name: str, cite: str, role_arn: str, *actions: str) -> None:
        for action in actions:
            self.as_role(name, cite, role_arn, action, self.stack.key_arn(),
                         resource_policy=self.stack.key_policy())

    def s3_object(self, name: str, cite: str, role_arn: str, bucket: str, key: str, *actions: str) -> None:
        for action in actions:
            self.as_role(name, cite, role_arn, action, f"arn:aws:s3:::{bucket}/{key}",
                         resource_policy=self.stack.bucket_policy(bucket), aws_SecureTransport="true")

    def publish(self, name: str, cite: str, topic_arn: str, *, role_arn: Optional[str] = None,
                service: Optional[str] = None, source_arn: Optional[str] = None, key_context: bool = True) -> None:
        """sns:Publish to a KMS-encrypted topic, and the KMS data key SNS asks for on the caller's behalf.

        key_context=False: the KMS request carries no aws:SourceAccount/aws:SourceArn (EventBridge
        delivery, per the SNS guide's "compatibility with AWS services"), so a key policy that
        conditions on them refuses every notification, silently.
        """
        extra = {"aws_SourceArn": source_arn} if source_arn else {}
        if role_arn:
            self.as_role(name, cite, role_arn, "sns:Publish", topic_arn,
                         resource_policy=self.stack.topic_policy(topic_arn))
            self.kms(f"{name} (topic key)", "sns-kms", role_arn, "kms:GenerateDataKey", "kms:Decrypt")
            return
        assert service
        self.add(name, cite, service, "sns:Publish", topic_arn, resource_policy=self.stack.topic_policy(topic_arn),
                 aws_SourceAccount=self.stack.account, **extra)
        key_extra = {"aws_SourceAccount": self.stack.account, **extra} if key_context else {}
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            self.add(f"{name} (topic key)", "sns-kms", service, action, self.stack.key_arn(),
                     resource_policy=self.stack.key_policy(), **key_extra)

    def log_stream(self, name: str, cite: str, role_arn: str, group: str) -> None:
        stream = self.stack.arn("logs", f"log-group:{group}:log-stream:2026/11/29/stream")
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            self.as_role(name, cite, role_arn, action, stream)
