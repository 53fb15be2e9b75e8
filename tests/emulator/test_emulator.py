"""The emulator wrapper: endpoint, client environment, start/stop, and the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from cicd import emulator as emulator_mod
from cicd import moto_patches

ROOT = Path(__file__).resolve().parents[2]


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
    assert sts.get_caller_identity()["Account"] == emulator_mod.ACCOUNT_ID


def test_start_stop_context_manager_frees_port() -> None:
    with emulator_mod.start() as emu:
        port = emu.port
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    emu.stop()  # idempotent
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))


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
        "from cicd import emulator, moto_patches\n"
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
        [sys.executable, "-m", "cicd.emulator", "--port", "0", "--env-json"],
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


def test_requests_are_handled_one_at_a_time() -> None:
    """moto's backends are not thread-safe: the emulator serializes requests (see OneRequestAtATime)."""
    import threading
    import time

    from cicd.emulator import OneRequestAtATime

    inside, overlaps = [0], []

    def app(environ, start_response):
        inside[0] += 1
        overlaps.append(inside[0])
        time.sleep(0.01)
        inside[0] -= 1
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = OneRequestAtATime(app)
    threads = [threading.Thread(target=wrapped, args=({}, lambda *a: None)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1] * 8


def test_the_running_emulator_serializes_requests(emulator) -> None:
    from cicd.emulator import OneRequestAtATime

    assert isinstance(emulator._server._server.app, OneRequestAtATime)
