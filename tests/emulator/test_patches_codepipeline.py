"""The CodePipeline patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/codepipeline.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from cicd.emulator import moto_patches

from .helpers import CODEPIPELINE_STAGES, RawBodies, error_code, make_role, trust_policy, unique


def _pipeline(name: str, role_arn: str) -> dict:
    return {
        "name": name,
        "roleArn": role_arn,
        "artifactStore": {"type": "S3", "location": "artifacts-bucket"},
        "stages": CODEPIPELINE_STAGES,
    }


def test_codepipeline_timestamps_as_epoch(aws) -> None:
    """Gap: GetPipeline metadata (created/updated), ListPipelines and ListPipelineExecutions return ISO
    strings; the provider fails with "expected Timestamp to be a JSON Number"."""
    cp = aws("codepipeline")
    raw = RawBodies(cp)
    role = make_role(aws("iam"), unique("cp"), trust_policy("codepipeline.amazonaws.com"))
    name = unique("pipe")
    cp.create_pipeline(pipeline=_pipeline(name, role))
    meta = cp.get_pipeline(name=name)["metadata"]
    assert isinstance(meta["created"], datetime.datetime)
    assert isinstance(meta["updated"], datetime.datetime)
    assert all(isinstance(raw["GetPipeline"]["metadata"][k], (int, float)) for k in ("created", "updated"))
    listed = [p for p in cp.list_pipelines()["pipelines"] if p["name"] == name][0]
    assert isinstance(listed["created"], datetime.datetime)
    assert all(isinstance(p["created"], (int, float)) for p in raw["ListPipelines"]["pipelines"])
    cp.start_pipeline_execution(name=name)
    summary = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"][0]
    assert isinstance(summary["startTime"], datetime.datetime)
    assert isinstance(raw["ListPipelineExecutions"]["pipelineExecutionSummaries"][0]["startTime"], (int, float))


def test_codepipeline_trust_policy_service_list(aws) -> None:
    """Gap: CreatePipeline accepts only a single string Service principal in the role's trust policy; a
    list (valid IAM) is refused, and a statement without a Service principal is an HTTP 500."""
    cp = aws("codepipeline")
    iam = aws("iam")
    listed = make_role(iam, unique("cp"), trust_policy("codepipeline.amazonaws.com", "events.amazonaws.com"))
    name = unique("pipe")
    cp.create_pipeline(pipeline=_pipeline(name, listed), tags=[{"key": "k", "value": "v"}])
    assert cp.get_pipeline(name=name)["pipeline"]["roleArn"] == listed

    refused = {
        "no codepipeline": trust_policy("codebuild.amazonaws.com", "events.amazonaws.com"),
        "deny": trust_policy("codepipeline.amazonaws.com", effect="Deny"),
        "aws principal only": trust_policy(principal={"AWS": "arn:aws:iam::123456789012:root"}),
    }
    for label, policy in refused.items():
        role = make_role(iam, unique("cp"), policy)
        with pytest.raises(ClientError) as exc:
            cp.create_pipeline(pipeline=_pipeline(unique("pipe"), role))
        assert error_code(exc) == "InvalidStructureException", label
        assert "not authorized to perform AssumeRole" in str(exc.value)
    with pytest.raises(ClientError) as exc:  # unknown role
        cp.create_pipeline(pipeline=_pipeline(unique("pipe"), "arn:aws:iam::123456789012:role/missing"))
    assert error_code(exc) == "InvalidStructureException"
    # the rest of moto's create checks still run
    with pytest.raises(ClientError) as exc:
        cp.create_pipeline(pipeline={**_pipeline(name, listed)})
    assert "already exists" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        cp.create_pipeline(pipeline={**_pipeline(unique("pipe"), listed), "stages": CODEPIPELINE_STAGES[:1]})
    assert "minimum of 2 stages" in str(exc.value)
    bad_tags = unique("pipe")
    with pytest.raises(ClientError) as exc:
        cp.create_pipeline(pipeline=_pipeline(bad_tags, listed), tags=[{"key": "aws:x", "value": "v"}])
    assert error_code(exc) == "InvalidTagsException"
    assert bad_tags not in [p["name"] for p in cp.list_pipelines()["pipelines"]]


def test_codepipeline_trust_policy_parser() -> None:
    """The trust check itself: Service as string or list, Allow + sts:AssumeRole (wildcards as IAM)."""
    allows = moto_patches.trust_policy_allows_service
    svc = "codepipeline.amazonaws.com"
    assert allows(trust_policy(svc), svc)
    assert allows(trust_policy(svc, "events.amazonaws.com"), svc)
    assert allows(json.dumps({"Statement": {"Effect": "Allow", "Principal": {"Service": svc}, "Action": ["sts:*"]}}), svc)
    assert not allows(json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": svc},
                                                 "Action": "sts:TagSession"}]}), svc)
    assert not allows(trust_policy(svc, effect="Deny"), svc)
    assert not allows("not json", svc)
