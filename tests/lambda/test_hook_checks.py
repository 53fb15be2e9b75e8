"""The lifecycle hook's checks against moto state: the group's alarms, the health of the replacement
targets, and how the replacement target group is found (this deployment's task set, else a fallback)."""
from __future__ import annotations

import pytest

from health_check_testkit import (ALARM_KINDS, BLUE_IPS, GREEN_IPS, GROUP, World, aws_client, handler_module,
                                  only_decision, sent_status)

handler = handler_module.handler


def test_healthy_deployment_reports_succeeded(world: World, codedeploy_gap, capsys) -> None:
    result = handler(world.hook_event(), None)

    assert sent_status(codedeploy_gap) == [
        {"deploymentId": world.deployment_id, "lifecycleEventHookExecutionId": world.hook_id, "status": "Succeeded"}]
    assert result["verdict"] == "Succeeded" and result["reported"] is True
    line = only_decision(capsys)
    assert (line["deployment_id"], line["deployment_group"], line["stage"], line["service"]) == (
        world.deployment_id, GROUP, "staging", "api-service")
    assert line["cluster"] == "shop-cluster" and line["ecs_service"] == "shop-staging-api-service"
    assert sorted(a["name"] for a in line["alarms"]) == sorted(f"{GROUP}-{k}" for k in ALARM_KINDS)
    assert {a["state"] for a in line["alarms"]} == {"OK"}
    # Only the replacement (green) group, found through the ACTIVE task set, is judged.
    assert line["replacement_source"] == "task_set" and line["replacement_target_groups"] == ["api-stg-green"]
    assert sorted(t["id"] for t in line["targets"]) == sorted(GREEN_IPS)
    assert world.notifications() == []  # humans are not bothered on success


def test_alarm_in_alarm_state_fails_and_notifies(world: World, codedeploy_gap, capsys) -> None:
    world.set_alarm("target-5xx", "ALARM")
    world.set_alarm("healthy-hosts", "INSUFFICIENT_DATA")

    result = handler(world.hook_event(), None)

    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]
    assert result["verdict"] == "Failed" and f"{GROUP}-target-5xx" in result["reason"]
    line = only_decision(capsys)
    states = {a["name"]: a["state"] for a in line["alarms"]}
    assert states[f"{GROUP}-target-5xx"] == "ALARM" and states[f"{GROUP}-healthy-hosts"] == "INSUFFICIENT_DATA"
    [note] = world.notifications()
    assert "health check Failed" in note["Subject"] and f"{GROUP}-target-5xx" in note["Message"]


def test_insufficient_data_alone_is_accepted(world: World, codedeploy_gap) -> None:
    world.set_alarm("healthy-hosts", "INSUFFICIENT_DATA")
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"


def test_no_alarms_for_group_fails(world: World, codedeploy_gap) -> None:
    world.cloudwatch.delete_alarms(AlarmNames=[f"{GROUP}-{k}" for k in ALARM_KINDS])
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "no CloudWatch alarm" in result["reason"]
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]


def test_target_state_patch_overrides_moto(world: World, target_states) -> None:
    target_states[GREEN_IPS[0]] = "unhealthy"
    described = world.elbv2.describe_target_health(TargetGroupArn=world.tg_arns["green"])
    states = {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in described["TargetHealthDescriptions"]}
    assert states == {GREEN_IPS[0]: "unhealthy", GREEN_IPS[1]: "healthy"}


@pytest.mark.parametrize("state", ["unhealthy", "initial", "unavailable", "unused"])
def test_unhealthy_replacement_target_fails(world: World, codedeploy_gap, target_states, state, capsys) -> None:
    target_states[GREEN_IPS[1]] = state

    result = handler(world.hook_event(), None)

    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]
    assert f"api-stg-green/{GREEN_IPS[1]}={state}" in result["reason"]
    seen = {t["id"]: t["state"] for t in only_decision(capsys)["targets"]}
    assert seen == {GREEN_IPS[0]: "healthy", GREEN_IPS[1]: state}


