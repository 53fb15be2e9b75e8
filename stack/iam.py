"""IAM helpers: roles with a single-service trust policy and inline least-privilege policies."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

# Actions AWS does not scope to resources, so their statements must name Resource "*".
# Each with the AWS reason (see the Service Authorization Reference of each service).
UNSCOPED_ACTIONS = {
    "ecr:GetAuthorizationToken": "returns a registry-wide token; the action has no resource type",
    "ecs:RegisterTaskDefinition": "a task definition ARN does not exist before it is registered",
    "ecs:DescribeTaskDefinition": "the action has no resource type",
    "elasticloadbalancing:DescribeTargetHealth": "Describe* actions of ELBv2 support no resource-level permissions",
    "elasticloadbalancing:DescribeTargetGroups": "Describe* actions of ELBv2 support no resource-level permissions",
    "elasticloadbalancing:DescribeListeners": "Describe* actions of ELBv2 support no resource-level permissions",
    "elasticloadbalancing:DescribeRules": "Describe* actions of ELBv2 support no resource-level permissions",
    "xray:PutTraceSegments": "X-Ray has no resource types: tracing calls cannot be scoped",
    "ec2:DescribeNetworkInterfaces": "Describe* actions of EC2 have no resource type",
    "ec2:DescribeSubnets": "Describe* actions of EC2 have no resource type",
    "xray:PutTelemetryRecords": "X-Ray has no resource types: tracing calls cannot be scoped",
}


def statement(actions: Sequence[str], resources: Sequence[str], **extra: Any) -> Dict[str, Any]:
    """One Allow statement; Resource '*' only for UNSCOPED_ACTIONS (checked by the policy tests)."""
    return {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources), **extra}


def unscoped(actions: Sequence[str]) -> Dict[str, Any]:
    missing = [a for a in actions if a not in UNSCOPED_ACTIONS]
    if missing:
        raise ValueError(f"{missing} are resource-scoped in AWS: name their ARNs instead of '*'")
    return statement(actions, ["*"])


def policy_document(statements: Sequence[Dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def trust(service: Optional[str] = None, aws: Optional[str] = None, conditions: Optional[Dict] = None) -> str:
    principal = {"Service": service} if service else {"AWS": aws}
    stmt: Dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if conditions:
        stmt["Condition"] = conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]}, sort_keys=True)


class Role(Construct):
    """A role with one trusted principal and one inline policy (added with `allow`)."""

    def __init__(self, scope: Construct, id: str, *, name: str, description: str, service: Optional[str] = None,
                 aws: Optional[str] = None, conditions: Optional[Dict] = None):
        super().__init__(scope, id)
        self.statements: List[Dict[str, Any]] = []
        self.role = IamRole(self, "role", name=name, description=description,
                            assume_role_policy=trust(service, aws, conditions), max_session_duration=3600)
        self.arn = self.role.arn
        self.name = name

    def allow(self, actions: Sequence[str], resources: Sequence[str], **extra: Any) -> "Role":
        self.statements.append(statement(actions, resources, **extra))
        return self

    def allow_unscoped(self, actions: Sequence[str]) -> "Role":
        self.statements.append(unscoped(actions))
        return self

    def finish(self) -> "Role":
        """Write the inline policy once every construct has added what it needs."""
        if self.statements:
            IamRolePolicy(self, "policy", name=f"{self.name}-policy", role=self.role.id,
                          policy=policy_document(self.statements))
        return self
