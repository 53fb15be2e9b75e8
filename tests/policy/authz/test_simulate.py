"""cicd/policy/authz/simulate.py: the real policy engine (Node, @cloud-copilot/iam-simulate) answers each
request of a batch in order; a request asked twice is evaluated once and both copies get its answer.

Needs the engine's node_modules (`AUTHZ_NODE_MODULES`, installed by `nox -s tests`), like the gate's tests.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from cicd.policy.authz import simulate
from cicd.policy.authz.builder import Flow

ROLE = "arn:aws:iam::123456789012:role/app"
BUCKET_OBJECT = "arn:aws:s3:::artifacts/releases/app.zip"


def _flow(action: str, allowed_action: str = "s3:GetObject", resource: str = BUCKET_OBJECT) -> Flow:
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": allowed_action, "Resource": "arn:aws:s3:::artifacts/*"}]}
    return Flow("us-east-1", "test", "cite", ROLE, action, resource, identity=json.dumps(policy))


@pytest.fixture
def sent(monkeypatch):
    """The requests each engine run was given (the real run still happens)."""
    batches = []
    real_run = subprocess.run

    def run(command, **kwargs):
        batches.append(json.loads(kwargs["input"]))
        return real_run(command, **kwargs)

    monkeypatch.setattr(simulate.subprocess, "run", run)
    return batches


def test_each_request_gets_its_own_answer_in_order_and_repeats_are_evaluated_once(sent):
    allowed = _flow("s3:GetObject").simulation("123456789012")
    denied = _flow("s3:PutObject").simulation("123456789012")
    outside = _flow("s3:GetObject", resource="arn:aws:s3:::other/app.zip").simulation("123456789012")

    results = simulate.evaluate([allowed, denied, allowed, outside, denied])

    assert [r["result"] for r in results] == ["Allowed", "ImplicitlyDenied", "Allowed", "ImplicitlyDenied",
                                              "ImplicitlyDenied"]
    assert len(sent) == 1 and len(sent[0]) == 3  # three distinct requests reached the engine
    results[0]["result"] = "changed"
    assert results[2]["result"] == "Allowed"  # copies are independent answers


def test_requests_that_differ_only_in_context_are_not_merged(sent):
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::artifacts/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}
    base = dict(region="us-east-1", name="test", cite="cite", principal=ROLE, action="s3:GetObject",
                resource=BUCKET_OBJECT, identity=json.dumps(policy))
    ours = Flow(**base, context=(("aws:SourceAccount", "123456789012"),)).simulation("123456789012")
    theirs = Flow(**base, context=(("aws:SourceAccount", "210987654321"),)).simulation("123456789012")

    assert [r["result"] for r in simulate.evaluate([ours, theirs])] == ["Allowed", "ImplicitlyDenied"]
    assert len(sent[0]) == 2


def test_an_empty_batch_runs_no_engine(sent):
    assert simulate.evaluate([]) == [] and sent == []
