"""The hook's verdict for each state of the deployment it does not accept, with the exact one-line reason
CodeDeploy's caller and the humans get, and what the decision record says of the replacement it judged."""
from __future__ import annotations

import json

import pytest

from health_check_testkit import (ALARM_KINDS, APP, BLUE_IPS, CLUSTER, GREEN_IPS, GROUP, SERVICE, World, aws_client,
                                  create_deployment, create_ecs_group, handler_module, only_decision)

handler = handler_module.handler
LB = {"containerName": "api", "containerPort": 8080}


def _verdict(world: World, deployment_id: str = "") -> tuple:
    result = handler(world.hook_event(deployment_id), None)
    return result["verdict"], result["reason"]


def test_a_deployment_of_another_application(world: World, codedeploy_gap) -> None:
    world.codedeploy.create_application(applicationName="other-ecs", computePlatform="ECS")
    create_ecs_group(world.codedeploy, GROUP, app="other-ecs")
    other = create_deployment(world.codedeploy, app="other-ecs")
    assert _verdict(world, other) == ("Failed", f"deployment belongs to application 'other-ecs', not '{APP}'")


def test_a_group_outside_the_naming_contract(world: World, codedeploy_gap, capsys) -> None:
    create_ecs_group(world.codedeploy, "shop-qa-api-service")
    deployment = create_deployment(world.codedeploy, "shop-qa-api-service")
    assert _verdict(world, deployment) == (
        "Failed", "deployment group 'shop-qa-api-service' is not named shop-<stage>-<service>")
    rec = only_decision(capsys)
    assert (rec["application"], rec["deployment_group"], rec["deployment_status"]) == (
        APP, "shop-qa-api-service", "Created")


