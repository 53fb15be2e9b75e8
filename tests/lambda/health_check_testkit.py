"""Helpers for the health-check Lambda tests: the function loaded from lambda/health_check, the
moto world built through boto3, and the recorder/injector used on the function's own clients.

A uniquely named module rather than `conftest`: tests/ has several conftest.py files and
`from conftest import ...` would depend on which one pytest imported last.
`lambda` is a Python keyword, so the function folder goes on sys.path and handler.py is loaded under
the unique name `health_check_handler` (another Lambda's `handler` module cannot shadow it).
"""
from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "lambda" / "health_check"
sys.path.insert(0, str(FUNCTION_DIR))
_spec = importlib.util.spec_from_file_location("health_check_handler", FUNCTION_DIR / "handler.py")
assert _spec and _spec.loader
handler_module = importlib.util.module_from_spec(_spec)
sys.modules["health_check_handler"] = handler_module
_spec.loader.exec_module(handler_module)

import hc_aws  # noqa: E402  (needs the sys.path entry above)

REGION = "us-east-1"
ACCOUNT = "123456789012"
APP = "shop-ecs"
PROJECT = "shop"
GROUP = "shop-staging-api-service"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:shop-deployments"
CLUSTER = "shop-cluster"
SERVICE = "shop-staging-api-service"
ALARM_KINDS = ("running-tasks", "unhealthy-hosts", "healthy-hosts", "target-5xx")
BLUE_IPS = ("10.0.1.10", "10.0.2.10")
GREEN_IPS = ("10.0.1.20", "10.0.2.20")
HOOK_ID = "hook-exec-0001"  # an id CodeDeploy never issued (the emulator's patch refuses it)
HOOK_EVENT = "AfterAllowTestTraffic"
REPOSITORY = "shop/api-service"
IMAGE_TAG = "20261127T102500Z-abc1234"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:{IMAGE_TAG}"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                                  "digest": "sha256:" + "c" * 64},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                   "size": 32654, "digest": "sha256:" + "d" * 64}]})

# One model loader for every session of the run: a fresh loader re-parses the (large) endpoint
# and service JSON files, which made each test spend over a second building clients.
_LOADER = botocore.loaders.create_loader()


def new_session() -> boto3.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    session = boto3.session.Session(botocore_session=core)
    # boto3 appends its data path to the shared loader for every session; keep the list short.
    paths = _LOADER.search_paths
    paths[:] = list(dict.fromkeys(paths))
    return session


_TEST_SESSION = new_session()
_TEST_CLIENTS: Dict[str, Any] = {}


def aws_client(service: str) -> Any:
    """Clients for building and inspecting moto state, shared by all tests: creating an EC2
    client per test is costly, and moto's stubber serves clients made before the mock started."""
    if service not in _TEST_CLIENTS:
        _TEST_CLIENTS[service] = _TEST_SESSION.client(service, region_name=REGION)
    return _TEST_CLIENTS[service]


# IAM prefix differs from the endpoint prefix only for CloudWatch.
_IAM_PREFIX = {"monitoring": "cloudwatch"}
# Operations authorized by an IAM action of another name (Service Authorization Reference).
_IAM_ACTION = {"lambda:Invoke": "lambda:InvokeFunction"}


