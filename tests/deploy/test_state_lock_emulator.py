"""Issue #16: the deploy's S3 backend and lock file, end to end against one emulator (us-west-2).

`python -m cicd.deploy.cli deploy us-west-2 --emulator URL` with the stack's own S3 backend, its state
bucket bootstrapped in the emulator. To stop an apply at a known point, the emulator holds every
non-S3 write (emulator_wsgi.HOLD_WRITES): the apply has taken the lock and created nothing.

- Two deploys at once: the second stops at once with one line naming the lock's holder and age, the
  state untouched; the first completes.
- A deploy SIGKILLed mid-apply (terraform too, as an OOM kill or a lost CI runner would): the rerun
  stops with one line saying how to release the stale lock; `--unlock ID` refuses without a terminal
  or --yes, releases with it; the rerun converges (re-plan: no changes, nothing duplicated).

Each test works on whatever the other left in the emulator (it makes its own changes to deploy), so
they run in either order; the kill test comes first because its plans are cheapest on an empty state.
Slow-ish (one full apply of the region, a few refreshes of it: ~4 minutes); runs in CI.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from cicd.workspace.config import load_region
from cicd.emulator.process import EmulatorProcess, spawn

REPO = Path(__file__).resolve().parents[2]
REGION = "us-west-2"
# `nox -s e2e` runs a module on one worker (--dist loadfile): these three share the module's emulator.
pytestmark = pytest.mark.e2e
CFG = load_region(REGION)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    process = spawn(tmp_path_factory.mktemp("state-lock") / "emulator.log")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, cli_env) -> Dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("work"))


def _args(emulator: EmulatorProcess, *extra: str) -> List[str]:
    return [sys.executable, "-m", "cicd.deploy.cli", "deploy", REGION, "--emulator", emulator.endpoint, *extra]


def _run(emulator: EmulatorProcess, env: Dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_args(emulator, *extra), cwd=REPO, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=900)


def _start(emulator: EmulatorProcess, env: Dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(_args(emulator, "--auto-approve"), cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True)


def _s3(emulator: EmulatorProcess):
    import boto3

    return boto3.client("s3", region_name=REGION, endpoint_url=emulator.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _lock(emulator: EmulatorProcess) -> Dict[str, str]:
    """The lock file's content, {} when no lock is held."""
    from botocore.exceptions import ClientError

    try:
        body = _s3(emulator).get_object(Bucket=CFG.state.bucket, Key=f"{CFG.state.key}.tflock")["Body"].read()
    except ClientError:
        return {}
    return json.loads(body)


def _state_versions(emulator: EmulatorProcess) -> List[Tuple[str, str]]:
    listed = _s3(emulator).list_object_versions(Bucket=CFG.state.bucket, Prefix=CFG.state.key)
    return [(v["Key"], v["VersionId"]) for v in listed.get("Versions", []) if v["Key"] == CFG.state.key]


def _state(emulator: EmulatorProcess) -> dict:
    return json.loads(_s3(emulator).get_object(Bucket=CFG.state.bucket, Key=CFG.state.key)["Body"].read())


def _make_changes(emulator: EmulatorProcess) -> None:
    """Give the next deploy something to apply: drop the deployed parameters behind terraform's back."""
    import boto3

    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=emulator.endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    names = [p["Name"] for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/", Recursive=True)
             for p in page["Parameters"]]
    for start in range(0, len(names), 10):
        ssm.delete_parameters(Names=names[start:start + 10])


