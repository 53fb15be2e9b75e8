"""Deploy entry point: bad input and missing credentials fail in one line, before anything is touched."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cicd.deploy import cli as deploy, state_lock, terraform
from cicd.workspace.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, extra_env=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                "AWS_EC2_METADATA_DISABLED": "true", **(extra_env or {})})
    return subprocess.run([sys.executable, "-m", "cicd.deploy.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=120)


def _assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_missing_credentials_fail_before_anything_is_touched(tmp_path: Path) -> None:
    before = sorted(p.name for p in REPO.iterdir())
    result = _run("deploy", "us-east-1", "--auto-approve")
    _assert_one_line_error(result, "AWS credentials", "none found")
    assert sorted(p.name for p in REPO.iterdir()) == before  # no .deploy/, no new output folder
    assert "synthesizing" not in result.stdout


def test_unknown_region_is_named() -> None:
    _assert_one_line_error(_run("deploy", "eu-north-9"), "eu-north-9", "us-east-1", "us-west-2")


def test_failover_of_the_primary_is_refused() -> None:
    _assert_one_line_error(_run("failover", "us-east-1"), "already the primary")


@pytest.mark.parametrize("url", ["https://127.0.0.1:5000", "http://10.0.0.5:5000", "http://127.0.0.1"])
def test_emulator_url_must_be_a_local_endpoint(url: str) -> None:
    _assert_one_line_error(_run("deploy", "us-west-2", "--emulator", url), "--emulator", "127.0.0.1")


def test_confirmation_needs_a_terminal_or_auto_approve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    with pytest.raises(UserError, match="--auto-approve"):
        deploy.confirm("us-east-1", "Apply?", auto_approve=False, what="plan has changes")
    assert deploy.confirm("us-east-1", "Apply?", auto_approve=True, what="plan has changes")


def test_emulator_keeps_the_s3_backend_and_only_adds_where_s3_is(tmp_path: Path) -> None:
    """Issue #16: the emulator gets the stack's own S3 backend (lock file included), not a local-state override."""
    stack = tmp_path / "stack"
    stack.mkdir()
    backend = {"s3": {"bucket": "shop-tfstate-us-west-2", "key": "k.tfstate", "region": "us-west-2", "encrypt": True,
                      "use_lockfile": True}}
    (stack / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend},
                                                   "resource": {"aws_sns_topic": {"t": {"name": "x"}}}}))
    work = terraform.prepare_workdir(stack, tmp_path / "work", "us-west-2", emulator="http://127.0.0.1:4510")
    override = json.loads((work / terraform.OVERRIDE_FILE).read_text())
    assert "terraform" not in override  # no backend override
    provider = override["provider"]["aws"][0]
    assert provider["region"] == "us-west-2" and provider["s3_use_path_style"] is True
    assert "resource" not in override  # the emulator gets exactly the resources AWS gets
    assert json.loads((work / "cdk.tf.json").read_text()) == json.loads((stack / "cdk.tf.json").read_text())
    settings = (work / terraform.BACKEND_FILE).read_text()
    assert 's3  = "http://127.0.0.1:4510"' in settings and "use_path_style = true" in settings
    assert not {"bucket", "key", "region", "use_lockfile"} & {line.split("=")[0].strip() for line in settings.splitlines()}
    terraform.prepare_workdir(stack, work, "us-west-2", emulator=None)
    assert not (work / terraform.OVERRIDE_FILE).exists() and not (work / terraform.BACKEND_FILE).exists()


def test_lock_error_names_holder_and_age() -> None:
    """terraform's "Error acquiring the state lock" output becomes who holds the lock, since when, its ID."""
    from datetime import datetime, timezone

    text = "\n".join([
        "╷", "│ Error: Error acquiring the state lock", "│ ",
        "│ Error message: operation error S3: PutObject, https response error StatusCode: 412, api error",
        "│ PreconditionFailed: At least one of the pre-conditions you specified did not hold",
        "│ Lock Info:", "│   ID:        038e19d6-38d5-784c-84e7-04d09654f78b",
        "│   Path:      shop-tfstate-us-east-1/cicd-pipeline/us-east-1.tfstate",
        "│   Operation: OperationTypeApply", "│   Who:       ci@runner-7", "│   Version:   1.11.4",
        "│   Created:   2026-11-29 20:07:34.078645747 +0000 UTC", "│   Info:      ", "╵"])
    lock = state_lock.lock_info(text)
    assert lock is not None and lock.id == "038e19d6-38d5-784c-84e7-04d09654f78b" and lock.who == "ci@runner-7"
    now = datetime(2026, 11, 29, 20, 8, 16, tzinfo=timezone.utc)
    assert lock.describe(now) == "ci@runner-7 (apply, 42 s ago, lock ID 038e19d6-38d5-784c-84e7-04d09654f78b)"
    assert "min ago" in lock.describe(datetime(2026, 11, 29, 20, 30, tzinfo=timezone.utc))
    assert state_lock.lock_info("Error: something else\n  ID: x") is None