@dataclass
class Recorder:
    """Every AWS operation the function's own clients invoked, as IAM actions, with API params."""

    calls: List[Tuple[str, Dict[str, Any]]] = field(default_factory=list)

    def __call__(self, params: Dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model
        prefix = _IAM_PREFIX.get(service.endpoint_prefix, service.signing_name or service.endpoint_prefix)
        action = f"{prefix}:{model.name}"
        self.calls.append((_IAM_ACTION.get(action, action), dict(params)))

    @property
    def actions(self) -> set:
        return {action for action, _ in self.calls}

    def count(self, action: str) -> int:
        return sum(1 for a, _ in self.calls if a == action)


def fail_operation(event_name: str, code: str, status: int = 400, times: int = 10**6) -> List[int]:
    """Make the function's own clients get error `code` for one operation, `times` times.

    `event_name` is e.g. "elastic-load-balancing-v2.DescribeTargetHealth". Returns the list of
    attempt numbers seen (its length is the number of attempts)."""
    attempts: List[int] = []

    def before_call(**_: Any) -> Any:
        attempts.append(len(attempts) + 1)
        if len(attempts) > times:
            return None  # let the real (moto) call through
        response = AWSResponse("https://injected.invalid", status, {}, None)
        parsed = {"Error": {"Code": code, "Message": f"injected {code}"},
                  "ResponseMetadata": {"HTTPStatusCode": status}}
        return response, parsed

    hc_aws.session().events.register(f"before-call.{event_name}", before_call)
    return attempts


@dataclass
class World:
    deployment_id: str
    tg_arns: Dict[str, str]
    queue_url: str
    sqs: Any
    codedeploy: Any
    elbv2: Any
    cloudwatch: Any

    def hook_event(self, deployment_id: str = "") -> Dict[str, str]:
        """The event CodeDeploy sends the AfterAllowTestTraffic hook, with the execution id it issued."""
        deployment_id = deployment_id or self.deployment_id
        return {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": hook_id(deployment_id)}

    @property
    def hook_id(self) -> str:
        return hook_id(self.deployment_id)

    def set_alarm(self, kind: str, state: str) -> None:
        self.cloudwatch.set_alarm_state(AlarmName=f"{GROUP}-{kind}", StateValue=state, StateReason="test")

    def notifications(self) -> List[Dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def deployment_status(self, deployment_id: str = "") -> str:
        info = self.codedeploy.get_deployment(deploymentId=deployment_id or self.deployment_id)
        return info["deploymentInfo"]["status"]


def create_ecs_group(codedeploy: Any, group: str, app: str = APP, service: str = SERVICE,
                     tg_names: Tuple[str, str] = ("api-stg-blue", "api-stg-green"),
                     alarm_kinds: Tuple[str, ...] = ALARM_KINDS) -> None:
    codedeploy.create_deployment_group(
        applicationName=app,
        deploymentGroupName=group,
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy",
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        },
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        # As the stack does: the group's rollback alarms are its own, named "<group>-<kind>".
        alarmConfiguration={"enabled": True, "alarms": [{"name": f"{group}-{kind}"} for kind in alarm_kinds]},
        ecsServices=[{"clusterName": CLUSTER, "serviceName": service}],
        loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": tg_names[0]}, {"name": tg_names[1]}],
            "prodTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:prod-listener"]},
            "testTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:test-listener"]},
        }]},
    )


def hook_id(deployment_id: str) -> str:
    """The AfterAllowTestTraffic hook execution id the emulator's CodeDeploy patch issued (moto runs no
    deployment; cicd/emulator/moto_patches/codedeploy.py records one execution per AppSpec hook, as CodeDeploy does)."""
    from cicd.emulator import moto_patches

    return moto_patches.hook_executions(deployment_id).get(HOOK_EVENT, "no-hook-execution")


