"""Timestamp deployment IDs (`20261127T102500Z`): one per run, `DEPLOYMENT_ID` overrides it."""
from __future__ import annotations

import datetime as dt
import os
import re
from typing import Mapping, Optional

from cicd.workspace.errors import UserError

FORMAT = "%Y%m%dT%H%M%SZ"
_PATTERN = re.compile(r"[0-9]{8}T[0-9]{6}Z")  # ASCII digits only: it becomes part of an image tag


def new(now: Optional[dt.datetime] = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).strftime(FORMAT)


def current(environ: Mapping[str, str] = os.environ) -> str:
    """The override from the environment if set (validated), else a fresh UTC timestamp."""
    override = environ.get("DEPLOYMENT_ID", "").strip()
    if not override:
        return new()
    if not _PATTERN.fullmatch(override):
        raise UserError(f"environment: DEPLOYMENT_ID={override}: allowed: a UTC timestamp like 20261127T102500Z")
    try:
        dt.datetime.strptime(override, FORMAT)
    except ValueError:
        raise UserError(f"environment: DEPLOYMENT_ID={override}: not a real date and time") from None
    return override
