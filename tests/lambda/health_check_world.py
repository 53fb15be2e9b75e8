"""The moto world the health-check tests judge: a blue/green ECS service behind an ALB, its CodeDeploy group
and deployment, its alarms, the notification topic; and the events CodeDeploy and SNS send the function.

Built through boto3 with the names the stack gives (`<project>-<stage>-<service>` groups, alarms named
after their group), so the function meets the same naming contract as on AWS.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from health_check_function import REGION, aws_client

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



def sns_event(alarm_name: str, state: str = "ALARM") -> Dict[str, Any]:
    message = {"AlarmName": alarm_name, "NewStateValue": state, "OldStateValue": "OK",
               "NewStateReason": "Threshold Crossed", "Region": "US East (N. Virginia)"}
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": json.dumps(message)}}]}

