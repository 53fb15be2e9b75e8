"""Disaster recovery end to end: us-west-2 standing by in its own emulator, the us-east-1 emulator
stopped, and `failover --emulator` still promotes us-west-2 to serve production.

One emulator process per region on separate ports, as the regions are separate in AWS. The standby is
the run's one CLI deploy of us-west-2 (`west_deployed`, tests/conftest.py), which the blue/green
rehearsal uses after this test; slow (the failover's own apply); it runs in CI like every other test.
"""
from __future__ import annotations

import socket

import pytest

from cicd.workspace import naming
from cicd.workspace.config import Stage, load_region
from cicd.emulator.process import spawn

WEST = "us-west-2"
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("west-deployed")]


def test_failover_promotes_west_while_east_is_down(west_deployed, tmp_path) -> None:
    west_port = west_deployed.emulator.port
    east = spawn(tmp_path / "emulator-us-east-1.log")  # the primary region, up until the disaster

    import boto3

    def client(service: str):
        return boto3.client(service, region_name=WEST, endpoint_url=f"http://127.0.0.1:{west_port}",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    cfg = load_region(WEST)
    # A fresh install runs no task; us-west-2's own pipeline released both stages before the disaster (its
    # Activate action sets each service's release marker; moto runs no pipeline, so the test does that).
    minimum = {t["ResourceId"]: t["MinCapacity"]
               for t in client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")[
                   "ScalableTargets"]}
    assert set(minimum.values()) == {0}, minimum
    for stage in (Stage.STAGING, Stage.PRODUCTION):
        for service in cfg.services:
            client("ssm").put_parameter(Name=naming.release_marker(cfg, stage, service), Value="codebuild:release-1",
                                        Overwrite=True)

    east.stop()  # the primary region is gone
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", east.port), timeout=2).close()

    promoted = west_deployed.cli("failover")
    assert promoted.returncode == 0, promoted.stderr[-3000:] + promoted.stdout[-3000:]
    assert f"{WEST} now serves production" in promoted.stdout
    for service in cfg.services:
        assert f"production/{service.name}: http" in promoted.stdout

    targets = client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    minimum = {t["ResourceId"]: t["MinCapacity"] for t in targets}
    full = cfg.promoted().size(Stage.PRODUCTION).desired_count
    assert full > cfg.size(Stage.PRODUCTION).desired_count  # the standby really was reduced
    for service in cfg.services:
        resource = f"service/{naming.cluster(cfg)}/{naming.ecs_service(cfg, Stage.PRODUCTION, service)}"
        assert minimum[resource] == full, f"{resource} still at standby size after failover"
