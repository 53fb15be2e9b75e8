"""Alarm-driven rollback: which deployments count as in progress, and the exact reason recorded and told to
humans for each outcome (nothing to do, not the group's rollback alarm, nothing in progress, a lookup
that failed)."""
from __future__ import annotations

import pytest
from moto.codedeploy.models import codedeploy_backends

from health_check_testkit import (ACCOUNT, APP, GROUP, REGION, World, create_deployment, create_ecs_group,
                                  fail_operation, handler_module, only_decision, sns_event)

handler = handler_module.handler


def _set_status(deployment_id: str, status: str) -> None:
    # moto runs no deployment: each stays Created unless set at moto's model level.
    codedeploy_backends[ACCOUNT][REGION].deployments[deployment_id].status = status


def test_each_in_progress_status_is_stopped_and_no_finished_deployment(world: World, codedeploy_gap) -> None:
    in_progress = {"Created": world.deployment_id}
    for status in ("Queued", "Ready", "InProgress"):
        in_progress[status] = create_deployment(world.codedeploy)
        _set_status(in_progress[status], status)
    for status in ("Baking", "Succeeded", "Failed", "Stopped"):
        _set_status(create_deployment(world.codedeploy), status)

    handler(sns_event(f"{GROUP}-target-5xx"), None)

    assert sorted(s["deploymentId"] for s in codedeploy_gap["stop_deployment"]) == sorted(in_progress.values())


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_a_transition_out_of_alarm_is_recorded_as_nothing_to_do(world: World, codedeploy_gap, capsys, state) -> None:
    handler(sns_event(f"{GROUP}-target-5xx", state), None)
    rec = only_decision(capsys)
    assert (rec["verdict"], rec["reason"]) == ("Ignored", f"alarm state {state}: nothing to do")
    assert rec["application"] == APP and rec["alarms"] == [{"name": f"{GROUP}-target-5xx", "state": state}]


def test_an_alarm_that_is_not_a_rollback_alarm_is_notify_only(world: World, codedeploy_gap, capsys) -> None:
    handler(sns_event(f"{GROUP}-elb-5xx"), None)
    rec = only_decision(capsys)
    assert (rec["verdict"], rec["reason"]) == ("Ignored", f"alarm {GROUP}-elb-5xx is not a rollback alarm of {GROUP}: "
                                                          "notify only")
    assert world.notifications() == []


def test_a_group_whose_alarm_configuration_is_disabled_stops_nothing(world: World, codedeploy_gap, capsys) -> None:
    world.codedeploy.update_deployment_group(applicationName=APP, currentDeploymentGroupName=GROUP,
                                             alarmConfiguration={"enabled": False,
                                                                 "alarms": [{"name": f"{GROUP}-target-5xx"}]})
    handler(sns_event(f"{GROUP}-target-5xx"), None)
    assert codedeploy_gap["stop_deployment"] == []
    assert only_decision(capsys)["reason"] == f"alarm {GROUP}-target-5xx is not a rollback alarm of {GROUP}: notify only"


def test_nothing_in_progress_is_recorded_and_not_told(world: World, codedeploy_gap, capsys) -> None:
    _set_status(world.deployment_id, "Succeeded")
    handler(sns_event(f"{GROUP}-target-5xx"), None)
    rec = only_decision(capsys)
    assert (rec["verdict"], rec["reason"]) == ("NoDeploymentInProgress", f"no deployment of {GROUP} in progress")
    assert (rec["deployments"], rec["deployment_id"]) == ([], None)
    assert world.notifications() == []


def test_a_group_outside_the_naming_contract_is_still_stopped(world: World, codedeploy_gap, capsys) -> None:
    create_ecs_group(world.codedeploy, "shop-qa-api")
    deployment = create_deployment(world.codedeploy, "shop-qa-api")
    handler(sns_event("shop-qa-api-target-5xx"), None)
    assert [s["deploymentId"] for s in codedeploy_gap["stop_deployment"]] == [deployment]
    rec = only_decision(capsys)
    assert (rec["deployment_group"], rec["stage"], rec["service"]) == ("shop-qa-api", None, None)


def test_a_failed_lookup_is_told_with_every_line(world: World, codedeploy_gap, capsys) -> None:
    fail_operation("codedeploy.ListDeployments", "AccessDeniedException")
    handler(sns_event(f"{GROUP}-target-5xx"), None)
    rec = only_decision(capsys)
    reason = ("could not look up deployments to stop: codedeploy.list_deployments failed after 1 attempt(s): "
              "AccessDeniedException: injected AccessDeniedException")
    assert (rec["verdict"], rec["reason"]) == ("Error", reason)
    [note] = world.notifications()
    assert note["Subject"] == f"[shop] Error: {GROUP}"
    assert note["Message"].splitlines() == [f"Alarm: {GROUP}-target-5xx -> ALARM", "Reason: Threshold Crossed",
                                            f"Application: {APP}", f"Deployment group: {GROUP}",
                                            f"Outcome: Error - {reason}"]


def test_a_stop_that_failed_is_told_with_its_error(world: World, codedeploy_gap, capsys) -> None:
    fail_operation("codedeploy.StopDeployment", "AccessDeniedException")
    handler(sns_event(f"{GROUP}-target-5xx"), None)
    error = "codedeploy.stop_deployment failed after 1 attempt(s): AccessDeniedException: injected AccessDeniedException"
    rec = only_decision(capsys)
    assert (rec["stopped"], rec["stop_errors"]) == ([], [{"deployment_id": world.deployment_id, "error": error}])
    [note] = world.notifications()
    assert note["Subject"] == f"[shop] StopFailed: {GROUP}"
    assert note["Message"].splitlines()[4:] == ["Outcome: StopFailed - 1 of 1 stop(s) failed",
                                                f"NOT stopped, act manually: {world.deployment_id}: {error}"]


def test_a_subject_is_cut_at_100_characters(world: World, codedeploy_gap) -> None:
    fail_operation("codedeploy.ListDeploymentGroups", "AccessDeniedException")
    name = f"{GROUP}-" + "x" * 120
    handler(sns_event(name), None)
    [note] = world.notifications()
    assert note["Subject"] == f"[shop] Error: {name}"[:100]
    assert note["Message"].splitlines()[3] == "Deployment group: None"
