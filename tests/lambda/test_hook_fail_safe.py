"""Whatever the hook cannot vouch for ends as a Failed verdict, never an exception: an unknown deployment, one
of another application or outside the naming convention, a malformed event, invalid configuration (and
the defaults a minimal one gets), a bug in the checks."""
from __future__ import annotations

from typing import Any

import pytest

import hc_settings
from health_check_testkit import (ACCOUNT, APP, GROUP, HOOK_ID, REGION, World, create_deployment, create_ecs_group,
                                  handler_module, only_decision, sent_status)

handler = handler_module.handler


def test_unknown_deployment_fails_without_raising(world: World, codedeploy_gap, capsys) -> None:
    result = handler({"DeploymentId": "d-DOESNOTEXIST", "LifecycleEventHookExecutionId": HOOK_ID}, None)

    assert result["verdict"] == "Failed" and "DeploymentDoesNotExistException" in result["reason"]
    # The Failed status was sent; CodeDeploy (like our moto patch) rejects it for an unknown deployment.
    assert sent_status(codedeploy_gap) == [
        {"deploymentId": "d-DOESNOTEXIST", "lifecycleEventHookExecutionId": HOOK_ID, "status": "Failed"}]
    assert result["reported"] is False
    assert only_decision(capsys)["deployment_id"] == "d-DOESNOTEXIST"


def test_deployment_of_other_application_fails(world: World, codedeploy_gap) -> None:
    world.codedeploy.create_application(applicationName="other-ecs", computePlatform="ECS")
    create_ecs_group(world.codedeploy, GROUP, app="other-ecs")
    other = create_deployment(world.codedeploy, app="other-ecs")

    result = handler(world.hook_event(other), None)

    assert result["verdict"] == "Failed" and "'other-ecs'" in result["reason"]
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]


def test_group_outside_naming_convention_fails(world: World, codedeploy_gap) -> None:
    create_ecs_group(world.codedeploy, "shop-qa-api-service")
    result = handler(world.hook_event(create_deployment(world.codedeploy, "shop-qa-api-service")), None)
    assert result["verdict"] == "Failed" and "<stage>" in result["reason"]


@pytest.mark.parametrize("event", [
    None,
    "DeploymentId",
    [],
    {},
    {"foo": "bar"},
    {"DeploymentId": 12345, "LifecycleEventHookExecutionId": HOOK_ID},
    {"DeploymentId": "d-ABC", "LifecycleEventHookExecutionId": "  "},
    {"DeploymentId": "d-ABC"},
    {"Records": "not-a-list"},
])
def test_malformed_event_fails_without_raising(world: World, codedeploy_gap, event, capsys) -> None:
    result = handler(event, None)
    assert result["verdict"] == "Failed"
    assert sent_status(codedeploy_gap) == []  # without both ids there is nothing to report to
    assert only_decision(capsys)["verdict"] == "Failed"


@pytest.mark.parametrize("name,value", [
    ("MAX_ATTEMPTS", "three"),
    ("MAX_ATTEMPTS", "0"),
    ("MAX_ATTEMPTS", "11"),
    ("PROBE_TIMEOUT_SECONDS", "nan"),
    ("PROBE_TIMEOUT_SECONDS", "120"),
    ("TEST_ENDPOINTS", "[1, 2]"),
    ("TEST_ENDPOINTS", "{not json"),
    ("TEST_ENDPOINTS", '{"shop-staging-api-service": "file:///etc/passwd"}'),
    ("SMOKE_CHECKS", "{not json"),
    ("SMOKE_CHECKS", '{"shop-staging-api-service": [{"path": "health", "status": 200}]}'),
    ("SMOKE_CHECKS", '{"shop-staging-api-service": [{"path": "/health", "status": 999}]}'),
    ("SMOKE_CHECKS", '{"shop-staging-api-service": [{"path": "/health", "status": 200, "body": "("}]}'),
    ("NOTIFICATION_TOPIC_ARN", "my-topic"),
    ("CODEDEPLOY_APPLICATION", ""),
    ("PROJECT_NAME", "Shop Project"),
])
def test_bad_configuration_reports_failed(world: World, codedeploy_gap, monkeypatch, name, value) -> None:
    monkeypatch.setenv(name, value)
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "invalid configuration" in result["reason"] and name in result["reason"]
    assert sent_status(codedeploy_gap) == [
        {"deploymentId": world.deployment_id, "lifecycleEventHookExecutionId": world.hook_id, "status": "Failed"}]


def test_settings_defaults() -> None:
    cfg = hc_settings.load({"CODEDEPLOY_APPLICATION": APP, "PROJECT_NAME": "shop",
                            "NOTIFICATION_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"})
    assert (cfg.max_attempts, cfg.probe_timeout, dict(cfg.test_endpoints)) == (3, 5.0, {})


def test_unexpected_exception_still_reports_failed(world: World, codedeploy_gap, monkeypatch) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(handler_module.hc_verify, "_check_targets", boom)
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "RuntimeError" in result["reason"]
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]
