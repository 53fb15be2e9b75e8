"""Stable tags: project, region and owner on everything through the provider's default tags, and
stage/service on the resources that belong to one, read from their construct path.

The deployment ID is deliberately not a tag here: a per-run value on every resource would make
every plan rewrite every resource.
"""
from __future__ import annotations

from typing import Dict, Sequence

import jsii
from cdktf import IAspect
from constructs import IConstruct

from cicd.config import DEPLOY_STAGES, RegionConfig


def default_tags(cfg: RegionConfig) -> Dict[str, str]:
    return {"project": cfg.project, "region": cfg.region, "owner": cfg.owner, "managed-by": "cdktf"}


@jsii.implements(IAspect)
class StageServiceTags:
    def __init__(self, services: Sequence[str]):
        # Longest names first, so "api-service" never matches inside a longer service name.
        self.services = sorted(services, key=len, reverse=True)
        self.stages = [s.value for s in DEPLOY_STAGES]

    def visit(self, node: IConstruct) -> None:
        if not hasattr(node, "tags_input") or not hasattr(node, "put_tags") and not hasattr(node, "tags"):
            return
        path = node.node.path
        tags: Dict[str, str] = {}
        for stage in self.stages:
            if f"/{stage}-" in path:
                tags["stage"] = stage
                break
        for service in self.services:
            if service in path:
                tags["service"] = service
                break
        if tags:
            node.tags = {**(node.tags_input or {}), **tags}