def test_stopped_instance_target_fails_without_patch(world: World, codedeploy_gap) -> None:
    # The one non-healthy state moto produces natively: a registered EC2 instance that stopped.
    ec2 = aws_client("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    world.elbv2.register_targets(TargetGroupArn=world.tg_arns["green"], Targets=[{"Id": instance}])
    ec2.stop_instances(InstanceIds=[instance])

    result = handler(world.hook_event(), None)

    assert result["verdict"] == "Failed" and f"{instance}=unused" in result["reason"]


def test_draining_target_is_ignored(world: World, codedeploy_gap, target_states) -> None:
    target_states[GREEN_IPS[0]] = "draining"
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"


def test_all_replacement_targets_draining_fails(world: World, codedeploy_gap, target_states) -> None:
    target_states.update({ip: "draining" for ip in GREEN_IPS})
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "without a healthy target" in result["reason"]


def test_replacement_group_without_targets_fails(world: World, codedeploy_gap) -> None:
    world.elbv2.deregister_targets(TargetGroupArn=world.tg_arns["green"], Targets=[{"Id": ip} for ip in GREEN_IPS])
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "api-stg-green" in result["reason"]


def test_unhealthy_original_target_does_not_block(world: World, codedeploy_gap, target_states) -> None:
    # Blue still serves production; its health is not what this hook decides on.
    target_states[BLUE_IPS[0]] = "unhealthy"
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"


def _drop_replacement_task_set() -> None:
    ecs = aws_client("ecs")
    task_sets = ecs.describe_task_sets(cluster="shop-cluster", service="shop-staging-api-service")["taskSets"]
    [green] = [ts for ts in task_sets if ts["status"] == "ACTIVE"]
    ecs.delete_task_set(cluster="shop-cluster", service="shop-staging-api-service", taskSet=green["taskSetArn"])


def test_task_set_of_this_deployment_wins_over_other_active_one(world: World, codedeploy_gap, target_states,
                                                                 capsys) -> None:
    # A second ACTIVE task set (left over, pointing at blue) beside the one CodeDeploy created for
    # this deployment: the externalId decides, so the unhealthy blue target is not judged.
    ecs = aws_client("ecs")
    lbs = [{"targetGroupArn": world.tg_arns["green"], "containerName": "api", "containerPort": 8080}]
    _drop_replacement_task_set()
    ecs.create_task_set(cluster="shop-cluster", service="shop-staging-api-service", launchType="FARGATE",
                        taskDefinition="shop-staging-api-service", externalId=world.deployment_id, loadBalancers=lbs)
    ecs.create_task_set(cluster="shop-cluster", service="shop-staging-api-service", launchType="FARGATE",
                        taskDefinition="shop-staging-api-service", externalId="stale",
                        loadBalancers=[dict(lbs[0], targetGroupArn=world.tg_arns["blue"])])
    target_states[BLUE_IPS[0]] = "unhealthy"

    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    assert only_decision(capsys)["replacement_target_groups"] == ["api-stg-green"]


def test_several_active_task_sets_fall_back(world: World, codedeploy_gap, target_states, capsys) -> None:
    aws_client("ecs").create_task_set(
        cluster="shop-cluster", service="shop-staging-api-service", launchType="FARGATE",
        taskDefinition="shop-staging-api-service",
        loadBalancers=[{"targetGroupArn": world.tg_arns["blue"], "containerName": "api", "containerPort": 8080}])
    target_states[BLUE_IPS[0]] = "unhealthy"

    assert handler(world.hook_event(), None)["verdict"] == "Failed"
    line = only_decision(capsys)
    assert line["replacement_source"] == "fallback" and "2 ACTIVE task sets" in line["replacement_note"]


def test_fallback_checks_every_group_with_targets(world: World, codedeploy_gap, target_states, capsys) -> None:
    _drop_replacement_task_set()
    target_states[BLUE_IPS[0]] = "unhealthy"

    result = handler(world.hook_event(), None)

    assert result["verdict"] == "Failed" and f"api-stg-blue/{BLUE_IPS[0]}=unhealthy" in result["reason"]
    line = only_decision(capsys)
    assert line["replacement_source"] == "fallback" and "0 ACTIVE task sets" in line["replacement_note"]
    assert len(line["targets"]) == 4


def test_fallback_passes_when_all_registered_targets_healthy(world: World, codedeploy_gap) -> None:
    _drop_replacement_task_set()
    world.elbv2.deregister_targets(TargetGroupArn=world.tg_arns["blue"], Targets=[{"Id": ip} for ip in BLUE_IPS])
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
