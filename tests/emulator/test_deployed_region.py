"""What runs against one CLI deploy of us-west-2 (`deploy us-west-2 --emulator URL`), in this order:

1. Disaster recovery end to end: us-west-2 standing by in its own emulator, the us-east-1 emulator
   stopped, and `failover --emulator` still promotes us-west-2 to serve production. One emulator process
   per region on separate ports, as the regions are separate in AWS.
2. The blue/green rehearsal (cicd/emulator/rehearsal.py) against the applied (now promoted) stack: the hook
   Lambda, invoked with the event CodeDeploy sends and a hook execution id the emulator issued, sends its
   HTTP checks to a local server standing in for the green tasks. `nox -s emulator` runs the same
   rehearsal on both regions, freshly applied.

One full apply serves both (`nox -s e2e` keeps a module on one worker: `--dist loadfile`).
"""
from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator

import pytest

from cicd.emulator import rehearsal
from cicd.emulator.process import EmulatorProcess, spawn
from cicd.workspace import naming
from cicd.workspace.config import Stage, load_region

REPO = Path(__file__).resolve().parents[2]
WEST = "us-west-2"
REGION = WEST
pytestmark = pytest.mark.e2e


@dataclass
class Deployed:
    """A region deployed by `python -m cicd.deploy.cli deploy REGION --emulator URL` into its own emulator."""
    region: str
    emulator: EmulatorProcess
    env: Dict[str, str]

    def cli(self, command: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cicd.deploy.cli", command, self.region, "--auto-approve",
                               "--emulator", self.emulator.endpoint, *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def west_deployed(tmp_path_factory: pytest.TempPathFactory, cli_env) -> Iterator[Deployed]:
    """us-west-2 deployed through the CLI into its own emulator, once for this module's two tests."""
    work = tmp_path_factory.mktemp("west-deployed")
    emulator = spawn(work / "emulator.log")
    try:
        deployed = Deployed("us-west-2", emulator, cli_env(work))
        done = deployed.cli("deploy")
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
        yield deployed
    finally:
        emulator.stop()


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


def test_rehearsal_cases_on_the_applied_stack(west_deployed) -> None:
    emu = west_deployed.emulator
    results = rehearsal.run(load_region(REGION), emu.subprocess_env(REGION), emu)
    cases = {case: (expected, got) for case, expected, got in results}
    assert len(cases) == 8
    for case, (expected, got) in cases.items():
        assert got == expected, case
    assert cases["healthy green tasks"][1].startswith("Succeeded")
    assert all(cases[c][1].startswith("Failed") and "rolled back" in cases[c][1] for c in (
        "green tasks answer 500", "green tasks time out", "green tasks answer a wrong body"))
