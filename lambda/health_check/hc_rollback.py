"""Alarm-driven rollback: a CloudWatch alarm (delivered through SNS) went to ALARM.

The alarm's deployment group is the group of CODEDEPLOY_APPLICATION whose name, followed by "-",
is the longest prefix of the alarm name (the longest wins so `shop-staging-api-service-x` is not
attributed to a group `shop-staging-api`). The alarm must also be one of that group's rollback
alarms (GetDeploymentGroup's alarmConfiguration): a notify-only alarm, or an ALB-wide one, never
stops a deployment, so one failing service cannot roll back the services it shares an ALB with.
Every deployment of that group, and only of that group, that is Created, Queued, Ready or
InProgress is stopped with autoRollbackEnabled=True, and a short report goes to
NOTIFICATION_TOPIC_ARN. OK and INSUFFICIENT_DATA transitions are logged and ignored.

Humans are told whenever this function acted or could not act (API error, a stop that failed);
an alarm with no deployment in progress is only logged - paging for the alarm itself is the alarm
actions' job, not this function's.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

import hc_aws
from hc_settings import Settings, parse_group_name

IN_PROGRESS_STATUSES = ["Created", "Queued", "Ready", "InProgress"]

ROLLBACK_STARTED = "RollbackStarted"
STOP_FAILED = "StopFailed"
NO_DEPLOYMENT = "NoDeploymentInProgress"
IGNORED = "Ignored"
ERROR = "Error"

_SUBJECT_MAX = 100


def parse_alarm(message: Any) -> Dict[str, str]:
    """The CloudWatch alarm JSON of an SNS record's Message; ValueError if it is not one."""
    if not isinstance(message, str):
        raise ValueError("Sns.Message is not a string")
    alarm = json.loads(message)
    if not isinstance(alarm, dict):
        raise ValueError("Sns.Message is not a JSON object")
    for key in ("AlarmName", "NewStateValue"):
        if not isinstance(alarm.get(key), str) or not alarm[key]:
            raise ValueError(f"Sns.Message has no {key}")
    return alarm


def handle_alarm(alarm: Dict[str, Any], cfg: Settings, budget: hc_aws.Budget, rec: Dict[str, Any]) -> None:
    """Fill `rec` with what was seen and done; never raises for AWS errors."""
    name, state = alarm["AlarmName"], alarm["NewStateValue"]
    rec.update(application=cfg.application, alarms=[{"name": name, "state": state}])
    if state != "ALARM":
        rec.update(verdict=IGNORED, reason=f"alarm state {state}: nothing to do")
        return
    try:
        _stop_group_deployments(name, cfg, budget, rec)
    except hc_aws.AwsError as exc:
        rec.update(verdict=ERROR, reason=f"could not look up deployments to stop: {exc}")
    if rec["verdict"] in (ROLLBACK_STARTED, STOP_FAILED, ERROR):
        _notify(alarm, cfg, budget, rec)


def _stop_group_deployments(alarm_name: str, cfg: Settings, budget: hc_aws.Budget, rec: Dict[str, Any]) -> None:
    tries = cfg.max_attempts
    groups = hc_aws.collect(
        hc_aws.paginate("codedeploy", "list_deployment_groups", budget, tries, "nextToken", "nextToken",
                        applicationName=cfg.application),
        "deploymentGroups",
    )
    matching = [g for g in groups if alarm_name.startswith(f"{g}-")]
    if not matching:
        rec.update(verdict=IGNORED, reason=f"no deployment group of {cfg.application} owns alarm {alarm_name}")
        return
    group = max(matching, key=len)
    rec["deployment_group"] = group
    parsed = parse_group_name(group, cfg.project)
    if parsed:
        rec["stage"], rec["service"] = parsed
    info = hc_aws.call("codedeploy", "get_deployment_group", budget, tries, applicationName=cfg.application,
                       deploymentGroupName=group).get("deploymentGroupInfo") or {}
    watched = info.get("alarmConfiguration") or {}
    rollback_alarms = {a.get("name") for a in watched.get("alarms") or []} if watched.get("enabled") else set()
    if alarm_name not in rollback_alarms:
        rec.update(verdict=IGNORED, reason=f"alarm {alarm_name} is not a rollback alarm of {group}: notify only")
        return

    deployments: List[str] = hc_aws.collect(
        hc_aws.paginate("codedeploy", "list_deployments", budget, tries, "nextToken", "nextToken",
                        applicationName=cfg.application, deploymentGroupName=group,
                        includeOnlyStatuses=IN_PROGRESS_STATUSES),
        "deployments",
    )
    rec["deployment_id"] = deployments[0] if len(deployments) == 1 else None
    rec["deployments"] = deployments
    if not deployments:
        rec.update(verdict=NO_DEPLOYMENT, reason=f"no deployment of {group} in progress")
        return

    stopped: List[Dict[str, Any]] = []
    errors: List[Dict[str, str]] = []
    for deployment_id in deployments:
        try:
            # final=True: stopping is the point of this invocation, it may use the report reserve.
            resp = hc_aws.call("codedeploy", "stop_deployment", budget, tries, final=True,
                               deploymentId=deployment_id, autoRollbackEnabled=True)
            stopped.append({"deployment_id": deployment_id, "status": resp.get("status"),
                            "message": resp.get("statusMessage")})
        except hc_aws.AwsError as exc:
            errors.append({"deployment_id": deployment_id, "error": str(exc)})
    rec["stopped"], rec["stop_errors"] = stopped, errors
    if errors:
        rec.update(verdict=STOP_FAILED, reason=f"{len(errors)} of {len(deployments)} stop(s) failed")
    else:
        rec.update(verdict=ROLLBACK_STARTED,
                   reason=f"alarm {alarm_name} in ALARM: stopped {len(stopped)} deployment(s) with rollback")


def _notify(alarm: Dict[str, Any], cfg: Settings, budget: hc_aws.Budget, rec: Dict[str, Any]) -> None:
    lines = [
        f"Alarm: {alarm['AlarmName']} -> {alarm['NewStateValue']}",
        f"Reason: {str(alarm.get('NewStateReason', ''))[:500]}",
        f"Application: {cfg.application}",
        f"Deployment group: {rec.get('deployment_group')}",
        f"Outcome: {rec['verdict']} - {rec['reason']}",
    ]
    lines += [f"Stopped (rollback requested): {s['deployment_id']}" for s in rec.get("stopped") or []]
    lines += [f"NOT stopped, act manually: {e['deployment_id']}: {e['error']}" for e in rec.get("stop_errors") or []]
    subject = f"[{cfg.project}] {rec['verdict']}: {rec.get('deployment_group') or alarm['AlarmName']}"
    publish(cfg, budget, subject, lines, rec)


def publish(cfg: Settings, budget: hc_aws.Budget, subject: str, lines: List[str], rec: Dict[str, Any]) -> None:
    """Best effort: a failed notification is logged in `rec`, it never changes the verdict."""
    # SNS subjects: printable ASCII, no line breaks, at most 100 characters.
    clean = "".join(c if 32 <= ord(c) < 127 else "?" for c in subject)[:_SUBJECT_MAX]
    try:
        hc_aws.call("sns", "publish", budget, cfg.max_attempts, final=True,
                    TopicArn=cfg.topic_arn, Subject=clean, Message="\n".join(lines))
        rec["notified"] = True
    except hc_aws.AwsError as exc:
        rec.update(notified=False, notify_error=str(exc))
