"""Fixtures for the emulator tests: one patched moto server for the whole session, and (for the tests that
show each gap) one unpatched moto server in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cicd.emulator import server as emulator_mod  # noqa: E402
from cicd.emulator.endpoint import ACCESS_KEY, SECRET_KEY  # noqa: E402

REGION = "eu-west-1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "terraform: runs the real terraform CLI (hashicorp/aws 5.100.0) against the emulator; slow (~2 min)",
    )


def _client_factory(endpoint: str) -> Callable[..., Any]:
    import boto3
    from botocore.config import Config

    def make(service: str, region: str = REGION, **config: Any) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
        )

    return make


@pytest.fixture(scope="package")
def emulator() -> Iterator[emulator_mod.Emulator]:
    """The patched moto server, shared by every test of this package. Package-scoped, not session-scoped:
    the patches change moto for the whole process while an emulator runs, and other test packages
    (e.g. tests/lambda, which uses moto in-process) must see plain moto again after this one."""
    emu = emulator_mod.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="package")
def aws(emulator: emulator_mod.Emulator) -> Callable[..., Any]:
    """aws("codecommit") -> a boto3 client of the patched emulator (no retries)."""
    return _client_factory(emulator.endpoint)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="package")
def plain_moto() -> Iterator[str]:
    """An unpatched moto server (a separate process, so the in-process patches do not reach it)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTO_", "AWS_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("unpatched moto server did not start")
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="package")
def plain_aws(plain_moto: str) -> Callable[..., Any]:
    """plain_aws("codecommit") -> a boto3 client of the unpatched moto server (no retries)."""
    return _client_factory(plain_moto)
