"""The synthesized configuration of one region, read as JSON, with lookups that follow Terraform references.

Logical ids are hashed, so tests never name them: they find resources by their properties and follow
Terraform references (`${aws_x.name.attr}`) with these helpers. A plain module (not a conftest), so the
fixtures in synth_fixtures.py and any test module can import it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from cicd.workspace.config import RegionConfig

# ${aws_type.name.attr} or ${data.aws_type.name.attr}; attr may continue (e.g. `.0.id`), kept whole.
_REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.\[\]]+)\}")


@dataclass(frozen=True)
class Ref:
    kind: str  # "resource" or "data"
    type: str
    name: str
    attr: str


def parse_ref(value: Any) -> Optional[Ref]:
    """The reference `value` is, if it is exactly one `${...}` reference (else None)."""
    if not isinstance(value, str):
        return None
    match = _REF.fullmatch(value)
    if not match:
        return None
    data, rtype, name, attr = match.groups()
    return Ref("data" if data else "resource", rtype, name, attr)


class Synth:
    """One region's synthesized configuration with lookups that follow Terraform references."""

    def __init__(self, cfg: RegionConfig, directory: Path, doc: Dict[str, Any]):
        self.cfg = cfg
        self.region = cfg.region
        self.directory = directory
        self.doc = doc
        self.text = (directory / "cdk.tf.json").read_text()

    # --- lookups ------------------------------------------------------------------------------
    def resources(self, rtype: str) -> Dict[str, Dict[str, Any]]:
        """Every resource of a type: logical id -> body."""
        return self.doc.get("resource", {}).get(rtype, {})

    def bodies(self, rtype: str) -> List[Dict[str, Any]]:
        return list(self.resources(rtype).values())

    def one(self, rtype: str) -> Tuple[str, Dict[str, Any]]:
        items = self.resources(rtype)
        assert len(items) == 1, f"{self.region}: expected exactly one {rtype}, found {len(items)}"
        return next(iter(items.items()))

    def by(self, rtype: str, **literal: Any) -> List[Tuple[str, Dict[str, Any]]]:
        """Resources of a type whose attributes equal the given literal values."""
        return [(name, body) for name, body in self.resources(rtype).items()
                if all(body.get(k) == v for k, v in literal.items())]

    def the(self, rtype: str, **literal: Any) -> Tuple[str, Dict[str, Any]]:
        found = self.by(rtype, **literal)
        assert len(found) == 1, f"{self.region}: expected one {rtype} with {literal}, found {len(found)}"
        return found[0]

    # --- references ---------------------------------------------------------------------------
    def ref(self, value: Any, rtype: Optional[str] = None, attr: Optional[str] = None) -> Tuple[str, Dict[str, Any]]:
        """(logical id, body) of the resource `value` references; asserts its type and attribute."""
        ref = parse_ref(value)
        assert ref is not None and ref.kind == "resource", f"{self.region}: {value!r} is not a resource reference"
        if rtype is not None:
            assert ref.type == rtype, f"{self.region}: {value!r} references a {ref.type}, expected {rtype}"
        if attr is not None:
            assert ref.attr == attr, f"{self.region}: {value!r} references .{ref.attr}, expected .{attr}"
        body = self.resources(ref.type).get(ref.name)
        assert body is not None, f"{self.region}: {value!r} references a resource that is not in the stack"
        return ref.name, body

    def is_ref(self, value: Any, rtype: str, attr: Optional[str] = None) -> bool:
        ref = parse_ref(value)
        return (ref is not None and ref.kind == "resource" and ref.type == rtype
                and (attr is None or ref.attr == attr) and ref.name in self.resources(rtype))

    def refers_to(self, value: Any, rtype: str, name: str) -> bool:
        """Whether `value` is a reference (any attribute) to resource `rtype.name`."""
        ref = parse_ref(value)
        return ref is not None and ref.kind == "resource" and ref.type == rtype and ref.name == name

    def literal(self, value: Any) -> Any:
        """A reference to a literal attribute of a resource (e.g. its `name`) resolved; else `value`."""
        ref = parse_ref(value)
        if ref is None or ref.kind != "resource":
            return value
        body = self.resources(ref.type).get(ref.name, {})
        resolved = body.get(ref.attr)
        if isinstance(resolved, (str, int, float, bool)) and not (isinstance(resolved, str) and "${" in resolved):
            return resolved
        return value

    def expand(self, text: str) -> str:
        """Every reference inside `text` to a literal attribute replaced by its value."""
        return _REF.sub(lambda m: str(self.literal(m.group(0))), text)

    def account_token(self) -> str:
        """How the caller's account id appears in the configuration (a data source reference)."""
        sources = self.doc.get("data", {}).get("aws_caller_identity", {})
        assert len(sources) == 1, f"{self.region}: expected one aws_caller_identity data source"
        return "${data.aws_caller_identity.%s.account_id}" % next(iter(sources))

    def is_kms_key(self, value: Any) -> bool:
        return self.is_ref(value, "aws_kms_key", "arn")

    def targeting(self, rtype: str, attr: str, target_type: str, target_name: str) -> List[Tuple[str, Dict[str, Any]]]:
        """Resources of `rtype` whose `attr` references resource `target_type.target_name`."""
        return [(n, b) for n, b in self.resources(rtype).items() if self.refers_to(b.get(attr), target_type, target_name)]

    def __repr__(self) -> str:  # readable parametrized failure output
        return f"Synth({self.region})"
