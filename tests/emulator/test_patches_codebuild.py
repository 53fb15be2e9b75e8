"""The CodeBuild patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/codebuild.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import error_code, make_role, trust_policy, unique


_ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def _codebuild_role(aws) -> str:
    return make_role(aws("iam"), unique("cb"), trust_policy("codebuild.amazonaws.com"))


def test_codebuild_codepipeline_without_location(aws) -> None:
    """Gap: CreateProject refuses a CODEPIPELINE source/artifacts without `location` (AWS accepts it)."""
    cb = aws("codebuild")
    role = _codebuild_role(aws)
    name = unique("build")
    project = cb.create_project(
        name=name,
        source={"type": "CODEPIPELINE", "buildspec": "buildspec.yml"},
        artifacts={"type": "CODEPIPELINE"},
        environment=_ENV,
        serviceRole=role,
    )["project"]
    assert project["source"]["type"] == "CODEPIPELINE"
    assert "location" not in project["source"]
    got = cb.batch_get_projects(names=[name])["projects"][0]
    assert got["artifacts"] == {"type": "CODEPIPELINE"}
    # moto's other checks are intact: an S3 source still needs its location
    with pytest.raises(ClientError) as exc:
        cb.create_project(
            name=unique("build"),
            source={"type": "S3"},
            artifacts={"type": "CODEPIPELINE"},
            environment=_ENV,
            serviceRole=role,
        )
    assert error_code(exc) == "InvalidInputException"
    with pytest.raises(ClientError) as exc:
        cb.create_project(
            name=unique("build"),
            source={"type": "CODEPIPELINE"},
            artifacts={"type": "S3"},
            environment=_ENV,
            serviceRole=role,
        )
    assert error_code(exc) == "InvalidInputException"


def test_codebuild_create_project_dropped_members(aws) -> None:
    """Gap: CreateProject ignores encryptionKey (always answers alias/aws/s3) and drops
    concurrentBuildLimit, so a re-plan shows drift."""
    cb = aws("codebuild")
    role = _codebuild_role(aws)
    key_arn = aws("kms").create_key()["KeyMetadata"]["Arn"]
    name = unique("build")
    cb.create_project(
        name=name,
        source={"type": "CODEPIPELINE"},
        artifacts={"type": "CODEPIPELINE"},
        environment=_ENV,
        serviceRole=role,
        encryptionKey=key_arn,
        concurrentBuildLimit=2,
    )
    got = cb.batch_get_projects(names=[name])["projects"][0]
    assert got["encryptionKey"] == key_arn
    assert got["concurrentBuildLimit"] == 2
    default = unique("build")
    cb.create_project(
        name=default,
        source={"type": "CODEPIPELINE"},
        artifacts={"type": "CODEPIPELINE"},
        environment=_ENV,
        serviceRole=role,
    )
    got = cb.batch_get_projects(names=[default])["projects"][0]
    assert got["encryptionKey"].endswith(":alias/aws/s3")
    assert "concurrentBuildLimit" not in got


def test_codebuild_update_project(aws) -> None:
    """Gap: UpdateProject is not implemented (any change to a project fails)."""
    cb = aws("codebuild")
    role = _codebuild_role(aws)
    name = unique("build")
    cb.create_project(
        name=name,
        source={"type": "CODEPIPELINE"},
        artifacts={"type": "CODEPIPELINE"},
        environment=_ENV,
        serviceRole=role,
        timeoutInMinutes=30,
        tags=[{"key": "a", "value": "1"}],
    )
    env = {**_ENV, "environmentVariables": [{"name": "X", "value": "1", "type": "PLAINTEXT"}]}
    updated = cb.update_project(
        name=name, environment=env, timeoutInMinutes=45, tags=[{"key": "b", "value": "2"}]
    )["project"]
    assert updated["timeoutInMinutes"] == 45
    got = cb.batch_get_projects(names=[name])["projects"][0]
    assert got["environment"]["environmentVariables"] == env["environmentVariables"]
    assert got["tags"] == [{"key": "b", "value": "2"}]
    assert got["source"] == {"type": "CODEPIPELINE"}  # untouched members stay
    with pytest.raises(ClientError) as exc:
        cb.update_project(name=name, environment={**_ENV, "computeType": "HUGE"})
    assert error_code(exc) == "InvalidInputException"
    with pytest.raises(ClientError) as exc:
        cb.update_project(name=unique("missing"), timeoutInMinutes=10)
    assert error_code(exc) == "ResourceNotFoundException"


def test_codebuild_codepipeline_without_location_also_no_source(aws) -> None:
    """Gap: CreateProject refuses a NO_SOURCE source without `location`; AWS accepts it with an inline
    buildspec (the source mirror's project) and still refuses it without one."""
    cb = aws("codebuild")
    role = _codebuild_role(aws)
    name = unique("mirror")
    project = cb.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=_ENV,
        serviceRole=role,
    )["project"]
    assert project["source"]["type"] == "NO_SOURCE" and "location" not in project["source"]
    assert cb.batch_get_projects(names=[name])["projects"][0]["source"]["buildspec"].startswith("version: 0.2")
    with pytest.raises(ClientError) as exc:
        cb.create_project(name=unique("mirror"), source={"type": "NO_SOURCE"}, artifacts={"type": "NO_ARTIFACTS"},
                          environment=_ENV, serviceRole=role)
    assert error_code(exc) == "InvalidInputException" and "buildspec" in str(exc.value)
