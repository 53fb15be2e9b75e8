"""CodeCommit: epoch timestamps, tags and KMS key, UpdateRepositoryDescription, branches of an empty
repository."""

from __future__ import annotations

import functools
import json
from typing import Any, Dict

from ._registry import _add, _epoch, _patch, _replace, _utcnow


@_patch("codecommit_dates_as_epoch")
def _codecommit_dates_as_epoch() -> None:
    # moto 5.2.5, CodeCommit, CreateRepository/GetRepository: creationDate and lastModifiedDate are ISO-8601
    # strings. CodeCommit speaks AWS JSON 1.1, whose timestamps are epoch-second numbers; the provider's Go
    # SDK refuses the strings ("expected Timestamp to be a JSON Number") and the create fails.
    from moto.codecommit import models

    original = models.CodeCommit.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        md = self.repository_metadata
        for key in ("creationDate", "lastModifiedDate"):
            md[key] = _epoch(md[key])

    _replace("codecommit_dates_as_epoch", models.CodeCommit, "__init__", __init__)


@_patch("codecommit_tags_and_kms_key")
def _codecommit_tags_and_kms_key() -> None:
    # moto 5.2.5, CodeCommit: CreateRepository ignores `tags` and `kmsKeyId`, and ListTagsForResource /
    # TagResource / UntagResource are not implemented (moto answers 500 "not implemented", which the
    # provider retries until it times out). AWS stores the tags given at creation, returns the repository's
    # kmsKeyId, and implements the three tagging operations keyed by repository ARN.
    from moto.core.exceptions import JsonRESTError
    from moto.codecommit import responses
    from moto.codecommit.exceptions import (
        InvalidRepositoryNameException,
        RepositoryDoesNotExistException,
    )

    cls = responses.CodeCommitResponse

    def _check_tags(tags: Dict[str, str], existing: Dict[str, str]) -> None:
        for key in tags:
            if key.lower().startswith("aws:"):
                raise JsonRESTError(
                    "InvalidSystemTagUsageException",
                    "The tag key contains a prefix that is reserved for system use.",
                )
        if len({**existing, **tags}) > 50:
            raise JsonRESTError(
                "TooManyTagsException", "The maximum number of tags for a repository has been exceeded."
            )

    def _repo_by_arn(self: Any, arn: str | None) -> Any:
        if not arn:
            raise JsonRESTError("ResourceArnRequiredException", "A valid Amazon Resource Name (ARN) is required.")
        if not arn.startswith("arn:") or ":codecommit:" not in arn:
            raise JsonRESTError("InvalidResourceArnException", f"The value for the resource ARN is not valid: {arn}")
        for repo in self.codecommit_backend.repositories.values():
            if repo.repository_metadata["Arn"] == arn:
                return repo
        raise RepositoryDoesNotExistException(arn.rsplit(":", 1)[-1])

    def create_repository(self: Any) -> str:
        name = self._get_param("repositoryName")
        if not responses._is_repository_name_valid(name):
            raise InvalidRepositoryNameException()
        tags = self._get_param("tags") or {}
        _check_tags(tags, {})
        metadata = self.codecommit_backend.create_repository(name, self._get_param("repositoryDescription"))
        repo = self.codecommit_backend.repositories[name]
        repo._cicd_tags = dict(tags)
        kms_key_id = self._get_param("kmsKeyId")
        if kms_key_id:
            metadata["kmsKeyId"] = kms_key_id
        return json.dumps({"repositoryMetadata": metadata})

    def list_tags_for_resource(self: Any) -> str:
        repo = _repo_by_arn(self, self._get_param("resourceArn"))
        return json.dumps({"tags": dict(getattr(repo, "_cicd_tags", {}))})

    def tag_resource(self: Any) -> str:
        repo = _repo_by_arn(self, self._get_param("resourceArn"))
        tags = self._get_param("tags")
        if tags is None:
            raise JsonRESTError("TagsMapRequiredException", "A map of tags is required.")
        existing = getattr(repo, "_cicd_tags", {})
        _check_tags(tags, existing)
        repo._cicd_tags = {**existing, **tags}
        return "{}"

    def untag_resource(self: Any) -> str:
        repo = _repo_by_arn(self, self._get_param("resourceArn"))
        keys = self._get_param("tagKeys")
        if keys is None:
            raise JsonRESTError("TagKeysListRequiredException", "A list of tag keys is required.")
        repo._cicd_tags = {k: v for k, v in getattr(repo, "_cicd_tags", {}).items() if k not in keys}
        return "{}"

    patch = "codecommit_tags_and_kms_key"
    _replace(patch, cls, "create_repository", create_repository)
    _add(patch, cls, "list_tags_for_resource", list_tags_for_resource)
    _add(patch, cls, "tag_resource", tag_resource)
    _add(patch, cls, "untag_resource", untag_resource)


