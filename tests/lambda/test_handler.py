"""Health-check / rollback Lambda against moto state created through boto3."""
from __future__ import annotations

import json
import socket
from typing import Any

import pytest

import hc_aws
import hc_settings
from health_check_testkit import (
    ACCOUNT,
    ALARM_KINDS,
    APP,
    GREEN_IPS,
    BLUE_IPS,
    GROUP,
    HOOK_ID,
    IMAGE_TAG,
    REGION,
    REPOSITORY,
    World,
    aws_client,
    create_deployment,
    create_ecs_group,
    fail_operation,
    handler_module,
    only_decision,
    sent_status,
)

handler = handler_module.handler


# --- lifecycle hook --------------------------------------------------------------------------


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


# --- HTTP probe of the test listener ---------------------------------------------------------


def test_probe_ok(world: World, codedeploy_gap, monkeypatch, http_server, capsys) -> None:
    base, hits = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/health", "shop-staging-web-service": "http://x"}))
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    assert hits == ["/health"]
    assert only_decision(capsys)["probe"]["status"] == 200


def test_probe_failure_is_bounded_and_fails(world: World, codedeploy_gap, monkeypatch, http_server, sleeps) -> None:
    base, hits = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/broken"}))
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "HTTP 500" in result["reason"]
    assert hits == ["/broken"] * 3
    assert len(sleeps) == 2  # backoff between attempts, none after the last
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]


def test_probe_retry_recovers(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    base, hits = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/flaky"}))
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    assert hits == ["/flaky", "/flaky"]


def test_probe_connection_refused_fails(world: World, codedeploy_gap, monkeypatch) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"http://127.0.0.1:{port}/health"}))
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "HTTP probe" in result["reason"] and "URLError" in result["reason"]


def test_probe_not_run_when_alarm_already_failed(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    base, hits = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/health"}))
    world.set_alarm("running-tasks", "ALARM")
    assert handler(world.hook_event(), None)["verdict"] == "Failed"
    assert hits == []


# --- release images protected from ECR expiry (issue 14, hole 4) --------------------------------


def _digests_by_tag() -> dict:
    images = aws_client("ecr").describe_images(repositoryName=REPOSITORY)["imageDetails"]
    return {tag: image["imageDigest"] for image in images for tag in image.get("imageTags") or []}


def test_passed_release_tags_its_image_so_the_lifecycle_policy_keeps_it(world: World, codedeploy_gap) -> None:
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    tags = _digests_by_tag()
    assert tags[f"release-{IMAGE_TAG}"] == tags[IMAGE_TAG]  # the same image, one more (protected) tag
    # Released again (e.g. to production after staging): the tag is already there, which is fine.
    second = create_deployment(world.codedeploy)
    assert handler(world.hook_event(second), None)["verdict"] == "Succeeded"


def test_release_whose_image_is_not_in_ecr_fails(world: World, codedeploy_gap) -> None:
    aws_client("ecr").batch_delete_image(repositoryName=REPOSITORY, imageIds=[{"imageTag": IMAGE_TAG}])
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "not found in ECR" in result["reason"]


# --- smoke requests through the test listener (issue 14, hole 1) ----------------------------------


def _smoke(monkeypatch, base: str, *checks: dict) -> None:
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: base}))
    monkeypatch.setenv("SMOKE_CHECKS", json.dumps({GROUP: list(checks)}))


def test_smoke_requests_pass_on_exact_status_and_body(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    base, hits = http_server
    _smoke(monkeypatch, base, {"path": "/health", "status": 200, "body": "^ok$"},
           {"path": "/broken", "status": 500})  # a declared non-2xx answer is what is expected
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Succeeded", result["reason"]
    assert hits == ["/health", "/broken"]


@pytest.mark.parametrize("check,reason", [
    ({"path": "/broken", "status": 200}, "expected HTTP 200, got 500"),
    ({"path": "/health", "status": 200, "body": "^healthy"}, "does not match"),
    ({"path": "/slow", "status": 200}, "timed out"),
])
def test_smoke_request_failure_fails_the_hook(world: World, codedeploy_gap, monkeypatch, http_server,
                                              check, reason) -> None:
    base, _ = http_server
    monkeypatch.setenv("PROBE_TIMEOUT_SECONDS", "0.5")
    _smoke(monkeypatch, base, {"path": "/health", "status": 200}, check)
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and reason in result["reason"] and check["path"] in result["reason"]
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]


def _through_probe(monkeypatch, port: int, *checks: dict) -> list:
    from health_check_testkit import ALB_SUFFIX, PROBE_FUNCTION, serve_probe_function

    monkeypatch.setenv("PROBE_FUNCTION", PROBE_FUNCTION)
    monkeypatch.setenv("TEST_LISTENERS", json.dumps({GROUP: {"alb": ALB_SUFFIX, "port": port, "scheme": "http"}}))
    monkeypatch.setenv("SMOKE_CHECKS", json.dumps({GROUP: list(checks)}))
    return serve_probe_function()


def test_smoke_requests_go_through_the_probe_function_to_the_alb_nodes(world: World, codedeploy_gap, monkeypatch,
                                                                       http_server, capsys) -> None:
    from health_check_testkit import alb_node

    base, hits = http_server
    alb_node("127.0.0.1")
    payloads = _through_probe(monkeypatch, int(base.rsplit(":", 1)[1]), {"path": "/health", "status": 200,
                                                                        "body": "^ok$"})
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Succeeded", result["reason"]
    assert hits == ["/health"]
    assert payloads[0]["base_urls"] == [f"http://127.0.0.1:{base.rsplit(':', 1)[1]}"]
    assert only_decision(capsys)["test_listener_addresses"] == ["127.0.0.1"]


def test_probe_function_failure_fails_the_hook(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    from health_check_testkit import alb_node

    base, _ = http_server
    alb_node("127.0.0.1")
    _through_probe(monkeypatch, int(base.rsplit(":", 1)[1]), {"path": "/broken", "status": 200})
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "expected HTTP 200, got 500" in result["reason"]


def test_no_alb_node_found_fails_the_hook(world: World, codedeploy_gap, monkeypatch) -> None:
    _through_probe(monkeypatch, 8080, {"path": "/health", "status": 200})
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "no network interface of ALB" in result["reason"]
