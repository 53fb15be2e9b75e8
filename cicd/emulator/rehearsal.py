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
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import ipaddress
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Tuple

from cicd.workspace import naming, smoke
from cicd.workspace.config import ROOT, RegionConfig, SmokeRequest, Stage
from cicd.workspace.errors import UserError

HANDLER_DIR = ROOT / "lambda" / "health_check"
PROBE_TIMEOUT_SECONDS = 1.0
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                  "digest": "sha256:" + "a" * 64},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1,
                                   "digest": "sha256:" + "b" * 64}]})
HOOK = "AfterAllowTestTraffic"
REHEARSAL_TAG = "rehearsal-"


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


class GreenTasks:
    """A local HTTP server answering as the replacement tasks would behind the test listener."""

    def __init__(self, health: str, version: str) -> None:
        self.mode = "healthy"
        self.hits: List[str] = []
        green = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                green.hits.append(self.path)
                if green.mode == "timeout":
                    time.sleep(PROBE_TIMEOUT_SECONDS * 2.5)
                status, body = {health: (200, "ok"), version: (200, "version 7")}.get(self.path, (404, "no"))
                if green.mode == "500":
                    status, body = 500, "internal error"
                elif green.mode == "wrong-body" and self.path == version:
                    body = "oops"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the probe gave up waiting: the timeout case

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextlib.contextmanager
    def running(self) -> Iterator["GreenTasks"]:
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


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
    with _environment(emulator_env), green.running():
        session = boto3.session.Session(region_name=cfg.region)
        aws = {name: session.client(name)
               for name in ("codedeploy", "ecs", "ecr", "elbv2", "cloudwatch", "sns", "lambda")}
        ec2 = session.client("ec2")
        eni = None
        try:
            topic = next(t["TopicArn"] for t in aws["sns"].list_topics()["Topics"]
                         if t["TopicArn"].endswith(f":{cfg.project}-pipeline-notifications"))
            task_definition = _release(aws, cfg, service)
            alb_suffix, eni = _alb_node(aws, ec2, cfg)
            probe = aws["lambda"].get_function(FunctionName=naming.test_probe(cfg))["Configuration"]["FunctionName"]
            lambda_env = {"CODEDEPLOY_APPLICATION": application, "NOTIFICATION_TOPIC_ARN": topic,
                          "PROJECT_NAME": cfg.project, "MAX_ATTEMPTS": "2",
                          "PROBE_TIMEOUT_SECONDS": str(PROBE_TIMEOUT_SECONDS),
                          "SMOKE_CHECKS": smoke.smoke_checks_json(cfg), "PROBE_FUNCTION": probe,
                          # the applied ALB; the stand-in's port in place of the test listener's
                          "TEST_LISTENERS": json.dumps({group: {"alb": alb_suffix, "scheme": "http",
                                                                "port": int(green.url.rsplit(":", 1)[1])}}),
                          "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
            handler = _load_handler()
            invocations = _run_probe_function_here()

            def release(name: str, expected: str, *, mode: str = "healthy") -> str:
                green.mode = mode
                deployment = _deploy(aws, cfg, application, group, service, task_definition)
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
                                           taskSet=_task_set_of(aws, cfg, service, deployment), force=True)
                return deployment

            with _environment(lambda_env), contextlib.redirect_stdout(decisions):
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
                    revision=_revision(cfg, other, task_definition))["deploymentId"]
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
            _clean_up(aws, ec2, cfg, service, eni)

    width = max(len(r[0]) for r in results)
    print(f"{cfg.region}: blue/green rehearsal of {group} (green tasks at {green.url}, {len(green.hits)} requests):")
    for case, expected, got in results:
        print(f"  {case.ljust(width)}  expected {expected:<40}  got {got}")
    wrong = [f"{cfg.region}: rehearsal: {c}: expected {e}, got {g}" for c, e, g in results if e != g]
    if wrong:
        print(f"{cfg.region}: the function's decision log:\n{decisions.getvalue()}", file=sys.stderr)
        raise UserError(wrong)
    return results


def _alb_node(aws: Dict[str, Any], ec2: Any, cfg: RegionConfig) -> Tuple[str, str]:
    """A network interface of the applied staging ALB at 127.0.0.1 (ELB creates its nodes' interfaces in
    the ALB's subnets, described `ELB app/<name>/<id>`; moto creates none). Returns `app/<name>/<id>` and
    the interface's id."""
    alb = aws["elbv2"].describe_load_balancers(Names=[naming.alb(cfg, Stage.STAGING)])["LoadBalancers"][0]
    suffix = alb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    eni = ec2.create_network_interface(SubnetId=alb["AvailabilityZones"][0]["SubnetId"], Description=f"ELB {suffix}",
                                       PrivateIpAddress="127.0.0.1")["NetworkInterface"]["NetworkInterfaceId"]
    return suffix, eni


