"""The pipeline as the synthesized JSON describes it: stages, actions, ECS blue/green deployments with
their target groups and alarms, read from `cdktf.out/stacks/<region>/cdk.tf.json` (no cdktf).

Every value is resolved the way :mod:`cicd.docs.terraform_json` reads the JSON (a reference becomes
the literal it points at, else the referenced resource's name). :mod:`cicd.docs.diagram` draws this model.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from cicd.docs.terraform_json import Doc, blocks
from cicd.workspace.errors import UserError

SYNTH_HINT = "run nox -s synth"


@dataclass(frozen=True)
class Deploy:
    """What a CodeDeployToECS action deploys with: its group, target groups, alarms and the task size."""

    application: str
    group: str
    config: str
    target_groups: Tuple[str, ...]
    alarms: Tuple[str, ...]  # short kinds, e.g. `elb-5xx`
    rollback_on_alarm: bool
    service: str
    stage: str  # the deployment group's `stage` tag, else the pipeline stage's name in lower case
    ecs_service: str
    cpu: str
    memory: str
    endpoint: str
    # The pre-traffic test (AfterAllowTestTraffic): "GET <path> -> <status>" per request the health
    # Lambda sends through the test listener (its SMOKE_CHECKS), with the listener's port.
    pre_traffic: Tuple[str, ...] = ()
    test_port: str = ""


@dataclass(frozen=True)
class Action:
    name: str
    category: str
    provider: str
    run_order: int
    detail: Tuple[str, ...]  # lines under the action's name
    role: str
    deploy: Optional[Deploy]


@dataclass(frozen=True)
class Stage:
    name: str
    rows: Tuple[Tuple[Action, ...], ...]  # one row per run order, ascending; a row runs in parallel
    roles: Tuple[str, ...]
    notify_alarms: Tuple[str, ...] = ()  # alarms of the stage that no deployment group rolls back on

    @property
    def actions(self) -> Tuple[Action, ...]:
        return tuple(a for row in self.rows for a in row)


@dataclass(frozen=True)
class Pipeline:
    region: str
    name: str
    role: str
    stages: Tuple[Stage, ...]
    resource_counts: Tuple[Tuple[str, int], ...]


def load(out: Path, region: str) -> Doc:
    path = out / "stacks" / region / "cdk.tf.json"
    if not path.is_file():
        raise UserError(f"{path}: no synthesized output for {region}: {SYNTH_HINT} first")
    try:
        return Doc(region, json.loads(path.read_text()))
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not readable synthesized JSON ({err}): {SYNTH_HINT} again") from None


def pipeline(doc: Doc) -> Pipeline:
    """The region's pipeline as a model, every reference resolved."""
    pipelines = doc.resources("aws_codepipeline")
    if len(pipelines) != 1:
        raise UserError(f"{doc.region}: expected one aws_codepipeline in the synthesized JSON, found {len(pipelines)}")
    body = next(iter(pipelines.values()))
    endpoints = (doc.doc.get("output", {}).get("service_endpoints", {}) or {}).get("value") or {}
    stages = []
    for stage in body.get("stage") or []:
        actions = [_action(doc, stage["name"], a, endpoints) for a in stage.get("action") or []]
        orders = sorted({a.run_order for a in actions})
        rows = tuple(tuple(a for a in actions if a.run_order == o) for o in orders)
        roles = tuple(dict.fromkeys(a.role for a in actions if a.role))
        stages.append(Stage(stage["name"], rows, roles, _notify_alarms(doc, actions)))
    counts = tuple(sorted((rtype, len(items)) for rtype, items in (doc.doc.get("resource") or {}).items()))
    return Pipeline(doc.region, doc.name(body.get("name")), doc.name(body.get("role_arn")), tuple(stages), counts)


def _action(doc: Doc, stage: str, action: Dict[str, Any], endpoints: Dict[str, str]) -> Action:
    config = action.get("configuration") or {}
    provider = action.get("provider", "")
    deploy = None
    if provider == "CodeCommit":
        detail = (f"CodeCommit: {doc.name(config.get('RepositoryName'))} @ {doc.name(config.get('BranchName'))}",
                  *_mirrors(doc))
    elif provider == "CodeStarSourceConnection":
        detail = _connection_source(doc, action, config)
    elif provider == "CodeBuild":
        detail = (f"CodeBuild: {doc.name(config.get('ProjectName'))}",)
    elif provider == "Manual":
        topic = config.get("NotificationArn")
        detail = ("manual approval gate",) + ((f"notifies {doc.name(topic)}",) if topic else ())
    elif provider == "CodeDeployToECS":
        deploy = _deploy(doc, stage, config, endpoints)
        detail = (f"CodeDeployToECS: {deploy.application}",)
    else:
        detail = (provider,)
    role = doc.name(action["role_arn"]) if action.get("role_arn") else ""
    return Action(action["name"], action.get("category", ""), provider, int(action.get("run_order") or 1),
                  detail, role, deploy)


def _mirrors(doc: Doc) -> Tuple[str, ...]:
    """The source mirror job (a CodeBuild project without source, stack/source_mirror.py), if any."""
    return tuple(f"mirrored by {doc.name(body.get('name'))}" for body in doc.resources("aws_codebuild_project").values()
                 if (blocks(body.get("source")) or [{}])[0].get("type") == "NO_SOURCE")


