"""CodeBuild: CODEPIPELINE sources/artifacts and NO_SOURCE sources without location, members CreateProject drops, UpdateProject."""

from __future__ import annotations

import functools
from typing import Any, Dict

from ._registry import _add, _patch, _replace


@_patch("codebuild_codepipeline_without_location")
def _codebuild_codepipeline_without_location() -> None:
    # moto 5.2.5, CodeBuild, CreateProject: a `source` or `artifacts` of type CODEPIPELINE without `location`
    # is refused ("Project source location is required"). On AWS a CODEPIPELINE source/artifact has no
    # location (CodePipeline supplies it); every other type keeps moto's checks.
    # The same check refuses a NO_SOURCE source without `location`: on AWS a NO_SOURCE project has no location
    # and needs its buildspec inline (the source mirror, stack/source_mirror.py, is one); without a buildspec
    # it stays refused. (One patch for both: two patches of one moto function would save each other as
    # "originals".)
    from moto.codebuild import responses
    from moto.codebuild.exceptions import InvalidInputException

    original_source = responses._validate_required_params_source
    original_artifacts = responses._validate_required_params_artifacts

    def source(source: Dict[str, Any]) -> None:
        if source.get("type") == "CODEPIPELINE" and "location" not in source:
            return
        if source.get("type") == "NO_SOURCE" and not source.get("location"):
            if not source.get("buildspec"):
                raise InvalidInputException("Project source buildspec is required for source type NO_SOURCE")
            return
        original_source(source)

    def artifacts(artifacts: Dict[str, Any]) -> None:
        if artifacts.get("type") == "CODEPIPELINE" and "location" not in artifacts:
            return
        original_artifacts(artifacts)

    patch = "codebuild_codepipeline_without_location"
    _replace(patch, responses, "_validate_required_params_source", source)
    _replace(patch, responses, "_validate_required_params_artifacts", artifacts)


# CreateProject request members that moto 5.2.5 ignores although BatchGetProjects returns them on AWS.
_CODEBUILD_CREATE_PROJECT_KEPT = ("encryptionKey", "concurrentBuildLimit")


@_patch("codebuild_create_project_dropped_members")
def _codebuild_create_project_dropped_members() -> None:
    # moto 5.2.5, CodeBuild, CreateProject: `encryptionKey` is ignored (BatchGetProjects always answers the
    # default alias/aws/s3) and `concurrentBuildLimit` is dropped, so a project with its own KMS key or a
    # build limit shows drift on every re-plan. AWS stores both (alias/aws/s3 only when no key is given).
    from moto.codebuild import responses

    original = responses.CodeBuildResponse.create_project

    @functools.wraps(original)
    def create_project(self: Any) -> Any:
        result = original(self)
        metadata = self.codebuild_backend.codebuild_projects[self._get_param("name")].project_metadata
        for member in _CODEBUILD_CREATE_PROJECT_KEPT:
            value = self._get_param(member)
            if value is not None and value != "":
                metadata[member] = value
        return result

    _replace(
        "codebuild_create_project_dropped_members",
        responses.CodeBuildResponse,
        "create_project",
        create_project,
    )


# UpdateProject request members stored as they are (the same keys BatchGetProjects answers).
_CODEBUILD_UPDATE_PROJECT_MEMBERS = (
    "description",
    "source",
    "artifacts",
    "environment",
    "serviceRole",
    "timeoutInMinutes",
    "queuedTimeoutInMinutes",
    "encryptionKey",
    "tags",
    "cache",
    "sourceVersion",
    "logsConfig",
    "vpcConfig",
    "concurrentBuildLimit",
)


@_patch("codebuild_update_project")
def _codebuild_update_project() -> None:
    # moto 5.2.5, CodeBuild: UpdateProject is not implemented (HTTP 500), so any in-place change to an
    # aws_codebuild_project (image, environment variables, timeouts, tags...) fails. AWS changes the members
    # given, validating them like CreateProject, and answers {"project": ...}.
    from moto.codebuild import responses
    from moto.codebuild.exceptions import ResourceNotFoundException
    from moto.core.responses import ActionResult
    from moto.core.utils import unix_time
    from moto.utilities.utils import get_partition

    def update_project(self: Any) -> ActionResult:
        name = self._get_param("name")
        responses._validate_required_params_project_name(name)
        project = self.codebuild_backend.codebuild_projects.get(name)
        if project is None:
            raise ResourceNotFoundException(
                f"Project cannot be found: arn:{get_partition(self.region)}:codebuild:{self.region}:"
                f"{self.current_account}:project/{name}"
            )
        # the module-level validators, so CODEPIPELINE sources/artifacts get the same (patched) treatment
        if self._get_param("source") is not None:
            responses._validate_required_params_source(self._get_param("source"))
        if self._get_param("artifacts") is not None:
            responses._validate_required_params_artifacts(self._get_param("artifacts"))
        if self._get_param("environment") is not None:
            responses._validate_required_params_environment(self._get_param("environment"))
        if self._get_param("serviceRole") is not None:
            responses._validate_required_params_service_role(
                self.current_account, self.region, self._get_param("serviceRole")
            )
        metadata = project.project_metadata
        for member in _CODEBUILD_UPDATE_PROJECT_MEMBERS:
            value = self._get_param(member)
            if value is not None:
                metadata[member] = value
        if self._get_param("serviceRole") is not None:
            project.service_role = metadata["serviceRole"]
        if self._get_param("tags") is not None:
            project.tags = metadata["tags"]
        if self._get_param("badgeEnabled") is not None:
            metadata["badge"] = {"badgeEnabled": bool(self._get_param("badgeEnabled"))}
        metadata["lastModifiedDate"] = unix_time()
        return ActionResult({"project": metadata})

    _add("codebuild_update_project", responses.CodeBuildResponse, "update_project", update_project)
