"""The decision records: every judged target with its port and state, the task set it came from, the
reason on success, and what a notification says or why it could not be sent."""
from __future__ import annotations

import boto3

from health_check_testkit import (ACCOUNT, APP, CLUSTER, GREEN_IPS, GROUP, SERVICE, World, fail_operation,
                                  handler_module, only_decision, sns_event)

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


def test_a_draining_task_set_s_task_definition_is_not_recorded(world: World, codedeploy_gap, capsys) -> None:
    """Only the task definitions of the PRIMARY and ACTIVE task sets (the release and the one it replaces) are
    the deployment's; a DRAINING one (an earlier release's, being stopped) is not. moto deletes a task set at
    once, so the third one is set DRAINING in its state, as ECS reports it while its tasks stop."""
    from moto.ecs.models import ecs_backends

    ecs = boto3.client("ecs")
    original = ecs.describe_task_definition(taskDefinition=SERVICE)["taskDefinition"]
    revision = {k: original[k] for k in ("family", "networkMode", "requiresCompatibilities", "cpu", "memory",
                                         "containerDefinitions")}
    earlier = ecs.register_task_definition(**revision)["taskDefinition"]["taskDefinitionArn"]
    draining = ecs.create_task_set(cluster=CLUSTER, service=SERVICE, taskDefinition=earlier,
                                   launchType="FARGATE")["taskSet"]["taskSetArn"]
    backend = ecs_backends[ACCOUNT][boto3.session.Session().region_name]
    [task_set] = [ts for svc in backend.services.values() for ts in svc.task_sets if ts.task_set_arn == draining]
    task_set.status = "DRAINING"

    handler(world.hook_event(), None)
    rec = only_decision(capsys)
    assert earlier not in rec["task_definitions"] and rec["task_definitions"] == [original["taskDefinitionArn"]]
