"""The ECS patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/ecs.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

from .helpers import ecs_cluster_and_taskdef, ecs_network


def test_ecs_create_service_dropped_members(aws) -> None:
    """Gap: CreateService drops availabilityZoneRebalancing (and healthCheckGracePeriodSeconds,
    enableECSManagedTags, enableExecuteCommand, deploymentConfiguration), so re-plans show drift."""
    ecs = aws("ecs")
    net = ecs_network(aws("ec2"))
    base = ecs_cluster_and_taskdef(ecs)
    deployment_configuration = {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    ecs.create_service(
        **base,
        serviceName="explicit",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=net,
        availabilityZoneRebalancing="DISABLED",
        healthCheckGracePeriodSeconds=60,
        enableECSManagedTags=True,
        enableExecuteCommand=True,
        deploymentConfiguration=deployment_configuration,
    )
    ecs.create_service(**base, serviceName="defaults", desiredCount=1, launchType="FARGATE", networkConfiguration=net)
    got = {
        s["serviceName"]: s
        for s in ecs.describe_services(cluster=base["cluster"], services=["explicit", "defaults"])["services"]
    }
    explicit, defaults = got["explicit"], got["defaults"]
    assert explicit["availabilityZoneRebalancing"] == "DISABLED"
    assert explicit["healthCheckGracePeriodSeconds"] == 60
    assert explicit["enableECSManagedTags"] is True
    assert explicit["enableExecuteCommand"] is True
    assert explicit["deploymentConfiguration"] == deployment_configuration
    # AWS defaults on create
    assert defaults["availabilityZoneRebalancing"] == "ENABLED"
    assert defaults["enableECSManagedTags"] is False
    assert defaults["enableExecuteCommand"] is False
    assert "healthCheckGracePeriodSeconds" not in defaults
    # UpdateService keeps working on top
    ecs.update_service(cluster=base["cluster"], service="explicit", availabilityZoneRebalancing="ENABLED")
    svc = ecs.describe_services(cluster=base["cluster"], services=["explicit"])["services"][0]
    assert svc["availabilityZoneRebalancing"] == "ENABLED"
    assert svc["healthCheckGracePeriodSeconds"] == 60
