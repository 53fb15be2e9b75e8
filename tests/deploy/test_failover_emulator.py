"""Disaster recovery end to end: us-west-2 standing by in its own emulator, the us-east-1 emulator
stopped, and `failover --emulator` still promotes us-west-2 to serve production.

One emulator process per region on separate ports, as the regions are separate in AWS. Slow
(two applies of the us-west-2 stack); it runs in CI like every other test.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

from cicd.workspace import naming
from cicd.workspace.config import Stage, load_region
from cicd.emulator.process import EmulatorProcess, spawn

REPO = Path(__file__).resolve().parents[2]
WEST = "us-west-2"


@pytest.fixture
def env(tmp_path: Path, cli_synth_out: Path) -> Dict[str, str]:
    return {**os.environ, "CDKTF_OUTDIR": str(cli_synth_out), "CICD_WORK_DIR": str(tmp_path),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[Dict[str, EmulatorProcess]]:
    started: Dict[str, EmulatorProcess] = {}
    try:
        for region in ("us-east-1", WEST):
            started[region] = spawn(tmp_path / f"emulator-{region}.log")
        yield started
    finally:
        for process in started.values():
            process.stop()


def _deploy(command: str, port: int, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cicd.deploy.cli", command, WEST, "--auto-approve",
                           "--emulator", f"http://127.0.0.1:{port}"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1200)


def test_failover_promotes_west_while_east_is_down(emulators, env) -> None:
    west_port = emulators[WEST].port
    standby = _deploy("deploy", west_port, env)
    assert standby.returncode == 0, standby.stderr[-3000:] + standby.stdout[-3000:]

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

    emulators["us-east-1"].stop()  # the primary region is gone
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", emulators["us-east-1"].port), timeout=2).close()

    promoted = _deploy("failover", west_port, env)
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
