"""Alarm-driven rollback: what the function records and tells humans, line by line, for several deployments,
a long alarm reason, a partial stop failure and a message that is not an alarm."""
from __future__ import annotations

import json

import pytest

import hc_rollback  # noqa: E402  (tests/lambda/conftest.py puts the function folder on sys.path)
from health_check_testkit import (APP, GROUP, World, create_deployment, fail_operation, handler_module, only_decision,
                                  sns_event)

handler = handler_module.handler


def _alarm_event(reason: str) -> dict:
    event = sns_event(f"{GROUP}-target-5xx")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message["NewStateReason"] = reason
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def test_several_deployments_stopped_are_each_recorded_and_reported(world: World, codedeploy_gap, capsys) -> None:
    second = create_deployment(world.codedeploy)
    handler(_alarm_event("x" * 600), None)
    rec = only_decision(capsys)
    ids = sorted([world.deployment_id, second])
    assert sorted(rec["deployments"]) == ids and rec["deployment_id"] is None  # no single deployment to name
    assert rec["application"] == APP and rec["alarms"] == [{"name": f"{GROUP}-target-5xx", "state": "ALARM"}]
    assert sorted(s["deployment_id"] for s in rec["stopped"]) == ids
    # as the emulator's StopDeployment (cicd/emulator/moto_patches/codedeploy.py) answers, recorded per deployment
    assert {(s["status"], s["message"]) for s in rec["stopped"]} == {("Succeeded", "Deployment stopped")}
    assert rec["reason"] == f"alarm {GROUP}-target-5xx in ALARM: stopped 2 deployment(s) with rollback"
    assert rec["notified"] is True and "notify_error" not in rec
    [note] = world.notifications()
    lines = note["Message"].splitlines()
    assert lines[:5] == [f"Alarm: {GROUP}-target-5xx -> ALARM", "Reason: " + "x" * 500, f"Application: {APP}",
                         f"Deployment group: {GROUP}", f"Outcome: RollbackStarted - {rec['reason']}"]
    assert sorted(lines[5:]) == [f"Stopped (rollback requested): {d}" for d in ids]


def test_one_deployment_is_named_and_a_missing_reason_is_blank(world: World, codedeploy_gap, capsys) -> None:
    event = sns_event(f"{GROUP}-target-5xx")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    del message["NewStateReason"]
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    handler(event, None)
    rec = only_decision(capsys)
    assert rec["deployment_id"] == world.deployment_id and rec["deployments"] == [world.deployment_id]
    assert world.notifications()[0]["Message"].splitlines()[1] == "Reason: "


def test_a_partial_stop_failure_counts_the_failures(world: World, codedeploy_gap, capsys) -> None:
    create_deployment(world.codedeploy)
    fail_operation("codedeploy.StopDeployment", "AccessDeniedException", times=1)
    handler(sns_event(f"{GROUP}-target-5xx"), None)
    rec = only_decision(capsys)
    assert rec["verdict"] == "StopFailed" and rec["reason"] == "1 of 2 stop(s) failed"
    assert len(rec["stopped"]) == 1 and len(rec["stop_errors"]) == 1
    lines = world.notifications()[0]["Message"].splitlines()
    assert [line.split(":")[0] for line in lines[5:]] == ["Stopped (rollback requested)", "NOT stopped, act manually"]


@pytest.mark.parametrize("message, problem", [
    (None, "Sns.Message is not a string"),
    ("[1]", "Sns.Message is not a JSON object"),
    (json.dumps({"AlarmName": "a"}), "Sns.Message has no NewStateValue"),
    (json.dumps({"AlarmName": "", "NewStateValue": "ALARM"}), "Sns.Message has no AlarmName"),
])
def test_a_message_that_is_not_an_alarm_is_named(message, problem) -> None:
    with pytest.raises(ValueError) as err:
        hc_rollback.parse_alarm(message)
    assert str(err.value) == problem
