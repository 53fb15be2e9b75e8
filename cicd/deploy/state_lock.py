"""terraform's state lock as a person needs to hear about it: who holds it, for what, since when, its ID.

terraform prints the holder in its "Error acquiring the state lock" output; the S3 backend's lock file
(<key>.tflock) holds the same fields as JSON. Both become a LockInfo here, apart from the terraform runner
(cicd.deploy.terraform), because the deploy CLI also reads the lock file without running terraform.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, Optional

from cicd.workspace.errors import UserError


@dataclass(frozen=True)
class LockInfo:
    """Who holds a state lock, from terraform's "Lock Info" block or the lock file's JSON."""

    id: str
    who: str
    operation: str
    created: Optional[datetime]

    @classmethod
    def from_json(cls, data: Dict[str, str]) -> "LockInfo":
        return cls(id=data.get("ID", ""), who=data.get("Who", "?"), operation=data.get("Operation", "?"),
                   created=_parse_created(data.get("Created", "")))

    def describe(self, now: Optional[datetime] = None) -> str:
        """'root@ci-7 (apply, 42 s ago, lock ID 9d6d...)'."""
        operation = self.operation.replace("OperationType", "").lower() or "?"
        age = "age unknown"
        if self.created:
            seconds = max(0, int(((now or datetime.now(timezone.utc)) - self.created).total_seconds()))
            age = (f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago" if seconds < 7200
                   else f"{seconds // 3600} h ago")
        return f"{self.who} ({operation}, {age}, lock ID {self.id})"


class StateLocked(UserError):
    """terraform could not take the state lock: another run holds it (or a killed one left it)."""

    def __init__(self, label: str, lock: LockInfo):
        self.lock = lock
        super().__init__(f"{label}: the state is locked by {lock.describe()}")


def _parse_created(text: str) -> Optional[datetime]:
    """terraform's lock time: '2026-11-29 20:07:34.078645747 +0000 UTC' (Go) or RFC 3339 in the lock file."""
    text = text.strip().replace(" UTC", "")
    match = re.match(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$", text)
    if not match:
        return None
    zone = (match.group(3) or "+0000").replace("Z", "+0000").replace(":", "")
    return datetime.strptime(f"{match.group(1)} {match.group(2)} {zone}", "%Y-%m-%d %H:%M:%S %z")


def lock_info(text: str) -> Optional[LockInfo]:
    """The holder of the lock named in terraform's "Error acquiring the state lock" output, if it is one: the
    human output, or -json output (plan, apply), where the same "Lock Info" block is a diagnostic's detail."""
    if "Error acquiring the state lock" not in text:
        return None
    text = "\n".join(_readable(line) for line in text.splitlines())
    fields = dict(re.findall(r"^[\s│]*(ID|Who|Operation|Created):\s*(.*?)\s*$", text, flags=re.MULTILINE))
    return LockInfo.from_json(fields) if fields.get("ID") else None


def _readable(line: str) -> str:
    """A -json diagnostic line as the lines terraform would print for it; any other line as it is."""
    try:
        diagnostic = json.loads(line).get("diagnostic") or {}
    except (ValueError, AttributeError):
        return line
    return "\n".join(filter(None, (diagnostic.get("summary"), diagnostic.get("detail")))) or line
