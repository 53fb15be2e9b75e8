"""Alarm-driven rollback (the Lambda subscribed to the alarms' topic), the CodeDeploy moto gap it
needs patched, and the function's IAM actions against what it really calls."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from health_check_testkit import (
    GREEN_IPS,
    GROUP,
    World,
    aws_client,
    create_deployment,
    create_ecs_group,
    decisions,
    fail_operation,
    handler_module,
    only_decision,
    sns_event,
    PUT,
)

handler = handler_module.handler


# --- alarm-driven rollback -------------------------------------------------------------------


def test_alarm_stops_deployment_with_rollback_and_reports(world: World, codedeploy_gap, capsys) -> None:
    # A group whose name is a shorter prefix of the alarm name must not be picked.
    create_ecs_group(world.codedeploy, "shop-staging-api")
    decoy = create_deployment(world.codedeploy, "shop-staging-api")

    result = handler(sns_event(f"{GROUP}-target-5xx"), None)

    assert codedeploy_gap["stop_deployment"] == [{"deploymentId": world.deployment_id, "autoRollbackEnabled": True}]
    assert world.deployment_status() == "Stopped"
    assert world.deployment_status(decoy) == "Created"
    assert [r["verdict"] for r in result["results"]] == ["RollbackStarted"]
    [note] = world.notifications()
    assert note["Subject"] == f"[shop] RollbackStarted: {GROUP}"
    assert world.deployment_id in note["Message"] and f"{GROUP}-target-5xx" in note["Message"]
    line = only_decision(capsys)
    assert (line["deployment_group"], line["stage"], line["service"]) == (GROUP, "staging", "api-service")
    assert line["alarms"] == [{"name": f"{GROUP}-target-5xx", "state": "ALARM"}]


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_non_alarm_state_does_nothing(world: World, codedeploy_gap, aws, state) -> None:
    result = handler(sns_event(f"{GROUP}-target-5xx", state), None)
    assert [r["verdict"] for r in result["results"]] == ["Ignored"]
    assert codedeploy_gap["stop_deployment"] == [] and world.notifications() == []
    assert aws.calls == []  # decided from the message alone
    assert world.deployment_status() == "Created"


def test_alarm_without_deployment_in_progress(world: World, codedeploy_gap) -> None:
    create_ecs_group(world.codedeploy, "shop-production-api-service")
    result = handler(sns_event("shop-production-api-service-target-5xx"), None)
    assert [r["verdict"] for r in result["results"]] == ["NoDeploymentInProgress"]
    assert codedeploy_gap["stop_deployment"] == [] and world.notifications() == []


@pytest.mark.parametrize("alarm_name", ["billing-budget-exceeded", f"{GROUP}x-target-5xx", GROUP])
def test_alarm_of_unknown_group_is_ignored(world: World, codedeploy_gap, alarm_name) -> None:
    # A group owns only alarms named "<group>-...": "<group>x-..." belongs to another group.
    result = handler(sns_event(alarm_name), None)
    assert [r["verdict"] for r in result["results"]] == ["Ignored"]
    assert world.deployment_status() == "Created"


# --- alarm scoping: one failing service never rolls back another (issue 14, hole 2) ------------


def test_alarm_of_one_service_stops_only_that_services_deployment(world: World, codedeploy_gap) -> None:
    # Staging deploys every service at once: auth-service's alarm must leave api-service's deployment alone.
    other = "shop-staging-auth-service"
    create_ecs_group(world.codedeploy, other, service=other)
    others = create_deployment(world.codedeploy, other)

    result = handler(sns_event(f"{other}-target-5xx"), None)

    assert [r["verdict"] for r in result["results"]] == ["RollbackStarted"]
    assert codedeploy_gap["stop_deployment"] == [{"deploymentId": others, "autoRollbackEnabled": True}]
    assert world.deployment_status(others) == "Stopped"
    assert world.deployment_status() == "Created"


@pytest.mark.parametrize("alarm_name", [
    "shop-alb-staging-elb-5xx",  # the stage's ALB-wide alarm: notify only
    f"{GROUP}-elb-5xx",  # named like the group's, but not one of its rollback alarms
])
def test_alarm_that_is_not_a_rollback_alarm_of_the_group_stops_nothing(world: World, codedeploy_gap,
                                                                       alarm_name) -> None:
    result = handler(sns_event(alarm_name), None)
    assert [r["verdict"] for r in result["results"]] == ["Ignored"]
    assert codedeploy_gap["stop_deployment"] == [] and world.notifications() == []
    assert world.deployment_status() == "Created"


def test_failed_stop_is_reported_to_humans(world: World, codedeploy_gap) -> None:
    attempts = fail_operation("codedeploy.StopDeployment", "ThrottlingException")
    result = handler(sns_event(f"{GROUP}-running-tasks"), None)
    assert [r["verdict"] for r in result["results"]] == ["StopFailed"] and len(attempts) == 3
    [note] = world.notifications()
    assert "NOT stopped" in note["Message"] and world.deployment_id in note["Message"]


def test_lookup_error_is_reported_to_humans(world: World, codedeploy_gap) -> None:
    fail_operation("codedeploy.ListDeployments", "AccessDeniedException")
    result = handler(sns_event(f"{GROUP}-running-tasks"), None)
    assert [r["verdict"] for r in result["results"]] == ["Error"]
    assert "AccessDeniedException" in world.notifications()[0]["Message"]


def test_malformed_sns_message_does_not_raise(world: World, codedeploy_gap, capsys) -> None:
    event = {"Records": [{"Sns": {"Message": "not json"}}, {"Sns": {"Message": json.dumps({"AlarmName": 1})}},
                         {"nope": True}, None]}
    result = handler(event, None)
    assert [r["verdict"] for r in result["results"]] == ["Failed"] * 4
    assert codedeploy_gap["stop_deployment"] == [] and len(decisions(capsys)) == 4


# --- moto gap and IAM ------------------------------------------------------------------------


def test_moto_gap_exists() -> None:
    # Without the codedeploy_gap fixture moto cannot serve these two operations; when this test
    # fails, moto has closed the gap and the fixture should go.
    client = aws_client("codedeploy")
    with pytest.raises(NotImplementedError):
        client.put_lifecycle_event_hook_execution_status(
            deploymentId="d-X", lifecycleEventHookExecutionId="h", status="Succeeded")
    with pytest.raises(NotImplementedError):
        client.stop_deployment(deploymentId="d-X", autoRollbackEnabled=True)


def test_moto_gap_patch_serves_and_records(world: World, codedeploy_gap) -> None:
    """The emulator's own patch (one fake for these tests and the emulator) answers as AWS does."""
    client = world.codedeploy

    def code(**params) -> str:
        with pytest.raises(ClientError) as err:
            client.put_lifecycle_event_hook_execution_status(**params)
        return err.value.response["Error"]["Code"]

    assert code(deploymentId=world.deployment_id, lifecycleEventHookExecutionId="h-1",
                status="Failed") == "InvalidLifecycleEventHookExecutionIdException"  # never issued
    assert code(deploymentId="d-NOPE", lifecycleEventHookExecutionId=world.hook_id,
                status="Failed") == "DeploymentDoesNotExistException"
    response = client.put_lifecycle_event_hook_execution_status(
        deploymentId=world.deployment_id, lifecycleEventHookExecutionId=world.hook_id, status="Succeeded")
    assert response["lifecycleEventHookExecutionId"] == world.hook_id
    assert codedeploy_gap[PUT][-1] == {"deploymentId": world.deployment_id,
                                       "lifecycleEventHookExecutionId": world.hook_id, "status": "Succeeded"}
    assert code(deploymentId=world.deployment_id, lifecycleEventHookExecutionId=world.hook_id,
                status="Failed") == "LifecycleEventAlreadyCompletedException"
    assert client.stop_deployment(deploymentId=world.deployment_id, autoRollbackEnabled=True)["status"] == "Succeeded"
    assert world.deployment_status() == "Stopped"


