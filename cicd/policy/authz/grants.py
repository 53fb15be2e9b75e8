"""Grant check: every Allow of every role policy, against AWS's Service Authorization Reference.

A statement fails when it
- names an action AWS does not have (or a wildcard action: we grant actions by name);
- grants an action that supports no resource type on anything but "*" (AWS never matches it);
- names a resource ARN that cannot match any resource type of the action;
- grants an action that supports resource types on "*" or on every resource of the type
  (`deploymentgroup:*`, `arn:aws:s3:::*`, any region or account) without a declared exception;
- uses a condition key the action does not support (global `aws:` keys apply to every action).

A declared exception is the statement's Sid with a reason in the policy resource's Terraform
comment, written by `stack.iam.Role.allow_on_all`: `"//": {"authz_exceptions": {"<Sid>": "<reason>"}}`.
An exception that no finding needs is reported as stale, so the list stays honest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Tuple

from cicd.policy.authz import sar
from cicd.policy.authz.resolve import Resolver
from cicd.workspace.annotations import COMMENT_KEY, EXCEPTIONS_KEY



@dataclass(frozen=True)
class Finding:
    region: str
    role: str
    sid: str
    action: str
    problem: str


@dataclass
class GrantReport:
    grants: int = 0  # (statement, action) pairs checked
    statements: int = 0
    failures: List[Finding] = field(default_factory=list)
    exceptions: List[Tuple[str, str, str, str]] = field(default_factory=list)  # region, role, sid, reason
    stale: List[Tuple[str, str, str]] = field(default_factory=list)


def _list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else [value]


def role_policies(doc: Mapping[str, Any], resolver: Resolver) -> List[Tuple[str, Dict[str, Any], Dict[str, str]]]:
    """(role name, policy document, declared exceptions) of every inline role policy."""
    found = []
    for body in ((doc.get("resource") or {}).get("aws_iam_role_policy") or {}).values():
        role = resolver.value(str(body.get("role")))
        policy = json.loads(resolver.value(body["policy"]))
        declared = ((body.get(COMMENT_KEY) or {}).get(EXCEPTIONS_KEY)) or {}
        found.append((role, policy, dict(declared)))
    return found


def check_statement(statement: Mapping[str, Any]) -> List[Tuple[str, str, bool]]:
    """(action, problem, needs_exception) for one Allow statement; empty when it is sound."""
    problems: List[Tuple[str, str, bool]] = []
    if "NotAction" in statement or "NotResource" in statement:
        return [("-", "NotAction/NotResource grant more than they name; list actions and resources", False)]
    resources = [str(r) for r in _list(statement.get("Resource", []))]
    keys = [k for clauses in (statement.get("Condition") or {}).values() for k in clauses]
    for name in _list(statement.get("Action", [])):
        info = sar.action(str(name))
        if info is None:
            problems.append((str(name), "no such action in the Service Authorization Reference "
                                        "(or a wildcard action)", False))
            continue
        for key in keys:
            if not info.supports_condition(key):
                problems.append((info.name, f"condition key {key} is not supported by the action", False))
        if info.unscoped:
            wrong = [r for r in resources if r != "*"]
            if wrong:
                problems.append((info.name, f"supports no resource-level permissions, so AWS matches it only "
                                            f"against '*': the grant on {', '.join(wrong)} is never used", False))
            continue
        for resource in resources:
            if resource == "*":
                problems.append((info.name, "granted on '*' although it can be scoped to "
                                            + " or ".join(info.arn_formats), True))
            elif "<unresolved:" in resource:
                problems.append((info.name, f"resource {resource} could not be resolved", False))
            elif not any(sar.can_match(resource, f) for f in info.arn_formats):
                problems.append((info.name, f"{resource} matches none of its resource types ("
                                            + ", ".join(info.arn_formats) + ")", False))
            elif all(sar.is_account_wide(resource, f) for f in info.arn_formats if sar.can_match(resource, f)):
                problems.append((info.name, f"{resource} names every resource of its type", True))
    return problems


def check(docs: Mapping[str, Mapping[str, Any]]) -> GrantReport:
    report = GrantReport()
    for region, doc in sorted(docs.items()):
        resolver = Resolver(doc, region)
        for role, policy, declared in role_policies(doc, resolver):
            used = set()
            for statement in _list(policy.get("Statement", [])):
                if statement.get("Effect") != "Allow":
                    continue
                report.statements += 1
                report.grants += len(_list(statement.get("Action", [])))
                sid = str(statement.get("Sid", ""))
                for action, problem, exceptable in check_statement(statement):
                    reason = declared.get(sid, "").strip() if sid else ""
                    if exceptable and reason:
                        used.add(sid)
                        continue
                    suffix = " (declare an exception with its reason: stack.iam.Role.allow_on_all)" if exceptable else ""
                    report.failures.append(Finding(region, role, sid or "-", action, problem + suffix))
            for sid, reason in sorted(declared.items()):
                if sid in used:
                    report.exceptions.append((region, role, sid, reason))
                else:
                    report.stale.append((region, role, sid))
    return report
