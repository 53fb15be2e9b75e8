"""Application Auto Scaling: tags of scalable targets (RegisterScalableTarget and the tagging operations)."""

from __future__ import annotations

import functools
import json
from typing import Any, Dict

from ._registry import _add, _patch, _replace


@_patch("applicationautoscaling_tags")
def _applicationautoscaling_tags() -> None:
    # moto 5.2.5, Application Auto Scaling: RegisterScalableTarget ignores `Tags`, and ListTagsForResource /
    # TagResource / UntagResource are not implemented (HTTP 500), so the provider retries reading the tags
    # of every aws_appautoscaling_target until it times out (ECS service auto scaling never applies). AWS
    # stores the tags given when a scalable target is first registered and implements the three tagging
    # operations keyed by the scalable target ARN.
    from moto.applicationautoscaling import responses
    from moto.core.exceptions import JsonRESTError

    cls = responses.ApplicationAutoScalingResponse
    original = cls.register_scalable_target

    def _check_tags(tags: Dict[str, str], existing: Dict[str, str]) -> None:
        for key in tags:
            if key.lower().startswith("aws:"):
                raise JsonRESTError("ValidationException", "Tag keys with the prefix aws: are reserved.")
        if len({**existing, **tags}) > 50:
            raise JsonRESTError("TooManyTagsException", "A resource can have at most 50 tags.")

    def _target_by_arn(self: Any, arn: str | None) -> Any:
        for targets in self.applicationautoscaling_backend.targets.values():
            for target in targets.values():
                if target.arn == arn:
                    return target
        raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for ARN {arn}.")

    @functools.wraps(original)
    def register_scalable_target(self: Any) -> str:
        backend = self.applicationautoscaling_backend
        resource_id = self._get_param("ResourceId")
        dimension = self._get_param("ScalableDimension")
        existed = backend._scalable_target_exists(resource_id, dimension)
        tags = self._get_param("Tags") or {}
        _check_tags(tags, {})
        body = original(self)
        if not existed:  # AWS applies Tags only when the target is created
            backend.targets[dimension][resource_id]._cicd_tags = dict(tags)
        return body

    def list_tags_for_resource(self: Any) -> str:
        target = _target_by_arn(self, self._get_param("ResourceARN"))
        return json.dumps({"Tags": dict(getattr(target, "_cicd_tags", {}))})

    def tag_resource(self: Any) -> str:
        target = _target_by_arn(self, self._get_param("ResourceARN"))
        tags = self._get_param("Tags") or {}
        existing = getattr(target, "_cicd_tags", {})
        _check_tags(tags, existing)
        target._cicd_tags = {**existing, **tags}
        return "{}"

    def untag_resource(self: Any) -> str:
        target = _target_by_arn(self, self._get_param("ResourceARN"))
        keys = self._get_param("TagKeys") or []
        target._cicd_tags = {k: v for k, v in getattr(target, "_cicd_tags", {}).items() if k not in keys}
        return "{}"

    patch = "applicationautoscaling_tags"
    _replace(patch, cls, "register_scalable_target", register_scalable_target)
    _add(patch, cls, "list_tags_for_resource", list_tags_for_resource)
    _add(patch, cls, "tag_resource", tag_resource)
    _add(patch, cls, "untag_resource", untag_resource)
