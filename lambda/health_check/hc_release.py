"""Protect the image a release is about to put live from ECR's lifecycle expiry.

The repositories' lifecycle policy (stack/registry.py) expires tagged images past the newest 50 by
push time, except images carrying a tag that starts with RELEASE_TAG_PREFIX: a higher-priority rule
claims those, and ECR never lets a lower-priority rule expire an image a higher one selected. When a
replacement passes its pre-traffic checks, every ECR image its task definition names gets that tag
(PutImage with the image's own manifest: same digest, one more tag), before any production traffic
reaches it. So an image that was ever live - the one production runs and needs to scale out, and the
one a rollback returns to - outlives any number of later builds.

A tag that already exists (the image was released to staging before production) is success. Any
other failure is a Failed verdict: letting out a release whose rollback image may expire is exactly
what this guards against.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

import hc_aws

RELEASE_TAG_PREFIX = "release-"  # stack/registry.py keeps it in step (a test compares the two)
_MAX_TAG = 128
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>(:<tag>|@<digest>)
_ECR_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/(?P<repo>[a-z0-9._/-]+)"
    r"(?::(?P<tag>[A-Za-z0-9_.-]{1,128})|@(?P<digest>sha256:[0-9a-f]{64}))$")
_ALREADY_THERE = frozenset({"ImageAlreadyExistsException", "ImageTagAlreadyExistsException"})

Verdict = Tuple[str, str]


def ecr_images(task_definition: Dict[str, Any]) -> List[Tuple[str, Dict[str, str], str]]:
    """(repository, imageId, release tag) of every ECR image a task definition's containers name."""
    found = []
    for container in task_definition.get("containerDefinitions") or []:
        match = _ECR_IMAGE.match(container.get("image") or "")
        if not match:
            continue  # not one of our ECR repositories (e.g. a public sidecar): nothing to protect
        if match["tag"]:
            image_id, label = {"imageTag": match["tag"]}, match["tag"]
        else:
            image_id, label = {"imageDigest": match["digest"]}, match["digest"].split(":", 1)[1][:32]
        found.append((match["repo"], image_id, (RELEASE_TAG_PREFIX + label)[:_MAX_TAG]))
    return found


def protect(task_definition_arn: str, tries: int, budget: hc_aws.Budget, rec: Dict[str, Any]) -> Optional[Verdict]:
    """Tag the images of `task_definition_arn` as released; a Failed verdict if that cannot be done."""
    described = hc_aws.call("ecs", "describe_task_definition", budget, tries, taskDefinition=task_definition_arn)
    images = ecr_images(described.get("taskDefinition") or {})
    protected: List[str] = []
    rec["released_images"] = protected
    for repository, image_id, tag in images:
        got = hc_aws.call("ecr", "batch_get_image", budget, tries, repositoryName=repository, imageIds=[image_id])
        found = got.get("images") or []
        if not found:
            failures = [f.get("failureCode") for f in got.get("failures") or []]
            return "Failed", f"image {repository} {image_id} not found in ECR ({', '.join(map(str, failures))})"
        image = found[0]
        params = dict(repositoryName=repository, imageManifest=image["imageManifest"], imageTag=tag)
        if image.get("imageManifestMediaType"):
            params["imageManifestMediaType"] = image["imageManifestMediaType"]
        try:
            hc_aws.call("ecr", "put_image", budget, tries, **params)
        except hc_aws.AwsError as exc:
            if exc.code not in _ALREADY_THERE:
                raise
        protected.append(f"{repository}:{tag}")
    return None
