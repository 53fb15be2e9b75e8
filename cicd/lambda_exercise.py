"""Exercise the health-check Lambda's handler against a region deployed into the emulator.

Three scenarios on the staging deployment group of the first service, each against the real
deployed resources (deployment group, target groups, alarms, topics) in the emulator:
  1. a healthy target and no alarm firing: the hook reports Succeeded;
  2. the group's 5XX alarm in ALARM: the hook reports Failed (CodeDeploy would roll back);
  3. that alarm's SNS notification: the in-progress deployment is stopped with rollback.
"""
from __future__ import annotations

import contextlib
import io
import importlib.util
import ipaddress
import json
import os
import sys
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from cicd import naming
from cicd.config import ROOT, RegionConfig, Stage
from cicd.errors import UserError

HANDLER_DIR = ROOT / "lambda" / "health_check"


@contextlib.contextmanager
def _environment(values: Dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _load_handler():
    """A fresh copy of the function's handler, under a name no other `handler` module can shadow.

    A Lambda function lives in one region and its modules cache their clients; each region's
    exercise therefore loads its own copy, as each region runs its own function.
    """
    for name in [m for m in sys.modules if m.startswith("hc_")]:
        del sys.modules[name]
    if str(HANDLER_DIR) not in sys.path:
        sys.path.insert(0, str(HANDLER_DIR))  # for its hc_* modules
    spec = importlib.util.spec_from_file_location("health_check_handler", HANDLER_DIR / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(cfg: RegionConfig, emulator_env: Dict[str, str],
        hook_status: Callable[[str, str], Optional[str]]) -> List[Tuple[str, str, str]]:
    """Run the three scenarios; raise UserError if the handler does not behave as specified.

    ``hook_status(deployment id, hook execution id)`` reads back what the handler reported to
    CodeDeploy (the emulator's Emulator.hook_status).
    """
    import boto3

    service = cfg.services[0]
    group = naming.deployment_group(cfg, Stage.STAGING, service)
    application = naming.codedeploy_application(cfg)
    with _environment(emulator_env):
        session = boto3.session.Session(region_name=cfg.region)
        codedeploy, elbv2 = session.client("codedeploy"), session.client("elbv2")
        cloudwatch, sns = session.client("cloudwatch"), session.client("sns")
        topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"]
                     if t["TopicArn"].endswith(f":{cfg.project}-pipeline-notifications"))
        lambda_env = {"CODEDEPLOY_APPLICATION": application, "NOTIFICATION_TOPIC_ARN": topic,
                      "PROJECT_NAME": cfg.project, "MAX_ATTEMPTS": "2", "PROBE_TIMEOUT_SECONDS": "2"}
        blue = elbv2.describe_target_groups(Names=[naming.target_group(cfg, Stage.STAGING, service, "blue")])
        private = list(ipaddress.IPv4Network(cfg.vpc_cidr).subnets(
            new_prefix=ipaddress.IPv4Network(cfg.vpc_cidr).prefixlen + 4))[3]
        elbv2.register_targets(TargetGroupArn=blue["TargetGroups"][0]["TargetGroupArn"],
                               Targets=[{"Id": str(private.network_address + 10), "Port": service.port}])

        def deploy() -> str:
            return codedeploy.create_deployment(
                applicationName=application, deploymentGroupName=group,
                revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}},
            )["deploymentId"]

        handler = _load_handler()
        results: List[Tuple[str, str, str]] = []
        decisions = io.StringIO()
        with _environment(lambda_env), contextlib.redirect_stdout(decisions):
            healthy_hook, alarm_hook = f"{cfg.region}-hook-healthy", f"{cfg.region}-hook-alarm"
            first = deploy()
            verdict = handler.handler({"DeploymentId": first, "LifecycleEventHookExecutionId": healthy_hook}, None)
            results.append(("healthy target, no alarm", "Succeeded",
                            hook_status(first, healthy_hook) or f"none ({verdict})"))

            alarm = naming.alarm(cfg, Stage.STAGING, service, "target-5xx")
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="emulator exercise")
            second = deploy()
            handler.handler({"DeploymentId": second, "LifecycleEventHookExecutionId": alarm_hook}, None)
            results.append((f"{alarm} in ALARM", "Failed", hook_status(second, alarm_hook) or "none"))

            message = {"AlarmName": alarm, "NewStateValue": "ALARM", "NewStateReason": "emulator exercise"}
            handler.handler({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}, None)
            status = codedeploy.get_deployment(deploymentId=second)["deploymentInfo"]["status"]
            results.append(("alarm notification via SNS", "Stopped", status))
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="emulator exercise done")

    width = max(len(r[0]) for r in results)
    print(f"{cfg.region}: health Lambda against the deployed {group}:")
    for scenario, expected, got in results:
        print(f"  {scenario.ljust(width)}  expected {expected:<9}  got {got}")
    wrong = [f"{cfg.region}: health Lambda: {s}: expected {e}, got {g}" for s, e, g in results if e != g]
    if wrong:
        print(f"{cfg.region}: the function's decision log:\n{decisions.getvalue()}", file=sys.stderr)
        raise UserError(wrong)
    return results

