"""Issue 14, hole 3: a fresh install is healthy before any release.

The first task definitions name the `bootstrap` tag, which only a service's first build pushes. On
today's main every service started its tasks at once: CannotPullContainerError loops, the running-task
and healthy-host alarms in ALARM, e-mails, and the first release's hook failing on those alarms. Now a
fresh install runs no task until the stage's first release activates it, no alarm can breach at 0 tasks,
and no alarm action e-mails on the INSUFFICIENT_DATA -> OK transition every new alarm makes.
"""
from __future__ import annotations

import re

import yaml
from first_install import marker_of, minimum

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES
from cicd.workspace.parameters import UNRELEASED
from cicd.workspace.render import BOOTSTRAP_TAG


def _cases(cfg):
    return [(stage, service) for stage in DEPLOY_STAGES for service in cfg.services]


def _scaling(stack, cfg, stage, service) -> dict:
    resource = f"service/{naming.cluster(cfg)}/{naming.ecs_service(cfg, stage, service)}"
    return stack.the("aws_appautoscaling_target", resource_id=resource)[1]


def test_a_fresh_install_starts_no_task(stack, cfg):
    for stage, service in _cases(cfg):
        where = f"{stage.value}/{service.name}"
        _, ecs = stack.the("aws_ecs_service", name=naming.ecs_service(cfg, stage, service))
        assert ecs["desired_count"] == 0, where
        scaling = _scaling(stack, cfg, stage, service)
        # Application Auto Scaling moves a service into [min, max] as soon as the target is registered
        # (API reference, RegisterScalableTarget): the minimum itself must be 0 until the first release.
        assert minimum(stack, scaling["min_capacity"], UNRELEASED) == 0, where
        assert minimum(stack, scaling["min_capacity"], "codebuild:1234") == cfg.size(stage).desired_count, where
        _, marker = marker_of(stack, scaling["min_capacity"])
        assert marker["name"] == naming.release_marker(cfg, stage, service), where
        assert marker["type"] == "String" and marker["insecure_value"] == UNRELEASED, where
        # Terraform never resets a release back to "none": the pipeline owns the value.
        assert "insecure_value" in marker["lifecycle"]["ignore_changes"], where


def test_each_deploy_stage_activates_its_services_at_the_first_release(stack, cfg):
    """The Activate action's buildspec raises exactly the markers and scalable targets the stack sizes."""
    (project,) = [p for p in stack.bodies("aws_codebuild_project") if p["name"] == f"{cfg.project}-activate"]
    commands = yaml.safe_load(project["source"]["buildspec"])["phases"]["build"]["commands"]
    calls = re.findall(r'^activate "([a-z]+)" "([^"]+)" "([^"]+)" (\d+) (\d+)$', commands[0], re.M)
    expected = set()
    for stage, service in _cases(cfg):
        scaling = _scaling(stack, cfg, stage, service)
        _, marker = marker_of(stack, scaling["min_capacity"])
        expected.add((stage.value, marker["name"], scaling["resource_id"],
                      str(minimum(stack, scaling["min_capacity"], "released")), str(scaling["max_capacity"])))
    assert set(calls) == expected
    assert f'!= "{UNRELEASED}"' in commands[0]  # later releases change nothing
    # CodeDeploy sizes the replacement from the service's desired count: the deploys start once it is raised
    assert "aws ecs describe-services" in commands[0] and "desiredCount" in commands[0]


def test_the_first_build_gives_the_bootstrap_tag_its_image(stack, cfg):
    for service in cfg.services:
        (project,) = [p for p in stack.bodies("aws_codebuild_project")
                      if p["name"] == naming.build_project(cfg, service)]
        post = yaml.safe_load(project["source"]["buildspec"])["phases"]["post_build"]["commands"]
        push = [c for c in post if f":{BOOTSTRAP_TAG}" in c]
        assert len(push) == 1 and f"imageTag={BOOTSTRAP_TAG}" in push[0] and "docker push" in push[0], service.name


def _healthy_hosts_value(expression: str, desired: float, blue: float, green: float) -> float:
    """CloudWatch metric math for the two functions used (IF, FILL with a constant), as Python."""
    python = expression.replace("FILL(", "_fill(").replace("IF(", "_if(")
    return eval(python, {"_fill": lambda v, d: d if v is None else v,  # noqa: S307 - a test on our own JSON
                         "_if": lambda c, a, b: a if c else b},
                {"desired": desired, "blue": blue, "green": green})


def test_no_alarm_breaches_while_no_task_is_desired(stack, cfg):
    for stage, service in _cases(cfg):
        name = naming.alarm(cfg, stage, service, "healthy-hosts")
        _, alarm = stack.the("aws_cloudwatch_metric_alarm", alarm_name=name)
        (expression,) = [q["expression"] for q in alarm["metric_query"] if q.get("return_data")]
        assert alarm["comparison_operator"] == "LessThanThreshold" and float(alarm["threshold"]) == 1.0
        # 0 tasks desired and empty target groups: not breaching; tasks desired and none healthy: breaching
        assert _healthy_hosts_value(expression, desired=0, blue=0, green=0) >= 1, name
        assert _healthy_hosts_value(expression, desired=None, blue=None, green=None) >= 1, name
        assert _healthy_hosts_value(expression, desired=2, blue=0, green=0) < 1, name
        assert _healthy_hosts_value(expression, desired=2, blue=2, green=0) >= 1, name


def test_no_alarm_mails_on_the_ok_transition_of_a_fresh_install(stack):
    for alarm in stack.bodies("aws_cloudwatch_metric_alarm"):
        assert not alarm.get("ok_actions"), alarm["alarm_name"]
        assert not alarm.get("insufficient_data_actions"), alarm["alarm_name"]
        assert alarm["alarm_actions"], alarm["alarm_name"]
