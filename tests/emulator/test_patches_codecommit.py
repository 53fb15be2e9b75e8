"""The CodeCommit patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/codecommit.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError

from .helpers import RawBodies, error_code, unique


def test_codecommit_dates_as_epoch(aws) -> None:
    """Gap: CreateRepository/GetRepository return creationDate/lastModifiedDate as ISO strings; the JSON
    protocol (and the provider's Go SDK) needs epoch numbers."""
    cc = aws("codecommit")
    raw = RawBodies(cc)
    name = unique("repo")
    created = cc.create_repository(repositoryName=name)["repositoryMetadata"]
    fetched = cc.get_repository(repositoryName=name)["repositoryMetadata"]
    for body in (raw["CreateRepository"], raw["GetRepository"]):
        for key in ("creationDate", "lastModifiedDate"):
            assert isinstance(body["repositoryMetadata"][key], (int, float)), body
    assert isinstance(created["creationDate"], datetime.datetime)
    assert isinstance(fetched["lastModifiedDate"], datetime.datetime)
    age = datetime.datetime.now(datetime.timezone.utc) - created["creationDate"]
    assert abs(age.total_seconds()) < 300


def test_codecommit_tags_and_kms_key(aws) -> None:
    """Gap: tags and kmsKeyId given to CreateRepository are dropped; ListTagsForResource, TagResource and
    UntagResource are not implemented (the provider retries forever)."""
    cc = aws("codecommit")
    kms = aws("kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    name = unique("repo")
    md = cc.create_repository(
        repositoryName=name, tags={"Project": "cicd", "Env": "dev"}, kmsKeyId=key_arn
    )["repositoryMetadata"]
    arn = md["Arn"]
    assert md["kmsKeyId"] == key_arn
    assert cc.get_repository(repositoryName=name)["repositoryMetadata"]["kmsKeyId"] == key_arn
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"Project": "cicd", "Env": "dev"}

    cc.tag_resource(resourceArn=arn, tags={"Owner": "team", "Env": "prod"})
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"Project": "cicd", "Env": "prod", "Owner": "team"}
    cc.untag_resource(resourceArn=arn, tagKeys=["Env", "Missing"])
    assert cc.list_tags_for_resource(resourceArn=arn)["tags"] == {"Project": "cicd", "Owner": "team"}

    # AWS refusals stay refusals
    with pytest.raises(ClientError) as exc:
        cc.tag_resource(resourceArn=arn, tags={"aws:reserved": "x"})
    assert error_code(exc) == "InvalidSystemTagUsageException"
    with pytest.raises(ClientError) as exc:
        cc.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(49)})
    assert error_code(exc) == "TooManyTagsException"
    missing = arn.rsplit(":", 1)[0] + ":no-such-repo"
    with pytest.raises(ClientError) as exc:
        cc.list_tags_for_resource(resourceArn=missing)
    assert error_code(exc) == "RepositoryDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.list_tags_for_resource(resourceArn="not-an-arn")
    assert error_code(exc) == "InvalidResourceArnException"

    # a repository without tags or key answers like AWS: no tags, no kmsKeyId invented
    plain = unique("repo")
    md = cc.create_repository(repositoryName=plain)["repositoryMetadata"]
    assert cc.list_tags_for_resource(resourceArn=md["Arn"])["tags"] == {}
    # tags go away with the repository
    cc.delete_repository(repositoryName=name)
    with pytest.raises(ClientError) as exc:
        cc.list_tags_for_resource(resourceArn=arn)
    assert error_code(exc) == "RepositoryDoesNotExistException"


def test_codecommit_update_repository_description(aws) -> None:
    """Gap: UpdateRepositoryDescription is not implemented (changing a description never applies)."""
    cc = aws("codecommit")
    name = unique("repo")
    cc.create_repository(repositoryName=name, repositoryDescription="old")
    cc.update_repository_description(repositoryName=name, repositoryDescription="new")
    assert cc.get_repository(repositoryName=name)["repositoryMetadata"]["repositoryDescription"] == "new"
    with pytest.raises(ClientError) as exc:
        cc.update_repository_description(repositoryName=unique("missing"), repositoryDescription="x")
    assert error_code(exc) == "RepositoryDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.update_repository_description(repositoryName=name, repositoryDescription="x" * 1001)
    assert error_code(exc) == "InvalidRepositoryDescriptionException"


def test_codecommit_branches_of_empty_repository(aws) -> None:
    """Gap: ListBranches and UpdateDefaultBranch are not implemented (a repository with default_branch
    never applies). moto repositories have no branches, so both answer as AWS does for an empty one."""
    cc = aws("codecommit")
    name = unique("repo")
    cc.create_repository(repositoryName=name)
    assert cc.list_branches(repositoryName=name)["branches"] == []
    with pytest.raises(ClientError) as exc:
        cc.update_default_branch(repositoryName=name, defaultBranchName="main")
    assert error_code(exc) == "BranchDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cc.list_branches(repositoryName=unique("missing"))
    assert error_code(exc) == "RepositoryDoesNotExistException"