def test_iam_actions_equal_operations_invoked(world: World, codedeploy_gap, target_states, aws, monkeypatch,
                                             http_server) -> None:
    from health_check_testkit import ALB_SUFFIX, PROBE_FUNCTION, alb_node, serve_probe_function

    base, _ = http_server
    alb_node("127.0.0.1")
    serve_probe_function()
    monkeypatch.setenv("PROBE_FUNCTION", PROBE_FUNCTION)
    monkeypatch.setenv("TEST_LISTENERS", json.dumps({GROUP: {"alb": ALB_SUFFIX, "port": int(base.rsplit(":", 1)[1]),
                                                              "scheme": "http"}}))
    monkeypatch.setenv("SMOKE_CHECKS", json.dumps({GROUP: [{"path": "/health", "status": 200}]}))
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"  # success path, through the probe
    target_states[GREEN_IPS[0]] = "unhealthy"
    handler(world.hook_event(), None)  # failure path, notifies
    handler(sns_event(f"{GROUP}-healthy-hosts"), None)  # stop + report

    assert aws.actions == handler_module.IAM_ACTIONS
    assert all(":" in a and a.split(":")[0] in {"codedeploy", "cloudwatch", "elasticloadbalancing", "ecs", "ecr", "ec2",
                                                  "lambda", "sns"}
               for a in handler_module.IAM_ACTIONS)
