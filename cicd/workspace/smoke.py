"""The pre-traffic test's requests per deployment group, as the health Lambda's SMOKE_CHECKS reads them.

One place for the stack (the Lambda's environment) and the blue/green rehearsal (cicd/emulator/rehearsal.py).
"""
from __future__ import annotations

import json
from typing import Dict, List

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, RegionConfig


def smoke_checks(cfg: RegionConfig) -> Dict[str, List[dict]]:
    """Deployment group -> [{path, status, body}]: the service's health path, then its smoke requests."""
    return {naming.deployment_group(cfg, stage, service): [
        {"path": r.path, "status": r.status, "body": r.body} for r in cfg.smoke_checks(service)]
        for stage in DEPLOY_STAGES for service in cfg.services}


def smoke_checks_json(cfg: RegionConfig) -> str:
    return json.dumps(smoke_checks(cfg), sort_keys=True, separators=(",", ":"))