def _until_apply_holds_lock(deploy: subprocess.Popen, emulator: EmulatorProcess, seen: List[str]) -> Dict[str, str]:
    """Read the deploy's output to its plan line, then wait until its apply has taken the lock."""
    assert deploy.stdout is not None
    for line in deploy.stdout:
        seen.append(line)
        if re.match(rf"{REGION}: plan: [1-9]\d* to add", line):
            break
    else:
        pytest.fail("the deploy ended before planning:\n" + "".join(seen) + deploy.stderr.read())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lock = _lock(emulator)
        if lock.get("Operation") == "OperationTypeApply":
            return lock
        time.sleep(0.2)
    pytest.fail("the apply never took the state lock:\n" + "".join(seen))


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr + result.stdout[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _terraform_pids(workdir: Path) -> List[int]:
    """terraform processes (each leads its own process group, with its provider) working in ``workdir``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == str(workdir) and os.getpgid(int(pid)) == int(pid):
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_a_killed_apply_is_unlocked_on_request_and_the_rerun_converges(emulator: EmulatorProcess, env) -> None:
    _make_changes(emulator)
    workdir = Path(env["CICD_WORK_DIR"]) / ".emulator" / f"port-{emulator.port}" / REGION
    emulator.hold_writes(True)
    killed = _start(emulator, env)
    seen: List[str] = []
    try:
        lock = _until_apply_holds_lock(killed, emulator, seen)
        terraform = _terraform_pids(workdir)
        assert terraform, "no terraform process found in " + str(workdir)
        os.killpg(killed.pid, signal.SIGKILL)  # the deploy, then its terraform (own process group) and provider
        for pid in terraform:
            os.killpg(pid, signal.SIGKILL)
        killed.wait(timeout=30)
    finally:
        emulator.hold_writes(False)
        if killed.poll() is None:
            os.killpg(killed.pid, signal.SIGKILL)
            killed.wait()
    assert _lock(emulator)["ID"] == lock["ID"]  # a stale lock is left behind

    line = _one_line_error(_run(emulator, env, "--auto-approve"))
    assert f"lock ID {lock['ID']}" in line and f"--unlock {lock['ID']}" in line and "if it was killed" in line

    refused = _one_line_error(_run(emulator, env, "--unlock", lock["ID"]))  # no terminal, no --yes
    assert "no terminal to confirm on" in refused and "--auto-approve" in refused
    assert _lock(emulator)["ID"] == lock["ID"]
    wrong = _one_line_error(_run(emulator, env, "--unlock", "not-the-lock", "--yes"))
    assert f"lock ID {lock['ID']}" in wrong
    released = _run(emulator, env, "--unlock", lock["ID"], "--yes")
    assert released.returncode == 0, released.stderr + released.stdout[-2000:]
    assert f"released lock {lock['ID']}" in released.stdout
    assert _lock(emulator) == {}

    rerun = _run(emulator, env, "--auto-approve")
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout[-3000:]
    assert re.search(rf"{REGION}: applied in \d+ s", rerun.stdout)
    replan = _run(emulator, env, "--auto-approve")
    assert replan.returncode == 0, replan.stderr + replan.stdout[-3000:]
    assert f"{REGION}: plan: 0 to add, 0 to change, 0 to destroy" in replan.stdout

    # nothing duplicated: what the emulator holds is what the state records
    import boto3

    client = dict(region_name=REGION, endpoint_url=emulator.endpoint, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
    in_state: Dict[str, int] = {}
    for resource in _state(emulator)["resources"]:
        if resource["mode"] == "managed":
            in_state[resource["type"]] = in_state.get(resource["type"], 0) + len(resource["instances"])
    ssm = boto3.client("ssm", **client)
    parameters = [p for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/", Recursive=True)
                  for p in page["Parameters"]]
    assert len(parameters) == in_state["aws_ssm_parameter"] > 0
    vpcs = boto3.client("ec2", **client).describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"]
    assert len(vpcs) == in_state["aws_vpc"] == 1
    roles = [r for page in boto3.client("iam", **client).get_paginator("list_roles").paginate()
             for r in page["Roles"] if r["RoleName"].startswith(f"{CFG.project}-")]
    assert len(roles) == in_state["aws_iam_role"]


def test_a_second_deploy_stops_at_once_and_the_first_completes(emulator: EmulatorProcess, env) -> None:
    _make_changes(emulator)
    emulator.hold_writes(True)
    first = _start(emulator, env)
    seen: List[str] = []
    try:
        lock = _until_apply_holds_lock(first, emulator, seen)
        versions = _state_versions(emulator)

        started = time.monotonic()
        second = _run(emulator, env, "--auto-approve")
        took = time.monotonic() - started
        line = _one_line_error(second)
        assert f"locked by {lock['Who']} (apply, " in line and f"lock ID {lock['ID']})" in line, line
        assert re.search(r"\(apply, \d+ s ago, lock ID", line), line  # the lock's age
        assert f"nox -s deploy-west -- --emulator {emulator.endpoint} --unlock {lock['ID']}" in line
        assert "plan:" not in second.stdout  # stopped before planning anything
        assert took < 120, f"the second deploy took {took:.0f} s: it waited for the lock"
        # the state untouched: no new state version, and the first deploy's lock still in place
        assert _state_versions(emulator) == versions
        assert _lock(emulator)["ID"] == lock["ID"]

        emulator.hold_writes(False)
        out, err = first.communicate(timeout=900)
    finally:
        emulator.hold_writes(False)
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    assert first.returncode == 0, err + "".join(seen) + out
    assert re.search(rf"{REGION}: applied in \d+ s", out)
    assert _lock(emulator) == {}  # released


def test_bootstrap_cli_is_idempotent_and_refuses_a_misplaced_bucket_in_one_line(emulator: EmulatorProcess,
                                                                                 env) -> None:
    def bootstrap(region: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cicd.deploy.cli", "bootstrap", region, "--emulator",
                               emulator.endpoint], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    first = bootstrap(REGION)
    assert first.returncode == 0, first.stderr
    again = bootstrap(REGION)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (f"{REGION}: state bucket s3://{CFG.state.bucket} ({REGION}): already "
                                    "bootstrapped (versioned, encrypted, public access blocked, TLS only); "
                                    "nothing changed")
    # us-east-1's bucket name, taken in us-west-2 (this emulator's S3 is one namespace, as AWS's is)
    east = load_region("us-east-1")
    _s3(emulator).create_bucket(Bucket=east.state.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    line = _one_line_error(bootstrap("us-east-1"))
    assert line == (f"error: {east.env_file}: STATE_BUCKET={east.state.bucket}: exists in {REGION}, not in "
                    "us-east-1; each region keeps its state in its own region, choose another name")