def test_a_group_without_an_ecs_service(world: World, codedeploy_gap) -> None:
    group = "shop-staging-bare-service"
    world.codedeploy.create_deployment_group(
        applicationName=APP, deploymentGroupName=group, serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"})
    deployment = create_deployment(world.codedeploy, group)
    assert _verdict(world, deployment) == ("Failed", "deployment group has 0 ECS services, expected 1")


@pytest.mark.parametrize("load_balancer_info", [
    {},  # no target group pair
    {"loadBalancerInfo": {"targetGroupPairInfoList": [{"targetGroups": [{"name": "api-stg-green"}]}]}},  # of one
])
def test_a_group_without_a_target_group_pair_of_two(world: World, codedeploy_gap, capsys, load_balancer_info) -> None:
    group = "shop-staging-nolb-service"
    world.codedeploy.create_deployment_group(
        applicationName=APP, deploymentGroupName=group, serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        ecsServices=[{"clusterName": CLUSTER, "serviceName": SERVICE}], **load_balancer_info)
    deployment = create_deployment(world.codedeploy, group)
    assert _verdict(world, deployment) == (
        "Failed", "deployment group needs one ECS service and one target group pair of two groups")
    rec = only_decision(capsys)
    assert (rec["cluster"], rec["ecs_service"], rec["stage"], rec["service"]) == (
        CLUSTER, SERVICE, "staging", "nolb-service")


@pytest.mark.parametrize("ecs_service", [{"clusterName": CLUSTER}, {"serviceName": SERVICE}], ids=["no-service", "no-cluster"])
def test_a_group_whose_ecs_service_lacks_a_name(world: World, codedeploy_gap, ecs_service) -> None:
    # CodeDeploy's ECSService shape requires neither name (botocore's model): the hook refuses either gap.
    group = "shop-staging-half-service"
    world.codedeploy.create_deployment_group(
        applicationName=APP, deploymentGroupName=group, serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        ecsServices=[ecs_service], loadBalancerInfo={"targetGroupPairInfoList": [
            {"targetGroups": [{"name": "api-stg-blue"}, {"name": "api-stg-green"}]}]})
    deployment = create_deployment(world.codedeploy, group)
    assert _verdict(world, deployment) == (
        "Failed", "deployment group needs one ECS service and one target group pair of two groups")


def test_a_group_without_alarms(world: World, codedeploy_gap) -> None:
    world.cloudwatch.delete_alarms(AlarmNames=[f"{GROUP}-{k}" for k in ALARM_KINDS])
    assert _verdict(world) == ("Failed", f"no CloudWatch alarm named {GROUP}-*: the deployment cannot be verified")


def test_every_bad_replacement_target_is_named(world: World, codedeploy_gap, target_states, capsys) -> None:
    target_states.update({GREEN_IPS[0]: "unhealthy", GREEN_IPS[1]: "initial"})
    assert _verdict(world) == ("Failed", f"target(s) not healthy: api-stg-green/{GREEN_IPS[0]}=unhealthy, "
                                         f"api-stg-green/{GREEN_IPS[1]}=initial")
    rec = only_decision(capsys)
    assert sorted(rec["targets"], key=lambda t: t["id"]) == [
        {"target_group": "api-stg-green", "id": GREEN_IPS[0], "port": 8080, "state": "unhealthy",
         "reason": "Target.FailedHealthChecks"},
        {"target_group": "api-stg-green", "id": GREEN_IPS[1], "port": 8080, "state": "initial",
         "reason": "Elb.RegistrationInProgress"}]


def test_a_replacement_group_of_draining_targets_only(world: World, codedeploy_gap, target_states, capsys) -> None:
    target_states.update({ip: "draining" for ip in GREEN_IPS})
    assert _verdict(world) == ("Failed", "replacement target group(s) without a healthy target: api-stg-green")
    assert only_decision(capsys)["replacement_target_groups"] == ["api-stg-green"]


def _second_active_task_set(world: World, color: str = "blue", **extra: str) -> None:
    aws_client("ecs").create_task_set(cluster=CLUSTER, service=SERVICE, taskDefinition=SERVICE, launchType="FARGATE",
                                      loadBalancers=[dict(LB, targetGroupArn=world.tg_arns[color])], **extra)


def test_no_healthy_target_in_the_pair_when_the_replacement_is_unknown(world: World, codedeploy_gap, target_states,
                                                                       capsys) -> None:
    _second_active_task_set(world)
    target_states.update({ip: "draining" for ip in GREEN_IPS + BLUE_IPS})
    assert _verdict(world) == ("Failed", "no healthy target in the target group pair (replacement target group unknown)")
    rec = only_decision(capsys)
    assert (rec["replacement_source"], rec["replacement_note"]) == (
        "fallback", "2 ACTIVE task sets, cannot tell the replacement")
    assert rec["replacement_target_groups"] == [] and len(rec["targets"]) == 4


def test_the_fallback_passes_with_one_healthy_target_in_the_pair(world: World, codedeploy_gap, target_states) -> None:
    _second_active_task_set(world)
    target_states.update({ip: "draining" for ip in GREEN_IPS + BLUE_IPS[1:]})
    assert _verdict(world) == ("Succeeded", "no alarm in ALARM, replacement targets healthy")


def _replace_the_active_task_set(world: World, *arns: str, task_definition: str = SERVICE) -> None:
    ecs = aws_client("ecs")
    [green] = [ts for ts in ecs.describe_task_sets(cluster=CLUSTER, service=SERVICE)["taskSets"]
               if ts["status"] == "ACTIVE"]
    ecs.delete_task_set(cluster=CLUSTER, service=SERVICE, taskSet=green["taskSetArn"])
    ecs.create_task_set(cluster=CLUSTER, service=SERVICE, taskDefinition=task_definition, launchType="FARGATE",
                        externalId=world.deployment_id,
                        loadBalancers=[dict(LB, targetGroupArn=arn) for arn in arns])


def test_a_task_set_outside_the_pair_is_not_taken_for_the_replacement(world: World, codedeploy_gap, capsys) -> None:
    elbv2 = world.elbv2
    vpc = elbv2.describe_target_groups(Names=["api-stg-blue"])["TargetGroups"][0]["VpcId"]
    other = elbv2.create_target_group(Name="api-stg-other", Protocol="HTTP", Port=8080, VpcId=vpc,
                                      TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    _replace_the_active_task_set(world, other)

    assert _verdict(world)[0] == "Succeeded"  # judged on the pair: every registered target is healthy
    rec = only_decision(capsys)
    assert (rec["replacement_source"], rec["replacement_note"]) == (
        "fallback", f"task set target groups {[other]} are not within the deployment group's pair")


def test_an_unknown_ecs_service_leaves_no_image_to_protect(world: World, codedeploy_gap, capsys) -> None:
    group = "shop-staging-gone-service"
    create_ecs_group(world.codedeploy, group, service=group)
    for kind in ALARM_KINDS:
        world.cloudwatch.put_metric_alarm(AlarmName=f"{group}-{kind}", Namespace="AWS/ApplicationELB", MetricName="X",
                                          Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                          ComparisonOperator="GreaterThanThreshold")
    deployment = create_deployment(world.codedeploy, group)
    assert _verdict(world, deployment) == (
        "Failed", "no task set of the service is known: the release's image cannot be protected from expiry")
    rec = only_decision(capsys)
    assert rec["replacement_source"] == "fallback" and rec["replacement_note"].startswith("ECS service not found: [")
    assert group in rec["replacement_note"]


def test_the_task_definitions_of_the_original_and_the_replacement_are_recorded(world: World, codedeploy_gap,
                                                                              capsys) -> None:
    ecs = aws_client("ecs")
    original = ecs.describe_task_definition(taskDefinition=SERVICE)["taskDefinition"]
    revision = {k: original[k] for k in ("family", "networkMode", "requiresCompatibilities", "cpu", "memory",
                                         "containerDefinitions")}
    replacement = ecs.register_task_definition(**revision)["taskDefinition"]["taskDefinitionArn"]
    _replace_the_active_task_set(world, world.tg_arns["green"], task_definition=replacement)

    assert _verdict(world)[0] == "Succeeded"
    assert only_decision(capsys)["task_definitions"] == sorted([original["taskDefinitionArn"], replacement])


def test_a_replacement_task_set_on_both_groups_of_the_pair_is_judged_on_both(world: World, codedeploy_gap,
                                                                             target_states, capsys) -> None:
    _replace_the_active_task_set(world, world.tg_arns["blue"], world.tg_arns["green"])
    target_states.update({ip: "draining" for ip in BLUE_IPS})
    assert _verdict(world) == ("Failed", "replacement target group(s) without a healthy target: api-stg-blue")
    rec = only_decision(capsys)
    assert rec["replacement_source"] == "task_set"
    assert sorted(rec["replacement_target_groups"]) == ["api-stg-blue", "api-stg-green"]


def test_every_replacement_group_without_a_healthy_target_is_named(world: World, codedeploy_gap, target_states) -> None:
    _replace_the_active_task_set(world, world.tg_arns["blue"], world.tg_arns["green"])
    target_states.update({ip: "draining" for ip in BLUE_IPS + GREEN_IPS})
    assert _verdict(world) == (
        "Failed", "replacement target group(s) without a healthy target: api-stg-blue, api-stg-green")


def test_a_probe_that_passes_is_named_in_the_reason(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    base, _ = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/health"}))
    assert _verdict(world) == ("Succeeded", "no alarm in ALARM, replacement targets healthy, HTTP probe OK")


def test_a_probe_that_fails_names_the_url_attempts_and_error(world: World, codedeploy_gap, monkeypatch,
                                                             http_server, capsys) -> None:
    base, _ = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/broken"}))
    assert _verdict(world) == ("Failed", f"HTTP probe of {base}/broken failed after 3 attempt(s): HTTP 500")
    assert only_decision(capsys)["probe"]["status"] == 500


def test_a_smoke_check_that_fails_names_the_request(world: World, codedeploy_gap, monkeypatch, http_server,
                                                    capsys) -> None:
    base, _ = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: base}))
    monkeypatch.setenv("SMOKE_CHECKS", json.dumps({GROUP: [{"path": "/broken", "status": 200}]}))
    assert _verdict(world) == (
        "Failed", "smoke request through the test listener failed: GET /broken: expected HTTP 200, got 500")
    assert only_decision(capsys)["probe"]["ok"] is False


