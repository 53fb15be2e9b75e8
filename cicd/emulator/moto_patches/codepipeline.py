"""CodePipeline: epoch timestamps, and a role trust policy whose Service principal is a list
(``trust_policy_allows_service()`` is the check)."""

from __future__ import annotations

import fnmatch
import functools
import json
from typing import Any, Dict, List

from ._registry import _as_list, _epoch, _patch, _replace


@_patch("codepipeline_timestamps_as_epoch")
def _codepipeline_timestamps_as_epoch() -> None:
    # moto 5.2.5, CodePipeline, GetPipeline (metadata.created/updated), ListPipelines and
    # ListPipelineExecutions (startTime/lastUpdateTime): ISO-8601 strings. CodePipeline speaks AWS JSON 1.1,
    # whose timestamps are epoch-second numbers; the provider fails to read the pipeline it has just
    # created ("expected Timestamp to be a JSON Number").
    from moto.codepipeline import models

    def metadata(self: Any) -> Dict[str, Any]:
        return {
            "pipelineArn": self._arn,
            "created": _epoch(self._created),
            "updated": _epoch(self._updated),
        }

    original_summary = models.PipelineExecution.to_summary_dict

    def to_summary_dict(self: Any) -> Dict[str, Any]:
        summary = original_summary(self)
        for key in ("startTime", "lastUpdateTime"):
            summary[key] = _epoch(summary[key])
        return summary

    patch = "codepipeline_timestamps_as_epoch"
    _replace(patch, models.CodePipeline, "metadata", property(metadata))
    _replace(patch, models.PipelineExecution, "to_summary_dict", to_summary_dict)


def trust_policy_allows_service(policy_document: str, service: str) -> bool:
    """True when an IAM trust policy lets ``service`` call sts:AssumeRole (Principal.Service may be a
    string or a list, as on AWS)."""
    try:
        statements = _as_list(json.loads(policy_document).get("Statement"))
    except (ValueError, AttributeError):
        return False
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase("sts:assumerole", a) for a in actions):
            continue
        principal = statement.get("Principal")
        if not isinstance(principal, dict):
            continue
        if service in _as_list(principal.get("Service")):
            return True
    return False


@_patch("codepipeline_trust_policy_service_list")
def _codepipeline_trust_policy_service_list() -> None:
    # moto 5.2.5, CodePipeline, CreatePipeline: the role check reads Statement[*].Principal.Service as one
    # string, so a trust policy with `"Service": ["codepipeline.amazonaws.com", ...]` (valid IAM) is refused
    # with "CodePipeline is not authorized to perform AssumeRole", and a statement without a Service
    # principal raises KeyError (HTTP 500). AWS accepts any Allow sts:AssumeRole statement whose Service
    # principal (string or list) includes codepipeline.amazonaws.com, and still refuses a role without it.
    from moto.codepipeline import models
    from moto.codepipeline.exceptions import InvalidStructureException
    from moto.iam.exceptions import NotFoundException as IAMNotFoundException

    original = models.CodePipelineBackend.create_pipeline

    @functools.wraps(original)
    def create_pipeline(self: Any, pipeline: Dict[str, Any], tags: List[Dict[str, str]]) -> Any:
        name = pipeline["name"]
        if name in self.pipelines:
            raise InvalidStructureException(
                f"A pipeline with the name '{name}' already exists in account '{self.account_id}'"
            )
        try:
            role = self.iam_backend.get_role_by_arn(pipeline["roleArn"])
        except IAMNotFoundException:
            role = None
        if role is None or not trust_policy_allows_service(
            role.assume_role_policy_document, "codepipeline.amazonaws.com"
        ):
            raise InvalidStructureException(
                f"CodePipeline is not authorized to perform AssumeRole on role {pipeline['roleArn']}"
            )
        # The rest is moto's own create_pipeline, unchanged (except that tags are checked before the
        # pipeline is stored, so a refused request leaves nothing behind, as on AWS).
        if len(pipeline["stages"]) < 2:
            raise InvalidStructureException(
                f"Pipeline has only {len(pipeline['stages'])} stage(s). "
                "There should be a minimum of 2 stages in a pipeline"
            )
        created = models.CodePipeline(self.account_id, self.region_name, pipeline)
        if tags is not None:
            created.validate_tags(tags)
            created.tags.update({tag["key"]: tag["value"] for tag in tags})
        else:
            tags = []
        self.pipelines[name] = created
        return pipeline, sorted(tags, key=lambda i: i["key"])

    _replace("codepipeline_trust_policy_service_list", models.CodePipelineBackend, "create_pipeline", create_pipeline)