def _clean_up(aws: Dict[str, Any], ec2: Any, cfg: RegionConfig, service, eni: Any) -> None:
    """Remove what the rehearsal added: its images (with the release tags the hook gave them), the
    stand-in ALB interface and the green target."""
    repository = naming.ecr_repository(cfg, service)
    images = aws["ecr"].list_images(repositoryName=repository)["imageIds"]
    digests = {i["imageDigest"] for i in images if str(i.get("imageTag", "")).startswith(
        (REHEARSAL_TAG, "release-" + REHEARSAL_TAG))}
    if digests:
        aws["ecr"].batch_delete_image(repositoryName=repository, imageIds=[{"imageDigest": d} for d in digests])
    if eni:
        ec2.delete_network_interface(NetworkInterfaceId=eni)
    green = aws["elbv2"].describe_target_groups(Names=[naming.target_group(cfg, Stage.STAGING, service, "green")])[
        "TargetGroups"][0]["TargetGroupArn"]
    targets = [d["Target"] for d in aws["elbv2"].describe_target_health(TargetGroupArn=green)[
        "TargetHealthDescriptions"]]
    if targets:
        aws["elbv2"].deregister_targets(TargetGroupArn=green, Targets=targets)


def _run_probe_function_here() -> List[Dict[str, Any]]:
    """The hook's synchronous Invoke of the probe function runs the function's own handler in this process
    (moto runs no function code without Docker): the Lambda service's part, nothing of the hook's."""
    from botocore.awsrequest import AWSResponse
    from botocore.response import StreamingBody

    hc_aws, hc_probe = sys.modules["hc_aws"], sys.modules["hc_probe"]

    invocations: List[Dict[str, Any]] = []

    def invoke(params: Dict[str, Any], **_: Any) -> Any:
        invocations.append(json.loads(params.get("body") or b"{}"))
        answer = json.dumps(hc_probe.handler(invocations[-1], None)).encode()
        return (AWSResponse("https://lambda.invalid", 200, {}, None),
                {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(answer), len(answer)),
                 "ResponseMetadata": {"HTTPStatusCode": 200}})

    hc_aws.session().events.register("before-call.lambda.Invoke", invoke)
    return invocations


def _release(aws: Dict[str, Any], cfg: RegionConfig, service) -> str:
    """Push an image (as the build does) and register the task definition the pipeline would."""
    repository = naming.ecr_repository(cfg, service)
    tag = f"{REHEARSAL_TAG}{int(time.time())}"
    aws["ecr"].put_image(repositoryName=repository, imageManifest=MANIFEST, imageTag=tag)
    uri = aws["ecr"].describe_repositories(repositoryNames=[repository])["repositories"][0]["repositoryUri"]
    family = naming.task_family(cfg, Stage.STAGING, service)
    return aws["ecs"].register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": naming.container(service), "image": f"{uri}:{tag}",
                               "portMappings": [{"containerPort": service.port}]}],
    )["taskDefinition"]["taskDefinitionArn"]


def _revision(cfg: RegionConfig, service, task_definition: str) -> Dict[str, Any]:
    appspec = {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": task_definition, "LoadBalancerInfo": {"ContainerName": naming.container(service),
                                                                "ContainerPort": service.port}}}}],
               "Hooks": [{HOOK: naming.health_function(cfg)}]}
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}}


def _deploy(aws: Dict[str, Any], cfg: RegionConfig, application: str, group: str, service,
            task_definition: str) -> str:
    """CreateDeployment, then what CodeDeploy does before the hook: the replacement task set, attached to
    the green target group, with a registered (healthy in moto) target."""
    deployment = aws["codedeploy"].create_deployment(applicationName=application, deploymentGroupName=group,
                                                     revision=_revision(cfg, service, task_definition))["deploymentId"]
    green = aws["elbv2"].describe_target_groups(Names=[naming.target_group(cfg, Stage.STAGING, service, "green")])[
        "TargetGroups"][0]["TargetGroupArn"]
    vpc = ipaddress.IPv4Network(cfg.vpc_cidr)
    private = list(vpc.subnets(new_prefix=vpc.prefixlen + 4))[3]
    aws["elbv2"].register_targets(TargetGroupArn=green,
                                  Targets=[{"Id": str(private.network_address + 20), "Port": service.port}])
    ecs_service = naming.ecs_service(cfg, Stage.STAGING, service)
    network = aws["ecs"].describe_services(cluster=naming.cluster(cfg), services=[ecs_service])["services"][0][
        "networkConfiguration"]
    aws["ecs"].create_task_set(
        cluster=naming.cluster(cfg), service=ecs_service, networkConfiguration=network,
        taskDefinition=task_definition, externalId=deployment, launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": green, "containerName": naming.container(service),
                        "containerPort": service.port}])
    return deployment


def _task_set_of(aws: Dict[str, Any], cfg: RegionConfig, service, deployment: str) -> str:
    described = aws["ecs"].describe_services(cluster=naming.cluster(cfg),
                                             services=[naming.ecs_service(cfg, Stage.STAGING, service)])
    return next(ts["taskSetArn"] for ts in described["services"][0].get("taskSets") or []
                if ts.get("externalId") == deployment)
