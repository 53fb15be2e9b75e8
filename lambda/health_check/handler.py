"""Health check and automatic rollback for the ECS blue/green deployments run by CodeDeploy.

Entry point `handler(event, context)` accepts two kinds of event:

* CodeDeploy lifecycle hook (AfterAllowTestTraffic, or BeforeAllowTraffic):
  `{"DeploymentId": "d-...", "LifecycleEventHookExecutionId": "..."}`. The deployment is checked
  (hc_verify: alarms, target health of the replacement target group, optional HTTP probe) and the
  verdict is sent with PutLifecycleEventHookExecutionStatus; Failed makes CodeDeploy roll back.
  A Failed verdict is also published to NOTIFICATION_TOPIC_ARN (best effort).
* SNS notification(s) of a CloudWatch alarm (hc_rollback): an alarm in ALARM stops the in-progress
  deployment(s) of its deployment group with rollback and reports to NOTIFICATION_TOPIC_ARN.

Fail safe: Succeeded is sent only when every check positively passed. Malformed events, invalid
configuration (hc_settings), API errors after bounded retries (hc_aws), throttling, unknown
deployments, deployments of another application and unexpected exceptions all give Failed - sent
to CodeDeploy whenever both ids are known. The handler never raises; if even the Failed report
cannot be sent, that is logged (CodeDeploy then fails the hook on its own timeout).

Every decision is logged as one JSON line with "type": "decision" (deployment id, group, stage,
service, alarms with states, targets with states, verdict, reason, ...). Retries are logged as
"type": "retry" lines. The whole invocation stays within hc_aws.TOTAL_BUDGET_SECONDS (50 s) for a
60 s Lambda timeout.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import hc_aws
import hc_rollback
import hc_settings
import hc_verify

# Exactly the AWS operations this function calls; the stack grants these and nothing else.
IAM_ACTIONS = frozenset(
    {
        "codedeploy:GetDeployment",
        "codedeploy:GetDeploymentGroup",
        "codedeploy:PutLifecycleEventHookExecutionStatus",
        "codedeploy:ListDeploymentGroups",
        "codedeploy:ListDeployments",
        "codedeploy:StopDeployment",
        "cloudwatch:DescribeAlarms",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "ecr:BatchGetImage",
        "ecr:PutImage",
        "ec2:DescribeNetworkInterfaces",
        "lambda:InvokeFunction",
        "sns:Publish",
    }
)

SUCCEEDED = hc_verify.SUCCEEDED
FAILED = hc_verify.FAILED

_MAX_ID_LENGTH = 2048
_MAX_SNS_RECORDS = 10


def handler(event: Any, context: Any) -> Dict[str, Any]:
    budget = hc_aws.Budget.from_context(context)
    try:
        if isinstance(event, dict) and ("DeploymentId" in event or "LifecycleEventHookExecutionId" in event):
            return _handle_hook(event, budget)
        if isinstance(event, dict) and isinstance(event.get("Records"), list):
            return _handle_sns(event["Records"], budget)
        rec = _record("unknown")
        return _decide(rec, FAILED, "unrecognised event: neither a CodeDeploy lifecycle hook nor SNS records",
                       budget, event_type=type(event).__name__)
    except Exception as exc:  # last line of defence: the hook path already reports on its own
        rec = _record("unknown")
        return _decide(rec, FAILED, f"unexpected error: {type(exc).__name__}: {exc}", budget)


def _handle_hook(event: Dict[str, Any], budget: hc_aws.Budget) -> Dict[str, Any]:
    rec = _record("lifecycle_hook")
    deployment_id = event.get("DeploymentId")
    hook_id = event.get("LifecycleEventHookExecutionId")
    rec["deployment_id"], rec["lifecycle_event_hook_execution_id"] = deployment_id, hook_id
    if not (_valid_id(deployment_id) and _valid_id(hook_id)):
        return _decide(rec, FAILED, "malformed lifecycle hook event: DeploymentId and "
                       "LifecycleEventHookExecutionId must be non-empty strings; cannot report", budget)

    cfg: Optional[hc_settings.Settings] = None
    verdict, reason = FAILED, "not evaluated"
    try:
        cfg = hc_settings.load()
        verdict, reason = hc_verify.verify(deployment_id, cfg, budget, rec)
    except hc_settings.ConfigError as exc:
        reason = f"invalid configuration: {exc}"
    except hc_aws.AwsError as exc:
        reason = f"AWS API error: {exc}"
    except Exception as exc:
        reason = f"unexpected error: {type(exc).__name__}: {exc}"
    if verdict != SUCCEEDED:
        verdict = FAILED

    attempts = cfg.max_attempts if cfg else hc_settings.DEFAULT_MAX_ATTEMPTS
    try:
        hc_aws.call("codedeploy", "put_lifecycle_event_hook_execution_status", budget, attempts, final=True,
                    deploymentId=deployment_id, lifecycleEventHookExecutionId=hook_id, status=verdict)
        rec["reported"] = True
    except Exception as exc:  # includes AwsError; nothing else can be done but say so
        rec.update(reported=False, report_error=f"{type(exc).__name__}: {exc}")

    if verdict == FAILED and cfg is not None:
        _notify_hook_failure(cfg, budget, rec, reason)
    return _decide(rec, verdict, reason, budget)


def _notify_hook_failure(cfg: hc_settings.Settings, budget: hc_aws.Budget, rec: Dict[str, Any], reason: str) -> None:
    try:
        lines = [
            f"Deployment {rec['deployment_id']} of {rec.get('deployment_group') or 'unknown group'} "
            f"failed its health check; CodeDeploy rolls it back.",
            f"Reason: {reason}",
            f"Verdict reported to CodeDeploy: {rec.get('reported')}",
        ]
        lines += [f"Alarm {a['name']}: {a['state']}" for a in rec.get("alarms") or [] if a["state"] != "OK"]
        lines += [f"Target {t['target_group']}/{t['id']}: {t['state']}" for t in rec.get("targets") or []
                  if t["state"] != "healthy"]
        subject = f"[{cfg.project}] health check Failed: {rec.get('deployment_group') or rec['deployment_id']}"
        hc_rollback.publish(cfg, budget, subject, lines, rec)
    except Exception as exc:  # a notification must never mask the verdict
        rec.update(notified=False, notify_error=f"{type(exc).__name__}: {exc}")


def _handle_sns(records: List[Any], budget: hc_aws.Budget) -> Dict[str, Any]:
    results: List[Dict[str, Any]] = []
    try:
        cfg: Optional[hc_settings.Settings] = hc_settings.load()
        config_error = ""
    except hc_settings.ConfigError as exc:
        cfg, config_error = None, f"invalid configuration: {exc}"
    if len(records) > _MAX_SNS_RECORDS:
        rec = _record("alarm")
        results.append(_decide(rec, hc_rollback.ERROR, f"{len(records)} SNS records, more than "
                               f"{_MAX_SNS_RECORDS}: only the first {_MAX_SNS_RECORDS} are processed", budget))
    for record in records[:_MAX_SNS_RECORDS]:
        rec = _record("alarm")
        try:
            alarm = hc_rollback.parse_alarm(((record or {}).get("Sns") or {}).get("Message"))
        except (ValueError, AttributeError, TypeError) as exc:
            results.append(_decide(rec, FAILED, f"malformed SNS record: {exc}", budget))
            continue
        if cfg is None:
            rec["alarms"] = [{"name": alarm["AlarmName"], "state": alarm["NewStateValue"]}]
            results.append(_decide(rec, hc_rollback.ERROR, config_error, budget))
            continue
        try:
            hc_rollback.handle_alarm(alarm, cfg, budget, rec)
            results.append(_decide(rec, rec.get("verdict") or hc_rollback.ERROR, rec.get("reason") or "", budget))
        except Exception as exc:
            results.append(_decide(rec, hc_rollback.ERROR, f"unexpected error: {type(exc).__name__}: {exc}", budget))
    return {"verdict": "Processed", "results": results}


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= _MAX_ID_LENGTH


def _record(kind: str) -> Dict[str, Any]:
    # Every decision line carries the same keys, so log queries need no existence checks.
    return {
        "type": "decision",
        "kind": kind,
        "deployment_id": None,
        "deployment_group": None,
        "stage": None,
        "service": None,
        "alarms": [],
        "targets": [],
        "verdict": None,
        "reason": None,
    }


def _decide(rec: Dict[str, Any], verdict: str, reason: str, budget: hc_aws.Budget, **extra: Any) -> Dict[str, Any]:
    rec.update(extra)
    rec.update(verdict=verdict, reason=reason, duration_ms=int(budget.elapsed() * 1000))
    hc_aws.log(rec)
    return {key: rec.get(key) for key in ("kind", "deployment_id", "deployment_group", "verdict", "reason",
                                          "reported", "notified")}