def create_deployment(codedeploy: Any, group: str = GROUP, app: str = APP) -> str:
    appspec = {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service"}}],
               "Hooks": [{HOOK_EVENT: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-health"}]}
    return codedeploy.create_deployment(
        applicationName=app,
        deploymentGroupName=group,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
    )["deploymentId"]


def build_world() -> World:
    """ALB with blue/green target groups and prod/test listeners, ECS service with CODE_DEPLOY
    controller and two task sets (blue PRIMARY, green ACTIVE), the group's alarms (all OK), a
    CodeDeploy ECS blue/green group with one deployment, and the SNS topic with an SQS subscriber."""
    ec2 = aws_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")
               ["Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]

    elbv2 = aws_client("elbv2")
    lb = elbv2.create_load_balancer(Name="shop-stg-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tg_arns = {}
    for color in ("blue", "green"):
        tg_arns[color] = elbv2.create_target_group(
            Name=f"api-stg-{color}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
            HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    for port, color in ((80, "blue"), (8080, "green")):  # prod listener -> blue, test listener -> green
        elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arns[color]}])
    elbv2.register_targets(TargetGroupArn=tg_arns["blue"], Targets=[{"Id": ip} for ip in BLUE_IPS])
    elbv2.register_targets(TargetGroupArn=tg_arns["green"], Targets=[{"Id": ip} for ip in GREEN_IPS])

    ecr = aws_client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY, imageTagMutability="IMMUTABLE")
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=MANIFEST, imageTag=IMAGE_TAG)

    ecs = aws_client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family=SERVICE, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "api", "image": IMAGE, "portMappings": [{"containerPort": 8080}]}])
    lb_of = {c: [{"targetGroupArn": tg_arns[c], "containerName": "api", "containerPort": 8080}] for c in tg_arns}
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=SERVICE, desiredCount=2,
                       launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"},
                       loadBalancers=lb_of["blue"])
    network = {"awsvpcConfiguration": {"subnets": subnets}}
    blue = ecs.create_task_set(cluster=CLUSTER, service=SERVICE, taskDefinition=SERVICE, launchType="FARGATE",
                               networkConfiguration=network, loadBalancers=lb_of["blue"])["taskSet"]
    ecs.update_service_primary_task_set(cluster=CLUSTER, service=SERVICE, primaryTaskSet=blue["taskSetArn"])
    ecs.create_task_set(cluster=CLUSTER, service=SERVICE, taskDefinition=SERVICE, launchType="FARGATE",
                        networkConfiguration=network, loadBalancers=lb_of["green"])

    cloudwatch = aws_client("cloudwatch")
    for kind in ALARM_KINDS:
        cloudwatch.put_metric_alarm(
            AlarmName=f"{GROUP}-{kind}", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching")
        cloudwatch.set_alarm_state(AlarmName=f"{GROUP}-{kind}", StateValue="OK", StateReason="setup")
    # Another group's alarm, to show the prefix does not leak across services.
    cloudwatch.put_metric_alarm(
        AlarmName="shop-staging-web-service-target-5xx", Namespace="AWS/ApplicationELB", MetricName="X",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName="shop-staging-web-service-target-5xx", StateValue="ALARM", StateReason="x")

    codedeploy = aws_client("codedeploy")
    codedeploy.create_application(applicationName=APP, computePlatform="ECS")
    create_ecs_group(codedeploy, GROUP)
    deployment_id = create_deployment(codedeploy)

    sns = aws_client("sns")
    topic = sns.create_topic(Name="shop-deployments")["TopicArn"]
    assert topic == TOPIC_ARN
    sqs = aws_client("sqs")
    queue_url = sqs.create_queue(QueueName="humans")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return World(deployment_id, tg_arns, queue_url, sqs, codedeploy, elbv2, cloudwatch)


def decisions(capsys: pytest.CaptureFixture) -> List[Dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("type") == "decision"]


PUT = "put_lifecycle_event_hook_execution_status"


def sent_status(gap: Dict[str, List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    return gap[PUT]


def only_decision(capsys: pytest.CaptureFixture) -> Dict[str, Any]:
    found = decisions(capsys)
    assert len(found) == 1, found  # one JSON line per decision, not one per check
    return found[0]


def sns_event(alarm_name: str, state: str = "ALARM") -> Dict[str, Any]:
    message = {"AlarmName": alarm_name, "NewStateValue": state, "OldStateValue": "OK",
               "NewStateReason": "Threshold Crossed", "Region": "US East (N. Virginia)"}
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": json.dumps(message)}}]}


PROBE_FUNCTION = "shop-test-probe"
ALB_SUFFIX = "app/shop-stg-alb/0123abcd"


def serve_probe_function() -> List[Dict[str, Any]]:
    """Stand-in for the Lambda service running the probe function: the hook's synchronous Invoke of
    PROBE_FUNCTION runs the real probe code (hc_probe.handler) on the payload the hook sent, in this
    process (moto runs no function code without Docker). Returns the payloads seen."""
    import io

    from botocore.response import StreamingBody

    import hc_probe

    seen: List[Dict[str, Any]] = []

    def before_call(params: Dict[str, Any], **_: Any) -> Any:
        body = params.get("body")
        payload = json.loads(body if isinstance(body, (bytes, str)) and body else b"{}")
        seen.append(payload)
        answer = json.dumps(hc_probe.handler(payload, None)).encode()
        response = AWSResponse("https://lambda.invalid", 200, {}, None)
        return response, {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(answer), len(answer)),
                          "ResponseMetadata": {"HTTPStatusCode": 200}}

    hc_aws.session().events.register("before-call.lambda.Invoke", before_call)
    return seen


def alb_node(address: str = "127.0.0.1") -> None:
    """An ALB node's network interface (description `ELB app/<name>/<id>`), at `address`."""
    ec2 = aws_client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet, Description=f"ELB {ALB_SUFFIX}", PrivateIpAddress=address)