@_patch("codecommit_update_repository_description")
def _codecommit_update_repository_description() -> None:
    # moto 5.2.5, CodeCommit: UpdateRepositoryDescription is not implemented (HTTP 500), so changing an
    # aws_codecommit_repository's description retries until the provider gives up. AWS sets the description
    # (at most 1,000 characters) and answers an empty body.
    from moto.codecommit import responses
    from moto.codecommit.exceptions import InvalidRepositoryNameException
    from moto.core.exceptions import JsonRESTError

    def update_repository_description(self: Any) -> str:
        name = self._get_param("repositoryName")
        if not name:
            raise JsonRESTError("RepositoryNameRequiredException", "A repository name is required.")
        if not responses._is_repository_name_valid(name):
            raise InvalidRepositoryNameException()
        description = self._get_param("repositoryDescription")
        if description is not None and len(description) > 1000:
            raise JsonRESTError(
                "InvalidRepositoryDescriptionException",
                "The description for the repository is not valid (at most 1,000 characters).",
            )
        metadata = self.codecommit_backend.get_repository(name)  # raises RepositoryDoesNotExistException
        metadata["repositoryDescription"] = description
        metadata["lastModifiedDate"] = _epoch(_utcnow())
        return "{}"

    _add(
        "codecommit_update_repository_description",
        responses.CodeCommitResponse,
        "update_repository_description",
        update_repository_description,
    )


@_patch("codecommit_branches_of_empty_repository")
def _codecommit_branches_of_empty_repository() -> None:
    # moto 5.2.5, CodeCommit: ListBranches and UpdateDefaultBranch are not implemented (HTTP 500), so an
    # aws_codecommit_repository with `default_branch` retries until the provider gives up (it lists the
    # branches first). moto repositories never have branches (no CreateBranch/PutFile/git push), so these
    # answer what AWS answers for an empty repository: ListBranches -> no branches (the provider then leaves
    # the default branch alone, as it does on AWS), UpdateDefaultBranch -> BranchDoesNotExistException.
    from moto.codecommit import responses
    from moto.codecommit.exceptions import InvalidRepositoryNameException
    from moto.core.exceptions import JsonRESTError

    def _existing_repository(self: Any) -> str:
        name = self._get_param("repositoryName")
        if not name:
            raise JsonRESTError("RepositoryNameRequiredException", "A repository name is required.")
        if not responses._is_repository_name_valid(name):
            raise InvalidRepositoryNameException()
        self.codecommit_backend.get_repository(name)  # raises RepositoryDoesNotExistException
        return name

    def list_branches(self: Any) -> str:
        _existing_repository(self)
        return json.dumps({"branches": []})

    def update_default_branch(self: Any) -> str:
        name = _existing_repository(self)
        branch = self._get_param("defaultBranchName")
        if not branch:
            raise JsonRESTError("BranchNameRequiredException", "A branch name is required.")
        raise JsonRESTError("BranchDoesNotExistException", f"Branch '{branch}' does not exist in repository '{name}'.")

    patch = "codecommit_branches_of_empty_repository"
    _add(patch, responses.CodeCommitResponse, "list_branches", list_branches)
    _add(patch, responses.CodeCommitResponse, "update_default_branch", update_default_branch)
