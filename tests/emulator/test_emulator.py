"""The emulator wrapper: endpoint, client environment, start/stop, and the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from cicd.emulator import process as emulator_process
from cicd.emulator import server as emulator_mod
from cicd.emulator.endpoint import ACCOUNT_ID
from cicd.emulator import moto_patches

ROOT = Path(__file__).resolve().parents[2]


def _assert_free_for_a_new_server(port: int) -> None:
    """Nothing listens on ``port`` any more: a new server can bind it. Like every server (werkzeug's too),
    with SO_REUSEADDR: a connection the old server closed may linger in TIME_WAIT on that port for a
    minute, which blocks a plain bind although nothing listens (seen once as a flake)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_endpoint_and_env(emulator) -> None:
    assert emulator.endpoint == f"http://127.0.0.1:{emulator.port}"
    env = emulator.env()
    assert env == {
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    regional = emulator.env(region="us-east-1")
    assert regional["AWS_DEFAULT_REGION"] == regional["AWS_REGION"] == "us-east-1"


def test_subprocess_env_drops_other_credentials(emulator) -> None:
    base = {
        "PATH": "/usr/bin",
        "AWS_PROFILE": "prod",
        "AWS_SESSION_TOKEN": "tok",
        "AWS_ENDPOINT_URL_S3": "https://s3.example",
        "AWS_DEFAULT_REGION": "ap-south-1",
    }
    env = emulator.subprocess_env(base=base)
    assert env["PATH"] == "/usr/bin"
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env and "AWS_ENDPOINT_URL_S3" not in env
    assert "AWS_DEFAULT_REGION" not in env
    assert env["AWS_ENDPOINT_URL"] == emulator.endpoint
    assert emulator.subprocess_env(region="eu-west-1", base=base)["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_boto3_uses_env(emulator, monkeypatch) -> None:
    """A boto3 session configured only by .env() reaches the emulator (as terraform does)."""
    for key, value in emulator.env(region="eu-west-1").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    sts = boto3.session.Session().client("sts")
    assert sts.get_caller_identity()["Account"] == ACCOUNT_ID


def test_start_stop_context_manager_frees_port() -> None:
    with emulator_mod.start() as emu:
        port = emu.port
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    emu.stop()  # idempotent
    _assert_free_for_a_new_server(port)


def test_start_on_a_port_in_use_fails_fast(emulator) -> None:
    with pytest.raises(OSError, match="cannot listen"):
        emulator_mod.start(port=emulator.port)
    assert moto_patches.applied()  # the running emulator keeps its patches


def test_patches_follow_the_in_process_emulators(emulator) -> None:
    """Patches are on while an emulator runs in this process (the package fixture's one here)."""
    assert moto_patches.applied() == list(moto_patches.PATCHES)
    with emulator_mod.start():
        assert moto_patches.applied() == list(moto_patches.PATCHES)
    assert moto_patches.applied() == list(moto_patches.PATCHES)  # the fixture's emulator still runs


def test_patches_removed_after_the_last_emulator_stops() -> None:
    """In a fresh interpreter: start -> patched; stop -> moto is plain again."""
    code = (
        "from cicd.emulator import moto_patches, server as emulator\n"
        "from moto.codecommit.responses import CodeCommitResponse as C\n"
        "e = emulator.start()\n"
        "assert 'list_tags_for_resource' in C.__dict__ and moto_patches.applied()\n"
        "e.stop()\n"
        "assert 'list_tags_for_resource' not in C.__dict__ and not moto_patches.applied()\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_runs_patched_server_and_stops_on_signal(sig) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cicd.emulator.server", "--port", "0", "--env-json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:"), line + proc.stderr.read()
        endpoint = line.rsplit(" ", 1)[-1]
        assert endpoint in proc.stdout.readline()  # the --env-json line
        cc = boto3.client(
            "codecommit",
            region_name="eu-west-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        # a patched operation answers: the CLI applies the patches too
        md = cc.create_repository(repositoryName="cli", tags={"a": "b"})["repositoryMetadata"]
        assert cc.list_tags_for_resource(resourceArn=md["Arn"])["tags"] == {"a": "b"}
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "emulator stopped" in out


def test_the_running_emulator_serializes_requests(emulator) -> None:
    from cicd.emulator.wsgi import OneRequestAtATime

    assert isinstance(emulator._server._server.app, OneRequestAtATime)


def test_spawned_emulator_has_its_own_patched_state(tmp_path) -> None:
    """spawn(): a child process with the patches, separate moto state, and a clean stop."""
    with emulator_process.spawn(tmp_path / "a.log") as first, emulator_process.spawn(tmp_path / "b.log") as second:
        assert first.port != second.port and first.exited() is None

        def codecommit(emu):
            return boto3.client("codecommit", region_name="eu-west-1", endpoint_url=emu.endpoint,
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        md = codecommit(first).create_repository(repositoryName="only-here", tags={"a": "b"})["repositoryMetadata"]
        assert codecommit(first).list_tags_for_resource(resourceArn=md["Arn"])["tags"] == {"a": "b"}  # patched
        with pytest.raises(codecommit(second).exceptions.RepositoryDoesNotExistException):
            codecommit(second).get_repository(repositoryName="only-here")  # state is not shared
        port = first.port
    assert first.exited() == 0 and first.describe_exit() == "exit code 0"
    _assert_free_for_a_new_server(port)


def test_hook_status_is_read_back_from_a_spawned_emulator(tmp_path) -> None:
    """The read-only inspection paths answer the hook executions the CodeDeploy patch issued for a
    deployment and what a lifecycle hook reported (moto runs no deployments)."""
    appspec = ('{"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service"}}], '
               '"Hooks": [{"AfterAllowTestTraffic": "arn:aws:lambda:eu-west-1:123456789012:function:hook"}]}')
    with emulator_process.spawn(tmp_path / "e.log") as emu:
        codedeploy = boto3.client("codedeploy", region_name="eu-west-1", endpoint_url=emu.endpoint,
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
        codedeploy.create_application(applicationName="app", computePlatform="ECS")
        codedeploy.create_deployment_group(applicationName="app", deploymentGroupName="group",
                                           serviceRoleArn="arn:aws:iam::123456789012:role/cd")
        deployment = codedeploy.create_deployment(
            applicationName="app", deploymentGroupName="group",
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec}})["deploymentId"]
        hook = emu.hook_executions(deployment)["executions"]["AfterAllowTestTraffic"]
        assert emu.hook_status(deployment, hook) is None
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment, lifecycleEventHookExecutionId=hook, status="Failed")
        assert emu.hook_status(deployment, hook) == "Failed"
        assert emu.hook_status(deployment, "hook-2") is None
        assert emu.hook_status("d-UNKNOWN", hook) is None
        assert emu.hook_executions("d-UNKNOWN") == {"executions": {}, "rolledBack": False}


def test_spawned_emulator_reports_an_unexpected_exit(tmp_path) -> None:
    emu = emulator_process.spawn(tmp_path / "e.log")
    seen = []
    emu.on_unexpected_exit(seen.append)
    os.kill(emu.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen == [-signal.SIGKILL]
    assert emu.describe_exit() == "killed by SIGKILL"
    emu.stop()  # stopping a dead one is fine


def test_stop_is_not_an_unexpected_exit(tmp_path) -> None:
    emu = emulator_process.spawn(tmp_path / "e.log")
    seen = []
    emu.on_unexpected_exit(seen.append)
    emu.stop()
    time.sleep(0.5)
    assert seen == [] and emu.exited() == 0


def test_spawned_emulator_stops_when_its_parent_dies(tmp_path) -> None:
    """An interrupted run cannot orphan the emulator: the child watches its stdin."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from cicd.emulator import process as emulator\n"
        f"e = emulator.spawn(Path({str(tmp_path / 'e.log')!r}))\n"
        "print(e.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()  # SIGKILL: no finally, no atexit
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        if "zombie" in Path(f"/proc/{child}/status").read_text(errors="replace"):
            break  # exited; waits for its (dead) parent's reaper
        time.sleep(0.1)
    status = Path(f"/proc/{child}/status")
    assert not status.exists() or "zombie" in status.read_text(errors="replace"), "the emulator outlived its parent"


def test_spawn_reports_a_child_that_cannot_start(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(OSError):
        emulator_process.spawn(tmp_path / "e.log")
