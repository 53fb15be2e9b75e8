"""Blue/green rehearsal on the emulator: what CodeDeploy and the green tasks would do, driven for real.

moto runs no deployment and no traffic. For the staging deployment group of the first service, as
applied into the emulator, this stands in for CodeDeploy and the replacement tasks: it pushes an image
(as a build would), registers its task definition (as the pipeline would), creates a deployment, the
replacement task set and its target in the green target group (as CodeDeploy would), and invokes the
health Lambda's handler with the exact event CodeDeploy sends the AfterAllowTestTraffic hook -
DeploymentId and the LifecycleEventHookExecutionId the emulator's CodeDeploy patch issued. The hook
takes its real path to the test listener: it looks up the ALB's network interfaces (the rehearsal
adds one at 127.0.0.1 for the applied ALB, as ELB would in the public subnets) and invokes the probe
function applied in the emulator; moto runs no function code without Docker, so the probe function's
own handler (hc_probe.handler) runs here on the payload the hook sent. Its HTTP checks (SMOKE_CHECKS
from cicd/workspace/smoke.py, as the stack sets them, plus one declared smoke request with a body pattern) reach
a local HTTP server standing in for the green tasks behind the test listener. Cases:

  healthy                          -> Succeeded, deployment not rolled back
  500 from the green tasks         -> Failed, deployment failed and rolled back
  a timeout                        -> Failed, rolled back
  a body the pattern misses        -> Failed, rolled back
  this group's own alarm in ALARM  -> Failed, rolled back
  ANOTHER service's alarm in ALARM -> this service still Succeeded; that alarm's notification stops the
                                      other service's deployment only

This module holds the cases; rehearsal_release.py makes the calls the build, the pipeline, CodeDeploy and ELB
would make, and rehearsal_stand_ins.py runs the function code and the green tasks here.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import sys
from typing import Any, Callable, Dict, List, Tuple

from cicd.emulator.rehearsal_release import HOOK, alb_node, clean_up, deploy, push_release, revision, task_set_of
from cicd.emulator.rehearsal_stand_ins import (PROBE_TIMEOUT_SECONDS, GreenTasks, environment, load_handler,
                                               run_probe_function_here)
from cicd.workspace import naming, smoke
from cicd.workspace.config import RegionConfig, SmokeRequest, Stage
from cicd.workspace.errors import UserError


def run(cfg: RegionConfig, emulator_env: Dict[str, str], emulator: Any) -> List[Tuple[str, str, str]]:
    """Run every case; raise UserError when one does not end as specified. ``emulator`` (an Emulator or
    EmulatorProcess) answers the hook execution ids CodeDeploy would hand the hook, the rollback
    outcome (hook_executions) and the status the hook reported (hook_status)."""
    hook_executions: Callable[[str], Dict[str, Any]] = emulator.hook_executions
    import boto3

    service, other = cfg.services[0], cfg.services[1]
    version = f"/{service.name}/version"
    # A smoke request declared as a user would (SMOKE_REQUESTS), so a body pattern is rehearsed too.
    cfg = dataclasses.replace(cfg, smoke_requests=(SmokeRequest(service.name, version, 200, r"^version \d+$"),))
    group, other_group = (naming.deployment_group(cfg, Stage.STAGING, s) for s in (service, other))
    application = naming.codedeploy_application(cfg)
    green = GreenTasks(f"/{service.name}{service.health_path}", version)
    results: List[Tuple[str, str, str]] = []
    decisions = io.StringIO()
    with environment(emulator_env), green.running():
        session = boto3.session.Session(region_name=cfg.region)
        aws = {name: session.client(name)
               for name in ("codedeploy", "ecs", "ecr", "elbv2", "cloudwatch", "sns", "lambda")}
        ec2 = session.client("ec2")
        eni = None
        try:
            topic = next(t["TopicArn"] for t in aws["sns"].list_topics()["Topics"]
                         if t["TopicArn"].endswith(f":{cfg.project}-pipeline-notifications"))
            task_definition = push_release(aws, cfg, service)
            alb_suffix, eni = alb_node(aws, ec2, cfg)
            probe = aws["lambda"].get_function(FunctionName=naming.test_probe(cfg))["Configuration"]["FunctionName"]
            lambda_env = {"CODEDEPLOY_APPLICATION": application, "NOTIFICATION_TOPIC_ARN": topic,
                          "PROJECT_NAME": cfg.project, "MAX_ATTEMPTS": "2",
                          "PROBE_TIMEOUT_SECONDS": str(PROBE_TIMEOUT_SECONDS),
                          "SMOKE_CHECKS": smoke.smoke_checks_json(cfg), "PROBE_FUNCTION": probe,
                          # the applied ALB; the stand-in's port in place of the test listener's
                          "TEST_LISTENERS": json.dumps({group: {"alb": alb_suffix, "scheme": "http",
                                                                "port": int(green.url.rsplit(":", 1)[1])}}),
                          "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
            handler = load_handler()
            invocations = run_probe_function_here()

            def release(name: str, expected: str, *, mode: str = "healthy") -> str:
                green.mode = mode
                deployment = deploy(aws, cfg, application, group, service, task_definition)
                hook_id = hook_executions(deployment)["executions"][HOOK]
                handler.handler({"DeploymentId": deployment, "LifecycleEventHookExecutionId": hook_id}, None)
                status = aws["codedeploy"].get_deployment(deploymentId=deployment)["deploymentInfo"]["status"]
                rolled_back = hook_executions(deployment)["rolledBack"]
                reported = emulator.hook_status(deployment, hook_id) or "none"
                got = f"{reported}, deployment {status}" + (", rolled back" if rolled_back else "")
                want = ("Succeeded, deployment Created" if expected == "Succeeded"
                        else "Failed, deployment Failed, rolled back")
                results.append((name, want, got))
                aws["ecs"].delete_task_set(cluster=naming.cluster(cfg), service=naming.ecs_service(cfg, Stage.STAGING,
                                                                                                     service),
                                           taskSet=task_set_of(aws, cfg, service, deployment), force=True)
                return deployment

            with environment(lambda_env), contextlib.redirect_stdout(decisions):
                release("healthy green tasks", "Succeeded")
                release("green tasks answer 500", "Failed", mode="500")
                release("green tasks time out", "Failed", mode="timeout")
                release("green tasks answer a wrong body", "Failed", mode="wrong-body")
                own = naming.alarm(cfg, Stage.STAGING, service, "target-5xx")
                aws["cloudwatch"].set_alarm_state(AlarmName=own, StateValue="ALARM", StateReason="rehearsal")
                release(f"own alarm {own} in ALARM", "Failed")
                aws["cloudwatch"].set_alarm_state(AlarmName=own, StateValue="OK", StateReason="rehearsal done")

                foreign = naming.alarm(cfg, Stage.STAGING, other, "target-5xx")
                other_deployment = aws["codedeploy"].create_deployment(
                    applicationName=application, deploymentGroupName=other_group,
                    revision=revision(cfg, other, task_definition))["deploymentId"]
                aws["cloudwatch"].set_alarm_state(AlarmName=foreign, StateValue="ALARM", StateReason="rehearsal")
                mine = release(f"another service's alarm {foreign} in ALARM", "Succeeded")
                message = {"AlarmName": foreign, "NewStateValue": "ALARM", "NewStateReason": "rehearsal"}
                handler.handler({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]},
                                None)
                statuses = {d: aws["codedeploy"].get_deployment(deploymentId=d)["deploymentInfo"]["status"]
                            for d in (mine, other_deployment)}
                results.append((f"{foreign} notification stops only {other.name}", "Created/Stopped",
                                f"{statuses[mine]}/{statuses[other_deployment]}"))
                aws["cloudwatch"].set_alarm_state(AlarmName=foreign, StateValue="OK", StateReason="rehearsal done")
            # every release that got past alarms and targets was tested through the probe function, at the
            # ALB node's address the hook looked up
            via = {tuple(i["base_urls"]) for i in invocations}
            results.append(("HTTP checks sent by the probe function", f"5 invocations via {green.url}",
                            f"{len(invocations)} invocations via {', '.join(u for urls in via for u in urls)}"))

        finally:  # leave the applied stack as the rehearsal found it (terraform destroy empties no repository)
            clean_up(aws, ec2, cfg, service, eni)

    width = max(len(r[0]) for r in results)
    print(f"{cfg.region}: blue/green rehearsal of {group} (green tasks at {green.url}, {len(green.hits)} requests):")
    for case, expected, got in results:
        print(f"  {case.ljust(width)}  expected {expected:<40}  got {got}")
    wrong = [f"{cfg.region}: rehearsal: {c}: expected {e}, got {g}" for c, e, g in results if e != g]
    if wrong:
        print(f"{cfg.region}: the function's decision log:\n{decisions.getvalue()}", file=sys.stderr)
        raise UserError(wrong)
    return results
