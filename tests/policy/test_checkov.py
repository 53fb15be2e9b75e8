"""cicd.policy.checkov: how checkov's failed checks are classified against the skips declared in the stack.

Small hand-made cdk.tf.json files and checkov reports; checkov itself is a stand-in script that
prints a given report (the real checkov runs in tests/stack/test_stack_policy.py).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from cicd.policy import checkov as policy
from cicd.workspace.errors import run_cli

REPO_ROOT = Path(__file__).resolve().parents[2]
REASON = "the product requires 14-day retention"


def _resource(rtype: str, logical_id: str, skips: Optional[Any] = None, **body: Any) -> Dict[str, Any]:
    comment: Dict[str, Any] = {"metadata": {"path": f"r/{logical_id}", "uniqueId": logical_id}}
    if skips is not None:
        comment[policy.SKIP_KEY] = skips
    return {rtype: {logical_id: {"//": comment, **body}}}


def _stack(*resources: Dict[str, Any]) -> Dict[str, Any]:
    merged: Dict[str, Dict[str, Any]] = {}
    for resource in resources:
        for rtype, items in resource.items():
            merged.setdefault(rtype, {}).update(items)
    return {"//": {"metadata": {"version": "0.21.0"}}, "resource": merged}


def _failed(check_id: str, resource: str, region: str = "us-east-1", out: Path = Path("/x")) -> Dict[str, Any]:
    path = out / "stacks" / region / "cdk.tf.json"
    return {"check_id": check_id, "check_name": f"name of {check_id}", "resource": resource,
            "file_path": f"/{region}/cdk.tf.json", "file_abs_path": str(path),
            "check_result": {"result": "FAILED"}}


def _report(failed: List[Dict[str, Any]], passed: int = 10) -> Dict[str, Any]:
    return {"check_type": "terraform_json", "results": {"failed_checks": failed},
            "summary": {"passed": passed, "failed": len(failed), "skipped": 0, "parsing_errors": 0,
                        "resource_count": 0, "checkov_version": "3.3.30"}}


LOG_GROUP = _resource("aws_cloudwatch_log_group", "logs_A1", {"CKV_AWS_338": REASON}, retention_in_days=14)
BUCKET = _resource("aws_s3_bucket", "bucket_B2", bucket="b")
ALB = _resource("aws_lb", "alb_C3", {"CKV2_AWS_20": "no certificate yet"}, name="alb")


def _docs(*resources: Dict[str, Any], region: str = "us-east-1") -> Dict[str, Dict[str, Any]]:
    return {region: _stack(*resources)}


# --- classification ------------------------------------------------------------------------------

def test_failure_on_a_resource_skipping_that_check_is_suppressed():
    # resource checks name "resource.<id>", graph checks "<type>.<id>": both find the resource
    result = policy.classify(_report([_failed("CKV_AWS_338", "resource.logs_A1"),
                                      _failed("CKV2_AWS_20", "aws_lb.alb_C3")]), _docs(LOG_GROUP, ALB))
    assert [(f.check_id, f.resource, s.reason) for f, s in result.suppressed] == [
        ("CKV_AWS_338", "aws_cloudwatch_log_group.logs_A1", REASON),
        ("CKV2_AWS_20", "aws_lb.alb_C3", "no certificate yet")]
    assert result.unsuppressed == [] and result.stale == [] and result.invalid == []
    assert result.suppressed_ids == ["CKV2_AWS_20", "CKV_AWS_338"]
    assert (result.passed, result.failed) == (10, 2)
    assert result.ok


def test_failure_without_a_skip_is_unsuppressed():
    result = policy.classify(_report([_failed("CKV_AWS_338", "resource.logs_A1"),
                                      _failed("CKV_AWS_144", "aws_s3_bucket.bucket_B2")]), _docs(LOG_GROUP, BUCKET))
    assert [(f.check_id, f.resource) for f in result.unsuppressed] == [("CKV_AWS_144", "aws_s3_bucket.bucket_B2")]
    assert not result.ok


def test_a_skip_covers_only_its_own_check_id():
    result = policy.classify(_report([_failed("CKV_AWS_338", "resource.logs_A1"),
                                      _failed("CKV_AWS_158", "resource.logs_A1")]), _docs(LOG_GROUP))
    assert [f.check_id for f in result.unsuppressed] == ["CKV_AWS_158"]
    assert not result.ok


def test_a_skip_covers_only_its_own_resource_and_region():
    other_group = _resource("aws_cloudwatch_log_group", "logs_Z9", retention_in_days=14)
    docs = {"us-east-1": _stack(LOG_GROUP), "us-west-2": _stack(other_group)}
    result = policy.classify(_report([_failed("CKV_AWS_338", "resource.logs_A1", "us-east-1"),
                                      _failed("CKV_AWS_338", "resource.logs_Z9", "us-west-2")]), docs)
    assert [(f.region, f.resource) for f in result.unsuppressed] == [
        ("us-west-2", "aws_cloudwatch_log_group.logs_Z9")]


def test_a_skip_that_matches_no_failure_is_stale():
    result = policy.classify(_report([]), _docs(LOG_GROUP, BUCKET))
    assert [(s.check_id, s.resource, s.reason) for s in result.stale] == [
        ("CKV_AWS_338", "aws_cloudwatch_log_group.logs_A1", REASON)]
    assert not result.ok


def test_a_skip_with_an_empty_reason_suppresses_nothing():
    for reason in ("", "   ", None):
        group = _resource("aws_cloudwatch_log_group", "logs_A1", {"CKV_AWS_338": reason})
        result = policy.classify(_report([_failed("CKV_AWS_338", "resource.logs_A1")]), _docs(group))
        assert result.suppressed == [], reason
        assert [f.check_id for f in result.unsuppressed] == ["CKV_AWS_338"], reason
        assert result.invalid == ["us-east-1 aws_cloudwatch_log_group.logs_A1: skip of CKV_AWS_338 has no reason"]
        assert not result.ok


def test_malformed_annotations_fail_the_gate():
    for skips in (["CKV_AWS_338"], {"retention": REASON}):
        group = _resource("aws_cloudwatch_log_group", "logs_A1", skips)
        result = policy.classify(_report([]), _docs(group))
        assert len(result.invalid) == 1 and not result.ok, skips


def test_failure_on_a_resource_missing_from_the_stack_is_unsuppressed():
    result = policy.classify(_report([_failed("CKV_AWS_338", "resource.gone_X1")]), _docs(LOG_GROUP,))
    assert [f.resource for f in result.unsuppressed] == ["resource.gone_X1"]
    assert [s.check_id for s in result.stale] == ["CKV_AWS_338"]


def test_too_many_distinct_suppressed_ids_fail_the_gate():
    ids = [f"CKV_AWS_{n}" for n in range(1, policy.MAX_SUPPRESSED_IDS + 2)]
    group = _resource("aws_cloudwatch_log_group", "logs_A1", {i: REASON for i in ids})
    result = policy.classify(_report([_failed(i, "resource.logs_A1") for i in ids]), _docs(group))
    assert result.unsuppressed == [] and result.stale == []
    assert len(result.suppressed_ids) == policy.MAX_SUPPRESSED_IDS + 1
    assert not result.ok
    assert "too many distinct suppressed check ids" in policy.report(result)


def test_several_framework_reports_are_summed():
    first = _report([_failed("CKV_AWS_338", "resource.logs_A1")], passed=3)
    second = _report([], passed=4)
    result = policy.classify([first, second], _docs(LOG_GROUP))
    assert (result.passed, result.failed, len(result.suppressed)) == (7, 1, 1)


def test_report_prints_the_figures_and_tables():
    result = policy.classify(_report([_failed("CKV_AWS_338", "resource.logs_A1"),
                                      _failed("CKV_AWS_144", "aws_s3_bucket.bucket_B2")]), _docs(LOG_GROUP, ALB, BUCKET))
    text = policy.report(result)
    assert "10 passed, 2 failed" in text
    assert "CKV_AWS_338  1      " + REASON in text
    assert "aws_s3_bucket.bucket_B2" in text  # unsuppressed
    assert "CKV2_AWS_20" in text and "Stale" in text  # the ALB's skip matched nothing
    assert "suppressed: 1 results (us-east-1 1), 1 distinct check ids" in text
    assert text.rstrip().endswith("policy gate: FAILED")


# --- the command line, with a stand-in checkov ---------------------------------------------------

def _out(tmp_path: Path, docs: Dict[str, Dict[str, Any]]) -> Path:
    out = tmp_path / "cdktf.out"
    for region, doc in docs.items():
        (out / "stacks" / region).mkdir(parents=True)
        (out / "stacks" / region / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
    return out


def _fake_checkov(tmp_path: Path, stdout: str, code: int, stderr: str = "") -> Path:
    """An executable that records its arguments and prints `stdout`, exiting with `code`."""
    (tmp_path / "report.txt").write_text(stdout)
    script = tmp_path / "checkov"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, pathlib\n"
        f"here = pathlib.Path({str(tmp_path)!r})\n"
        "(here / 'argv.json').write_text(json.dumps(sys.argv[1:]))\n"
        "sys.stdout.write((here / 'report.txt').read_text())\n"
        f"sys.stderr.write({stderr!r})\n"
        f"sys.exit({code})\n")
    script.chmod(0o755)
    return script


def _process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cicd.policy.checkov", *args], cwd=str(REPO_ROOT), capture_output=True,
                          text=True, timeout=120)


def _cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m cicd.policy.checkov ARGS` through the same run_cli, in this process (mutation testing sees it)."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.getsignal(signal.SIGTERM)  # run_cli installs its own handler
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = run_cli(lambda: policy.main(list(args)))
            except SystemExit as exited:
                code = exited.code
    finally:
        signal.signal(signal.SIGTERM, previous)
    return subprocess.CompletedProcess(["cicd.policy.checkov", *args], code, out.getvalue(), err.getvalue())


@pytest.mark.skipif(os.name == "nt", reason="the stand-in checkov is a POSIX script")
def test_the_gate_as_a_process_exits_non_zero_with_one_line(tmp_path):
    out = _out(tmp_path, _docs(LOG_GROUP))
    proc = _process("--checkov", str(_fake_checkov(tmp_path, "", 2, stderr="ValueError: boom\n")), "--out", str(out))
    assert proc.returncode == 2 and proc.stderr.strip() == "error: checkov exited with 2: ValueError: boom"
    proc = _process("--checkov", str(_fake_checkov(tmp_path, json.dumps(_report([])), 0)), "--out", str(out))
    assert proc.returncode == 1 and "Stale suppressions" in proc.stdout


@pytest.mark.skipif(os.name == "nt", reason="the stand-in checkov is a POSIX script")
def test_cli_passes_when_every_failure_is_suppressed(tmp_path):
    out = _out(tmp_path, _docs(LOG_GROUP))
    report = _report([_failed("CKV_AWS_338", "resource.logs_A1", out=out)])
    checkov = _fake_checkov(tmp_path, json.dumps(report), 1)
    proc = _cli("--checkov", str(checkov), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checkov 3.3.30 on us-east-1: 10 passed, 1 failed" in proc.stdout
    assert "suppressed: 1 results (us-east-1 1), 1 distinct check ids" in proc.stdout
    assert proc.stdout.rstrip().endswith("policy gate: PASSED")
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv[:2] == ["-d", str(out / "stacks")]
    assert "terraform_json" in argv and argv[argv.index("-o") + 1] == "json"


@pytest.mark.skipif(os.name == "nt", reason="the stand-in checkov is a POSIX script")
@pytest.mark.parametrize("failed, docs, expected", [
    ([("CKV_AWS_144", "aws_s3_bucket.bucket_B2")], (LOG_GROUP, BUCKET), "Unsuppressed failures"),
    ([], (LOG_GROUP,), "Stale suppressions"),
], ids=["unsuppressed", "stale"])
def test_cli_fails_on_unsuppressed_or_stale(tmp_path, failed, docs, expected):
    out = _out(tmp_path, _docs(*docs))
    checkov = _fake_checkov(tmp_path, json.dumps(_report([_failed(c, r, out=out) for c, r in failed])), 1)
    proc = _cli("--checkov", str(checkov), "--out", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert expected in proc.stdout and proc.stdout.rstrip().endswith("policy gate: FAILED")


def _one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_cli_missing_checkov_binary_is_a_one_line_error(tmp_path):
    out = _out(tmp_path, _docs(LOG_GROUP))
    _one_line_error(_cli("--checkov", str(tmp_path / "no" / "checkov"), "--out", str(out)), "no such file")
    _one_line_error(_cli("--checkov", "no-such-checkov-binary", "--out", str(out)), "not found on PATH")


def test_cli_missing_synth_output_is_a_one_line_error(tmp_path):
    checkov = tmp_path / "checkov"
    checkov.write_text("#!/bin/sh\nexit 0\n")
    checkov.chmod(0o755)
    _one_line_error(_cli("--checkov", str(checkov), "--out", str(tmp_path / "nothing")), "nox -s synth")
    (tmp_path / "empty" / "stacks").mkdir(parents=True)
    _one_line_error(_cli("--checkov", str(checkov), "--out", str(tmp_path / "empty")), "cdk.tf.json")


@pytest.mark.skipif(os.name == "nt", reason="the stand-in checkov is a POSIX script")
def test_cli_checkov_crash_is_a_one_line_error(tmp_path):
    out = _out(tmp_path, _docs(LOG_GROUP))
    checkov = _fake_checkov(tmp_path, "", 2, stderr="Traceback ...\nValueError: boom\n")
    proc = _cli("--checkov", str(checkov), "--out", str(out))
    assert proc.returncode == 2 and proc.stderr.strip() == "error: checkov exited with 2: ValueError: boom"
    checkov = _fake_checkov(tmp_path, "not json", 1)
    _one_line_error(_cli("--checkov", str(checkov), "--out", str(out)), "no JSON report")
