"""The lifecycle hook's AWS calls under errors: bounded retries with backoff for throttling and 5xx, none
for a deterministic error, the status report retried too, and every retry within the invocation's time budget."""
from __future__ import annotations

import json

import pytest

import hc_aws
from health_check_testkit import World, fail_operation, handler_module, only_decision, sent_status

handler = handler_module.handler


@pytest.mark.parametrize("max_attempts", [1, 3, 5])
def test_throttling_fails_after_bounded_retries(world: World, codedeploy_gap, monkeypatch, sleeps, aws,
                                                max_attempts, capsys) -> None:
    monkeypatch.setenv("MAX_ATTEMPTS", str(max_attempts))
    attempts = fail_operation("elastic-load-balancing-v2.DescribeTargetHealth", "ThrottlingException")

    result = handler(world.hook_event(), None)

    assert len(attempts) == max_attempts
    assert len(sleeps) == max_attempts - 1
    assert all(0 < d <= hc_aws.BACKOFF_CAP_SECONDS for d in sleeps)
    assert result["verdict"] == "Failed" and "ThrottlingException" in result["reason"]
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(1 for line in lines if line["type"] == "retry") == max_attempts - 1
    # Other operations were unaffected: the injection is narrow.
    assert aws.count("codedeploy:GetDeployment") == 1


def test_transient_throttling_recovers(world: World, codedeploy_gap) -> None:
    attempts = fail_operation("cloudwatch.DescribeAlarms", "Throttling", times=2)
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    assert len(attempts) == 3


def test_server_error_is_retried(world: World, codedeploy_gap) -> None:
    attempts = fail_operation("ecs.DescribeServices", "ServerException", status=500)
    assert handler(world.hook_event(), None)["verdict"] == "Failed"
    assert len(attempts) == 3


def test_access_denied_is_not_retried(world: World, codedeploy_gap, sleeps) -> None:
    attempts = fail_operation("codedeploy.GetDeploymentGroup", "AccessDeniedException")
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "AccessDeniedException" in result["reason"]
    assert len(attempts) == 1 and sleeps == []


def test_failed_report_is_retried_then_logged(world: World, codedeploy_gap, capsys) -> None:
    attempts = fail_operation("codedeploy.PutLifecycleEventHookExecutionStatus", "ThrottlingException")
    result = handler(world.hook_event(), None)
    assert len(attempts) == 3 and result["reported"] is False
    assert "ThrottlingException" in only_decision(capsys)["report_error"]


def test_time_budget_bounds_retries(world: World, codedeploy_gap, monkeypatch, sleeps) -> None:
    clock = [1000.0]
    monkeypatch.setattr(hc_aws, "monotonic", lambda: clock[0])
    monkeypatch.setattr(hc_aws, "sleep", lambda s: (sleeps.append(s), clock.__setitem__(0, clock[0] + s)))
    monkeypatch.setenv("MAX_ATTEMPTS", "10")
    attempts = fail_operation("cloudwatch.DescribeAlarms", "ThrottlingException")

    class Context:
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 18_000  # 18 s left -> 13 s budget, 3 s of it for the checks

    result = handler(world.hook_event(), Context())

    assert result["verdict"] == "Failed" and 1 < len(attempts) < 10
    assert sum(sleeps) < 3.0
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]  # reserve kept for the report
