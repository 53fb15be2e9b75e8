"""The release the blue/green rehearsal (cicd/emulator/rehearsal.py) puts through the applied staging group.

moto runs no build, no pipeline and no deployment, and ELB creates no node interfaces there: this makes the
calls they would make, against what was applied - the pushed image and its task definition (build,
pipeline), the deployment with its replacement task set and green target (CodeDeploy), the ALB node at
127.0.0.1 the hook looks up (ELB) - and removes what it added, so the applied stack is left as it was found.
"""
from __future__ import annotations

import ipaddress
import json
import time
from typing import Any, Dict, Tuple

from cicd.workspace import naming
from cicd.workspace.config import RegionConfig, Stage

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                  "digest": "sha256:" + "a" * 64},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1,
                                   "digest": "sha256:" + "b" * 64}]})
HOOK = "AfterAllowTestTraffic"
REHEARSAL_TAG = "rehearsal-"


def alb_node(aws: Dict[str, Any], ec2: Any, cfg: RegionConfig) -> Tuple[str, str]:
    """A network interface of the applied staging ALB at 127.0.0.1 (ELB creates its nodes' interfaces in
    the ALB's subnets, described `ELB app/<name>/<id>`; moto creates none). Returns `app/<name>/<id>` and
    the interface's id."""
    alb = aws["elbv2"].describe_load_balancers(Names=[naming.alb(cfg, Stage.STAGING)])["LoadBalancers"][0]
    suffix = alb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    eni = ec2.create_network_interface(SubnetId=alb["AvailabilityZones"][0]["SubnetId"], Description=f"ELB {suffix}",
                                       PrivateIpAddress="127.0.0.1")["NetworkInterface"]["NetworkInterfaceId"]
    return suffix, eni


def clean_up(aws: Dict[str, Any], ec2: Any, cfg: RegionConfig, service, eni: Any) -> None:
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


def push_release(aws: Dict[str, Any], cfg: RegionConfig, service) -> str:
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


def revision(cfg: RegionConfig, service, task_definition: str) -> Dict[str, Any]:
    appspec = {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": task_definition, "LoadBalancerInfo": {"ContainerName": naming.container(service),
                                                                "ContainerPort": service.port}}}}],
               "Hooks": [{HOOK: naming.health_function(cfg)}]}
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}}


def deploy(aws: Dict[str, Any], cfg: RegionConfig, application: str, group: str, service,
            task_definition: str) -> str:
    """CreateDeployment, then what CodeDeploy does before the hook: the replacement task set, attached to
    the green target group, with a registered (healthy in moto) target."""
    deployment = aws["codedeploy"].create_deployment(applicationName=application, deploymentGroupName=group,
                                                     revision=revision(cfg, service, task_definition))["deploymentId"]
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


def task_set_of(aws: Dict[str, Any], cfg: RegionConfig, service, deployment: str) -> str:
    described = aws["ecs"].describe_services(cluster=naming.cluster(cfg),
                                             services=[naming.ecs_service(cfg, Stage.STAGING, service)])
    return next(ts["taskSetArn"] for ts in described["services"][0].get("taskSets") or []
                if ts.get("externalId") == deployment)