def _connection_source(doc: Doc, action: Dict[str, Any], config: Dict[str, Any]) -> Tuple[str, ...]:
    """A Git host through CodeConnections, and the pipeline's push trigger on this action."""
    connection = doc.target(config.get("ConnectionArn"), "aws_codeconnections_connection", by="arn") or {}
    host = connection.get("provider_type") or "Git host"
    lines = [f"{host} via CodeConnections: {doc.name(config.get('FullRepositoryId'))} @ "
             f"{doc.name(config.get('BranchName'))}"]
    pipelines = list(doc.resources("aws_codepipeline").values())
    for trigger in blocks(pipelines[0].get("trigger")) if pipelines else []:
        git = (blocks(trigger.get("git_configuration")) or [{}])[0]
        if git.get("source_action_name") != action.get("name"):
            continue
        for push in blocks(git.get("push")):
            branches = ", ".join((blocks(push.get("branches")) or [{}])[0].get("includes") or []) or "any branch"
            paths = ", ".join((blocks(push.get("file_paths")) or [{}])[0].get("includes") or []) or "any path"
            lines.append(f"starts on a push to {branches} touching {paths}")
    return tuple(lines)


def _deploy(doc: Doc, stage: str, config: Dict[str, Any], endpoints: Dict[str, str]) -> Deploy:
    group_value = config.get("DeploymentGroupName")
    group = doc.target(group_value, "aws_codedeploy_deployment_group", by="deployment_group_name") or {}
    group_name = doc.name(group.get("deployment_group_name", group_value))
    pair = ((group.get("load_balancer_info") or {}).get("target_group_pair_info") or {})
    target_groups = tuple(doc.name(tg.get("name")) for tg in blocks(pair.get("target_group")))
    alarm_config = group.get("alarm_configuration") or {}
    alarms = tuple(_alarm_kind(doc.name(a), group_name) for a in alarm_config.get("alarms") or []) \
        if alarm_config.get("enabled", True) else ()
    rollback = group.get("auto_rollback_configuration") or {}
    rollback_on_alarm = bool(rollback.get("enabled")) and "DEPLOYMENT_STOP_ON_ALARM" in (rollback.get("events") or [])
    ecs = group.get("ecs_service") or {}
    ecs_body = doc.target(ecs.get("service_name"), "aws_ecs_service") or {}
    taskdef = doc.target(ecs_body.get("task_definition"), "aws_ecs_task_definition", by="family") or {}
    tags = group.get("tags") or {}
    service = str(tags.get("service") or doc.name(ecs.get("service_name")))
    stage_key = str(tags.get("stage") or stage.lower())
    endpoint = endpoints.get(f"{stage_key}/{service}")
    pre_traffic, test_port = _pre_traffic(doc, group_name, pair)
    return Deploy(
        application=doc.name(config.get("ApplicationName", group.get("app_name"))),
        group=group_name, config=doc.name(group.get("deployment_config_name", "")),
        target_groups=target_groups, alarms=alarms, rollback_on_alarm=rollback_on_alarm,
        service=service, stage=stage_key, ecs_service=doc.name(ecs.get("service_name", "")),
        cpu=doc.name(taskdef.get("cpu", "?")), memory=doc.name(taskdef.get("memory", "?")),
        endpoint=doc.expand(endpoint) if isinstance(endpoint, str) else "",
        pre_traffic=pre_traffic, test_port=test_port)


def _notify_alarms(doc: Doc, actions: List[Action]) -> Tuple[str, ...]:
    """Alarms on the ALB the stage's deployments use that no deployment group lists: they only notify."""
    groups = [doc.target(g, "aws_codedeploy_deployment_group", by="deployment_group_name") or {}
              for g in (a.deploy.group for a in actions if a.deploy)]
    if not groups:
        return ()
    listed = {doc.name(a) for g in groups for a in (g.get("alarm_configuration") or {}).get("alarms") or []}
    albs = set()
    for group in groups:
        pair = (group.get("load_balancer_info") or {}).get("target_group_pair_info") or {}
        for arn in (pair.get("prod_traffic_route") or {}).get("listener_arns") or []:
            listener = doc.target(arn, "aws_lb_listener") or {}
            albs.add(listener.get("load_balancer_arn", "").replace(".arn}", ".arn_suffix}"))
    found = []
    for alarm in doc.resources("aws_cloudwatch_metric_alarm").values():
        if (alarm.get("dimensions") or {}).get("LoadBalancer") in albs and doc.name(alarm["alarm_name"]) not in listed:
            found.append(doc.name(alarm["alarm_name"]))
    return tuple(sorted(found))


def _pre_traffic(doc: Doc, group: str, pair: Dict[str, Any]) -> Tuple[Tuple[str, ...], str]:
    """The health Lambda's SMOKE_CHECKS for `group`, and the port of the group's test listener."""
    checks: List[str] = []
    for function in doc.resources("aws_lambda_function").values():
        variables = ((function.get("environment") or {}).get("variables") or {})
        try:
            mapping = json.loads(variables.get("SMOKE_CHECKS") or "{}")
        except ValueError:
            continue
        checks += [f"GET {c['path']} → {c['status']}" + (f" ~ {c['body']}" if c.get("body") else "")
                   for c in mapping.get(group) or []]
    port = ""
    for arn in (pair.get("test_traffic_route") or {}).get("listener_arns") or []:
        port = str((doc.target(arn, "aws_lb_listener") or {}).get("port", ""))
    return tuple(checks), port


def _alarm_kind(alarm: str, group: str) -> str:
    """`shop-staging-api-service-elb-5xx` -> `elb-5xx`: alarm names start with their group's name."""
    prefix = f"{group}-"
    return alarm[len(prefix):] if alarm.startswith(prefix) and len(alarm) > len(prefix) else alarm
