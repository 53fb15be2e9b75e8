"""Stable tags: project, region and owner on everything through the provider's default tags, and
stage/service on the resources that belong to one, read from their construct path.

The deployment ID is deliberately not a tag here: a per-run value on every resource would make
every plan rewrite every resource.
"""
from __future__ import annotations

from typing import Dict, Sequence

from constructs import IConstruct

from cicd.workspace.config import DEPLOY_STAGES, RegionConfig


def default_tags(cfg: RegionConfig) -> Dict[str, str]:
    return {"project": cfg.project, "region": cfg.region, "owner": cfg.owner, "managed-by": "cdktf"}


def tag_stages_and_services(stack: IConstruct, services: Sequence[str]) -> int:
    """Tag every taggable resource of the finished ``stack`` whose construct path names a deploy stage
    (``/<stage>-``) or a service; returns how many were tagged.

    Run once, after the stack's last resource. A cdktf Aspect would do the same at synth time, but
    through a Node -> Python callback for each of the ~650 constructs and a jsii read per property
    probe (~1 s per synth); this walk checks the Python class instead of reading properties, and
    reads and writes tags only on the resources it tags.
    """
    by_length = sorted(services, key=len, reverse=True)  # "api-service" never matches inside a longer name
    stages = [s.value for s in DEPLOY_STAGES]
    tagged = 0
    for node in stack.node.find_all():
        cls = type(node)
        if not isinstance(getattr(cls, "tags_input", None), property) or not (
                hasattr(cls, "put_tags") or isinstance(getattr(cls, "tags", None), property)):
            continue  # not a taggable resource (no jsii round trip to find out)
        path = node.node.path
        tags: Dict[str, str] = {}
        stage = next((s for s in stages if f"/{s}-" in path), None)
        if stage:
            tags["stage"] = stage
        service = next((s for s in by_length if s in path), None)
        if service:
            tags["service"] = service
        if tags:
            node.tags = {**(node.tags_input or {}), **tags}
            tagged += 1
    return tagged
