"""One region's synthesized Terraform JSON (`cdktf.out/stacks/<region>/cdk.tf.json`), read as a person reads it.

Terraform references (`${aws_x.name.attr}`) are followed to the literal they point at when the
referenced resource has one, else to that resource's name. These rules are about Terraform's JSON,
not about pipelines, so they live apart from :mod:`cicd.docs.pipeline_model`, which builds on them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

# ${aws_type.name.attr} or ${data.aws_type.name.attr}; attr may continue (e.g. `.0.id`).
_REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.\[\]]+)\}")
# Attributes that name a resource, tried in this order when a reference's own attribute has no literal.
_NAME_ATTRS = ("name", "deployment_group_name", "alarm_name", "repository_name", "function_name", "bucket",
               "family")
_ATTR_LABELS = {"dns_name": "DNS", "arn": "ARN", "id": "ID", "repository_url": "URL"}


@dataclass(frozen=True)
class Ref:
    data: bool
    type: str
    name: str
    attr: str


def parse_ref(value: Any) -> Optional[Ref]:
    """The reference `value` is, if it is exactly one `${...}` reference (else None)."""
    match = _REF.fullmatch(value) if isinstance(value, str) else None
    if not match:
        return None
    data, rtype, name, attr = match.groups()
    return Ref(bool(data), rtype, name, attr)


def _is_literal(value: Any) -> bool:
    return isinstance(value, (int, float, bool)) or (isinstance(value, str) and "${" not in value)


class Doc:
    """One region's synthesized configuration, with lookups that follow Terraform references."""

    def __init__(self, region: str, doc: Dict[str, Any]):
        self.region = region
        self.doc = doc

    def resources(self, rtype: str) -> Dict[str, Dict[str, Any]]:
        return self.doc.get("resource", {}).get(rtype, {}) or {}

    def body(self, ref: Ref) -> Optional[Dict[str, Any]]:
        section = self.doc.get("data" if ref.data else "resource", {}) or {}
        return (section.get(ref.type) or {}).get(ref.name)

    def literal(self, value: Any, depth: int = 0) -> Optional[Any]:
        """`value` if literal; the literal a reference points at (followed a few levels); else None."""
        if _is_literal(value):
            return value
        ref = parse_ref(value)
        body = self.body(ref) if ref else None
        if body is None or depth > 5:
            return None
        return self.literal(body.get(ref.attr), depth + 1)

    def name(self, value: Any) -> str:
        """A value as a person reads it: its literal if it has one, else the referenced resource's name."""
        resolved = self.literal(value)
        if resolved is not None:
            return str(resolved)
        ref = parse_ref(value)
        if ref is None:  # a string with references inside it
            return self.expand(str(value)) if isinstance(value, str) else str(value)
        return self._resource_name(ref)

    def _resource_name(self, ref: Ref) -> str:
        body = self.body(ref) or {}
        for attr in _NAME_ATTRS:
            resolved = self.literal(body.get(attr))
            if resolved is not None:
                return str(resolved)
        return f"{'data.' if ref.data else ''}{ref.type}.{ref.name}"

    def expand(self, text: str) -> str:
        """Every reference inside `text` resolved: a literal, else `<name ATTR>` (e.g. `<shop-stg-use1 DNS>`)."""
        def one(match: "re.Match[str]") -> str:
            resolved = self.literal(match.group(0))
            if resolved is not None:
                return str(resolved)
            ref = parse_ref(match.group(0))
            return f"<{self._resource_name(ref)} {_ATTR_LABELS.get(ref.attr, ref.attr)}>"
        return _REF.sub(one, text)

    def target(self, value: Any, rtype: str, by: str = "name") -> Optional[Dict[str, Any]]:
        """The `rtype` resource `value` references, or (a literal) whose attribute `by` equals it."""
        ref = parse_ref(value)
        if ref is not None:
            return self.body(ref) if ref.type == rtype and not ref.data else None
        found = [b for b in self.resources(rtype).values() if b.get(by) == value]
        return found[0] if len(found) == 1 else None


def blocks(value: Any) -> List[Dict[str, Any]]:
    """A Terraform nested block as a list (a single block may be an object)."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]