def test_a_locked_state_fails_in_one_line_with_the_unlock_command(tmp_path: Path) -> None:
    script = tmp_path / "fake-terraform"
    # What `terraform plan -json` prints when the lock is held (terraform 1.11.4, captured): a diagnostic whose
    # detail is the "Lock Info" block.
    diagnostic = {"@level": "error", "@message": "Error: Error acquiring the state lock", "type": "diagnostic",
                  "diagnostic": {"severity": "error", "summary": "Error acquiring the state lock",
                                 "detail": "Error message: resource temporarily unavailable\nLock Info:\n"
                                           "  ID:        abc-123\n  Path:      terraform.tfstate\n"
                                           "  Operation: OperationTypeApply\n  Who:       a@b\n  Version:   1.11.4\n"
                                           "  Created:   2026-11-29 20:07:34.078645747 +0000 UTC\n  Info:      \n\n\n"
                                           "Terraform acquires a state lock to protect the state from being written"}}
    script.write_text(f"#!/bin/sh\necho '{json.dumps(diagnostic)}'\nexit 1\n")
    script.chmod(0o755)
    tf = terraform.Terraform(tmp_path, label="us-east-1")
    tf.binary = str(script)
    with pytest.raises(state_lock.StateLocked) as exc:
        tf.plan()
    where = deploy.Target(region="us-east-1", env={}, workdir=tmp_path, endpoint=None, account="1", emulator_arg=())
    [line] = deploy._locked(exc.value, where).problems
    assert line.startswith("us-east-1: the state is locked by a@b (apply, ") and "lock ID abc-123" in line
    assert line.endswith("release the lock: nox -s deploy-east -- --unlock abc-123")


def test_terraform_errors_become_one_line() -> None:
    text = "\n".join(["Planning...", "╷", "│ Error: creating SNS Topic (x): AccessDenied", "│ ", "│   with aws_sns_topic.t,",
                      "╵"])
    line = terraform._first_error(text)
    assert "\n" not in line and line.startswith("Error: creating SNS Topic (x): AccessDenied")


def test_json_diagnostics_become_one_readable_line() -> None:
    """`terraform apply -json`: the first error diagnostic, not the raw JSON line that mentions "Error:"."""
    events = [{"@level": "info", "@message": "aws_sns_topic.t: Creating...", "type": "apply_start"},
              {"@level": "error", "@message": "Error: deleting VPC Security Group Rule (sgr-1)", "type": "diagnostic",
               "diagnostic": {"severity": "error", "summary": "deleting VPC Security Group Rule (sgr-1)",
                              "detail": "api error InvalidPermission.NotFound:\n  no such rule"}},
              {"@level": "error", "@message": "Error: second", "type": "diagnostic",
               "diagnostic": {"severity": "error", "summary": "second", "detail": ""}}]
    line = terraform._first_error("\n".join(json.dumps(e) for e in events))
    assert line == "deleting VPC Security Group Rule (sgr-1): api error InvalidPermission.NotFound: no such rule"


def test_a_halted_terraform_stops_and_starts_nothing_more(tmp_path: Path) -> None:
    """halt() (the emulator died): the running command ends at once and no further command starts."""
    import threading
    import time

    tf = terraform.Terraform(tmp_path, label="us-west-2")
    tf.binary = "sleep"  # stands in for a terraform command that would retry for minutes
    threading.Timer(0.5, tf.halt, args=("the us-west-2 emulator stopped",)).start()
    started = time.monotonic()
    with pytest.raises(UserError):
        tf._run("30")
    assert time.monotonic() - started < 10
    with pytest.raises(UserError, match=r"^terraform plan \(us-west-2\) not started: the us-west-2 emulator stopped$"):
        tf.plan()


def test_recoverable_apply_errors_are_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The caller handles BucketNotEmpty (empties the bucket, destroys again): not shown as news, still raised."""
    events = [{"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "deleting S3 Bucket (b)",
                                                    "detail": "api error BucketNotEmpty: not empty"}},
              {"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "deleting Rule (r)",
                                                    "detail": "api error AccessDenied"}}]
    script = tmp_path / "fake-terraform"
    script.write_text("#!/bin/sh\n" + "".join(f"echo '{json.dumps(e)}'\n" for e in events) + "exit 1\n")
    script.chmod(0o755)
    tf = terraform.Terraform(tmp_path, label="us-east-1")
    tf.binary = str(script)
    with pytest.raises(UserError, match="BucketNotEmpty"):
        tf.apply("destroy.tfplan", verb="destroyed", recoverable=("BucketNotEmpty",))
    shown = capsys.readouterr().err
    assert "AccessDenied" in shown and "BucketNotEmpty" not in shown
