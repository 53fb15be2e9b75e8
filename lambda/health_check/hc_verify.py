"""Verdict for a CodeDeploy lifecycle hook of an ECS blue/green deployment.

The checks run in this order and the first failing one decides; later ones are skipped so a
known-bad release is rolled back without spending more of the time budget.

1. Identity. The deployment exists, belongs to CODEDEPLOY_APPLICATION, its group is named
   `{project}-{stage}-{service}`, is an ECS group with exactly one ECS service and one target
   group pair of two target groups. Anything else is a state this function does not understand.
2. Alarms. DescribeAlarms(AlarmNamePrefix=group + "-"), metric and composite alarms.
   - any alarm in ALARM -> Failed;
   - no alarm at all -> Failed: the naming contract with the stack is broken, and approving would
     let the release out with no alarm guarding it;
   - INSUFFICIENT_DATA is accepted (metrics of a task set that has just started often have no
     datapoint yet) but is logged with the decision.
   A prefix can also match the alarms of a group whose name extends this one; that only ever adds
   alarms, which errs on the safe side.
3. Target health (ELBv2 DescribeTargetHealth).
   - The replacement target group is the one in `loadBalancers` of the service's task set whose
     status is ACTIVE (the PRIMARY task set is the original one, still taking production traffic).
     If several are ACTIVE, the one whose externalId is this deployment id is taken.
   - Per target: `healthy` counts; `draining` is ignored, it is being deregistered and gets no new
     requests (typically a task ECS has already replaced); every other state - `initial`,
     `unhealthy`, `unused`, `unavailable` - is bad. By AfterAllowTestTraffic CodeDeploy has
     already waited for the replacement tasks to pass their health check, so `initial` means tasks
     were replaced since (crash loop) and `unused` means the group is not attached to a listener.
   - Replacement known: each replacement target group needs >= 1 healthy and no bad target.
   - Replacement unknown (service not found, no or several ACTIVE task sets, task set without a
     target group or with one outside the pair): every target group of the pair that has
     non-draining targets must have no bad target, and there must be >= 1 healthy target in all.
4. HTTP through the test listener, when TEST_ENDPOINTS[group] is configured (see hc_probe): the group's
   SMOKE_CHECKS (health path and declared smoke requests: exact status, optional body pattern; a wrong
   status, a timeout or a body mismatch -> Failed), or, without checks, a 2xx from the URL itself.
5. Release images protected (hc_release): every ECR image named by the task definitions of the
   service's task sets (the replacement, and the original a rollback returns to) is tagged
   `release-...`, which the repositories' lifecycle policy never expires. No task set known -> Failed.

AWS API errors (after hc_aws' bounded retries) propagate as hc_aws.AwsError; the caller turns
them into Failed.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import hc_aws
import hc_probe
import hc_release
import hc_remote
from hc_settings import Settings, parse_group_name

SUCCEEDED = "Succeeded"
FAILED = "Failed"

Verdict = Tuple[str, str]

_HEALTHY = "healthy"
_IGNORED_STATES = frozenset({"draining"})


def verify(deployment_id: str, cfg: Settings, budget: hc_aws.Budget, rec: Dict[str, Any]) -> Verdict:
    tries = cfg.max_attempts
    info = hc_aws.call("codedeploy", "get_deployment", budget, tries, deploymentId=deployment_id)
    deployment = info.get("deploymentInfo") or {}
    application = deployment.get("applicationName")
    group = deployment.get("deploymentGroupName")
    rec.update(application=application, deployment_group=group, deployment_status=deployment.get("status"))
    if application != cfg.application:
        return FAILED, f"deployment belongs to application {application!r}, not {cfg.application!r}"
    if not group:
        return FAILED, "deployment has no deployment group"
    parsed = parse_group_name(group, cfg.project)
    if parsed is None:
        return FAILED, f"deployment group {group!r} is not named {cfg.project}-<stage>-<service>"
    rec["stage"], rec["service"] = parsed

    group_info = hc_aws.call(
        "codedeploy", "get_deployment_group", budget, tries, applicationName=application, deploymentGroupName=group
    ).get("deploymentGroupInfo") or {}
    if group_info.get("computePlatform") != "ECS":
        return FAILED, f"deployment group compute platform is {group_info.get('computePlatform')!r}, not 'ECS'"
    ecs_services = group_info.get("ecsServices") or []
    if len(ecs_services) != 1:
        return FAILED, f"deployment group has {len(ecs_services)} ECS services, expected 1"
    cluster, service = ecs_services[0].get("clusterName"), ecs_services[0].get("serviceName")
    rec["cluster"], rec["ecs_service"] = cluster, service
    pairs = (group_info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    names = [tg.get("name") for tg in (pairs[0].get("targetGroups") or [])] if len(pairs) == 1 else []
    if len(names) != 2 or not all(names) or not cluster or not service:
        return FAILED, "deployment group needs one ECS service and one target group pair of two groups"

    verdict = _check_alarms(group, tries, budget, rec)
    if verdict:
        return verdict
    verdict = _check_targets(deployment_id, cluster, service, names, tries, budget, rec)
    if verdict:
        return verdict
    url = cfg.test_endpoints.get(group)
    checks = cfg.smoke_checks.get(group)
    listener = cfg.test_listeners.get(group)
    if cfg.probe_function and listener and checks:
        verdict = hc_remote.probe(cfg.probe_function, listener, checks, cfg.probe_timeout, tries, budget, rec)
        if verdict:
            return verdict
    elif url and checks:
        result = hc_probe.check(url, checks, cfg.probe_timeout, tries, budget)
        rec["probe"] = result
        if not result["ok"]:
            return FAILED, f"smoke request through the test listener failed: {result['error']}"
    elif url:
        result = hc_probe.probe(url, cfg.probe_timeout, tries, budget)
        rec["probe"] = result
        if not result["ok"]:
            return FAILED, f"HTTP probe of {url} failed after {result['attempts']} attempt(s): {result['error']}"
    task_definitions = rec.get("task_definitions") or []
    if not task_definitions:
        return FAILED, "no task set of the service is known: the release's image cannot be protected from expiry"
    for task_definition in task_definitions:
        verdict = hc_release.protect(task_definition, tries, budget, rec)
        if verdict:
            return verdict
    tested = url or (cfg.probe_function and listener and checks)
    return SUCCEEDED, "no alarm in ALARM, replacement targets healthy" + (", HTTP probe OK" if tested else "")


def _check_alarms(group: str, tries: int, budget: hc_aws.Budget, rec: Dict[str, Any]) -> Optional[Verdict]:
    pages = hc_aws.paginate(
        "cloudwatch",
        "describe_alarms",
        budget,
        tries,
        "NextToken",
        "NextToken",
        AlarmNamePrefix=f"{group}-",
        AlarmTypes=["MetricAlarm", "CompositeAlarm"],
    )
    alarms: List[Dict[str, str]] = []
    for page in pages:
        for key in ("MetricAlarms", "CompositeAlarms"):
            alarms.extend({"name": a.get("AlarmName"), "state": a.get("StateValue")} for a in page.get(key) or [])
    rec["alarms"] = alarms
    if not alarms:
        return FAILED, f"no CloudWatch alarm named {group}-*: the deployment cannot be verified"
    firing = sorted(a["name"] for a in alarms if a["state"] == "ALARM")
    if firing:
        return FAILED, f"alarm(s) in ALARM: {', '.join(firing)}"
    return None


def _check_targets(
    deployment_id: str,
    cluster: str,
    service: str,
    names: List[str],
    tries: int,
    budget: hc_aws.Budget,
    rec: Dict[str, Any],
) -> Optional[Verdict]:
    found = hc_aws.call("elbv2", "describe_target_groups", budget, tries, Names=names).get("TargetGroups") or []
    arn_by_name = {tg.get("TargetGroupName"): tg.get("TargetGroupArn") for tg in found}
    missing = [n for n in names if not arn_by_name.get(n)]
    if missing:
        return FAILED, f"target group(s) not found: {', '.join(missing)}"
    name_by_arn = {arn: name for name, arn in arn_by_name.items()}
    pair_arns = [arn_by_name[n] for n in names]

    replacement = _replacement_arns(deployment_id, cluster, service, pair_arns, tries, budget, rec)
    rec["replacement_source"] = "task_set" if replacement else "fallback"
    rec["replacement_target_groups"] = [name_by_arn[a] for a in replacement or []]

    counts: Dict[str, Tuple[int, List[str]]] = {}
    targets: List[Dict[str, Any]] = []
    rec["targets"] = targets
    for arn in replacement or pair_arns:
        name = name_by_arn[arn]
        described = hc_aws.call("elbv2", "describe_target_health", budget, tries, TargetGroupArn=arn)
        healthy, bad = 0, []
        for desc in described.get("TargetHealthDescriptions") or []:
            health = desc.get("TargetHealth") or {}
            state = health.get("State")
            target = desc.get("Target") or {}
            targets.append({"target_group": name, "id": target.get("Id"), "port": target.get("Port"),
                            "state": state, "reason": health.get("Reason")})
            if state == _HEALTHY:
                healthy += 1
            elif state not in _IGNORED_STATES:
                bad.append(f"{name}/{target.get('Id')}={state}")
        counts[name] = (healthy, bad)

    all_bad = [b for _, bad in counts.values() for b in bad]
    if all_bad:
        return FAILED, f"target(s) not healthy: {', '.join(all_bad)}"
    if replacement:
        empty = sorted(name for name, (healthy, _) in counts.items() if healthy == 0)
        if empty:
            return FAILED, f"replacement target group(s) without a healthy target: {', '.join(empty)}"
    elif not any(healthy for healthy, _ in counts.values()):
        return FAILED, "no healthy target in the target group pair (replacement target group unknown)"
    return None


def _replacement_arns(
    deployment_id: str,
    cluster: str,
    service: str,
    pair_arns: List[str],
    tries: int,
    budget: hc_aws.Budget,
    rec: Dict[str, Any],
) -> Optional[List[str]]:
    described = hc_aws.call("ecs", "describe_services", budget, tries, cluster=cluster, services=[service])
    services = described.get("services") or []
    if not services:
        rec["replacement_note"] = f"ECS service not found: {described.get('failures')}"
        return None
    task_sets = services[0].get("taskSets") or []
    rec["task_definitions"] = sorted({ts["taskDefinition"] for ts in task_sets
                                      if ts.get("status") in ("PRIMARY", "ACTIVE") and ts.get("taskDefinition")})
    active = [ts for ts in task_sets if ts.get("status") == "ACTIVE"]
    own = [ts for ts in active if ts.get("externalId") == deployment_id]
    chosen = own if len(own) == 1 else active
    if len(chosen) != 1:
        rec["replacement_note"] = f"{len(active)} ACTIVE task sets, cannot tell the replacement"
        return None
    task_set = chosen[0]
    rec["replacement_task_set"] = task_set.get("id")
    arns = sorted({lb["targetGroupArn"] for lb in task_set.get("loadBalancers") or [] if lb.get("targetGroupArn")})
    if not arns or not set(arns) <= set(pair_arns):
        rec["replacement_note"] = f"task set target groups {arns} are not within the deployment group's pair"
        return None
    return arns
