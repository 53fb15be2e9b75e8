"""IAM helpers: roles with a single-service trust policy and inline least-privilege policies.

Which actions may be granted on Resource "*" is not decided here: the authorization gate
(`python -m cicd.policy.authz`, part of `nox -s policy`) checks every statement against AWS's Service
Authorization Reference. `allow_unscoped` is for actions that AWS says support no resource type
(granting them on an ARN is silently useless); `allow_on_all` is a declared exception for an
action that *could* be scoped but must not be, with the reason recorded in the synthesized JSON
beside the policy, where the gate reads it.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Sequence

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from cicd.workspace.annotations import COMMENT_KEY, EXCEPTIONS_KEY



def statement(actions: Sequence[str], resources: Sequence[str], **extra: Any) -> Dict[str, Any]:
    """One Allow statement."""
    return {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources), **extra}


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
        self.exceptions: Dict[str, str] = {}
        self.role = IamRole(self, "role", name=name, description=description,
                            assume_role_policy=trust(service, aws, conditions), max_session_duration=3600)
        self.arn = self.role.arn
        self.name = name

    def allow(self, actions: Sequence[str], resources: Sequence[str], *, exception: Optional[str] = None,
              **extra: Any) -> "Role":
        """Grant `actions` on `resources`. `exception`: the reason a type-wide ARN (e.g. `key/*`) is needed,
        declared for the authorization gate, which otherwise refuses such a grant."""
        if exception is None:
            self.statements.append(statement(actions, resources, **extra))
            return self
        if not exception.strip():
            raise ValueError(f"{self.name}: an exception for {list(actions)} needs its reason")
        sid = "Wide" + re.sub(r"[^A-Za-z0-9]", "", "".join(a.split(":")[-1] for a in sorted(actions)))[:80]
        self.statements.append(statement(actions, resources, Sid=sid, **extra))
        self.exceptions[sid] = " ".join(exception.split())
        return self

    def allow_unscoped(self, actions: Sequence[str]) -> "Role":
        """Actions AWS authorizes on no resource type: only Resource "*" grants them (the gate checks it)."""
        self.statements.append(statement(actions, ["*"]))
        return self

    def allow_on_all(self, actions: Sequence[str], *, exception: str) -> "Role":
        """Resource "*" for actions that support resource types: a declared exception, with its reason."""
        if not exception.strip():
            raise ValueError(f"{self.name}: granting {list(actions)} on '*' needs the reason")
        sid = "OnAll" + re.sub(r"[^A-Za-z0-9]", "", "".join(a.split(":")[-1] for a in sorted(actions)))[:80]
        self.statements.append(statement(actions, ["*"], Sid=sid))
        self.exceptions[sid] = " ".join(exception.split())
        return self

    def finish(self) -> "Role":
        """Write the inline policy once every construct has added what it needs."""
        if self.statements:
            policy = IamRolePolicy(self, "policy", name=f"{self.name}-policy", role=self.role.id,
                                   policy=policy_document(self.statements))
            for sid, reason in sorted(self.exceptions.items()):
                policy.add_override(f"{COMMENT_KEY}.{EXCEPTIONS_KEY}.{sid}", reason)
        return self
