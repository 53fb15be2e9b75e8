"""The decision records: every judged target with its port and state, the task set it came from, the
reason on success, and what a notification says or why it could not be sent."""
from __future__ import annotations

import boto3

from health_check_testkit import (APP, GREEN_IPS, GROUP, World, fail_operation, handler_module, only_decision,
                                  sns_event)

handler = handler_module.handler


def test_the_record_names_the_replacement_task_set_and_each_target(world: World, codedeploy_gap, capsys) -> None:
    handler(world.hook_event(), None)
    rec = only_decision(capsys)
    ecs = boto3.client("ecs")
    [service] = ecs.describe_services(cluster=rec["cluster"], services=[rec["ecs_service"]])["services"]
    active = [ts["id"] for ts in service.get("taskSets", []) if ts["status"] == "ACTIVE"]
    assert rec["replacement_task_set"] in active and "replacement_note" not in rec
    assert sorted(rec["targets"], key=lambda t: t["id"]) == [
        {"target_group": "api-stg-green", "id": ip, "port": 8080, "state": "healthy", "reason": None}
        for ip in sorted(GREEN_IPS)]


def test_success_reason_and_deployment_fields(world: World, codedeploy_gap, capsys) -> None:
    result = handler(world.hook_event(), None)
    assert result["reason"] == "no alarm in ALARM, replacement targets healthy"
    rec = only_decision(capsys)
    status = boto3.client("codedeploy").get_deployment(deploymentId=world.deployment_id)["deploymentInfo"]["status"]
    assert (rec["application"], rec["deployment_status"]) == (APP, status)


def test_notification_subject_is_printable_ascii(world: World, codedeploy_gap) -> None:
    fail_operation("codedeploy.ListDeploymentGroups", "AccessDeniedException")
    handler(sns_event(f"{GROUP}-lä\x7ftenz"), None)
    assert world.notifications()[0]["Subject"] == f"[shop] Error: {GROUP}-l??tenz"


def test_a_failed_notification_is_recorded(world: World, codedeploy_gap, capsys) -> None:
    fail_operation("codedeploy.ListDeploymentGroups", "AccessDeniedException")
    fail_operation("sns.Publish", "AccessDeniedException")
    handler(sns_event(f"{GROUP}-target-5xx"), None)
    rec = only_decision(capsys)
    assert rec["notified"] is False and "AccessDeniedException" in rec["notify_error"]