def test_smoke_checks_that_pass_are_named_in_the_reason(world: World, codedeploy_gap, monkeypatch, http_server,
                                                        capsys) -> None:
    base, _ = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: base}))
    monkeypatch.setenv("SMOKE_CHECKS", json.dumps({GROUP: [{"path": "/health", "status": 200}]}))
    assert _verdict(world) == ("Succeeded", "no alarm in ALARM, replacement targets healthy, HTTP probe OK")
    assert only_decision(capsys)["probe"]["ok"] is True


def test_a_hook_of_an_application_that_is_not_ecs(world: World, codedeploy_gap, monkeypatch) -> None:
    # The function configured for a non-ECS application: its groups are not ECS groups.
    monkeypatch.setenv("CODEDEPLOY_APPLICATION", "shop-server")
    world.codedeploy.create_application(applicationName="shop-server", computePlatform="Server")
    world.codedeploy.create_deployment_group(applicationName="shop-server", deploymentGroupName=GROUP,
                                             serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy")
    deployment = world.codedeploy.create_deployment(applicationName="shop-server", deploymentGroupName=GROUP)
    assert _verdict(world, deployment["deploymentId"]) == (
        "Failed", "deployment group compute platform is 'Server', not 'ECS'")


def test_smoke_checks_with_no_way_to_the_group_are_not_claimed(world: World, codedeploy_gap, monkeypatch,
                                                               capsys) -> None:
    # A probe function and listeners for another group only, no test endpoint: nothing is sent, and the
    # reason does not claim an HTTP check.
    monkeypatch.setenv("PROBE_FUNCTION", "shop-test-probe")
    monkeypatch.setenv("TEST_LISTENERS", json.dumps({"shop-staging-web-service": {
        "alb": "app/shop-stg-alb/0123abcd", "port": 8080, "scheme": "http"}}))
    monkeypatch.setenv("SMOKE_CHECKS", json.dumps({GROUP: [{"path": "/health", "status": 200}]}))
    assert _verdict(world) == ("Succeeded", "no alarm in ALARM, replacement targets healthy")
    assert "probe" not in only_decision(capsys)
