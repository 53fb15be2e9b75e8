"""cicd.policy.checkov's edges: data sources, the ways checkov names files and resources, malformed input, the exact
report, and the command line's options and errors (in-process, through run_cli, as `nox -s policy` runs it)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cicd.policy import checkov as policy
from cicd.workspace.errors import UserError

from test_checkov import (BUCKET, LOG_GROUP, REASON, _cli, _docs, _failed, _fake_checkov, _out, _report, _resource,
                          _stack)

ROLE_DATA = {"aws_iam_policy_document": {"doc_D4": {"//": {"metadata": {}, policy.SKIP_KEY: {"CKV_AWS_111": REASON}},
                                                    "statement": []}}}


def _data_docs(*resources):
    doc = _stack(*resources)
    doc["data"] = ROLE_DATA
    return {"us-east-1": doc}


def test_a_skip_on_a_data_source_suppresses_its_failure_whichever_way_checkov_names_it():
    for reported in ("data.doc_D4", "aws_iam_policy_document.doc_D4"):
        result = policy.classify(_report([_failed("CKV_AWS_111", reported)]), _data_docs(LOG_GROUP))
        assert [(f.resource, s.resource) for f, s in result.suppressed] == [
            ("data.aws_iam_policy_document.doc_D4", "data.aws_iam_policy_document.doc_D4")], reported
        assert [s.check_id for s in result.stale] == ["CKV_AWS_338"]


def test_a_name_checkov_cannot_pin_to_one_resource_stays_as_reported():
    twins = {"us-east-1": _stack(_resource("aws_s3_bucket", "same_X1"), _resource("aws_sqs_queue", "same_X1"))}
    for reported in ("resource.same_X1", "nodot", "aws_s3_bucket.other_Y2", "aws_lambda_function.same_X1"):
        result = policy.classify(_report([_failed("CKV_AWS_1", reported)]), twins)
        assert [f.resource for f in result.unsuppressed] == [reported]


@pytest.mark.parametrize("key", ["file_abs_path", "file_path", "repo_file_path"])
def test_the_region_is_found_from_any_path_field_checkov_fills(key):
    check = {"check_id": "CKV_AWS_338", "check_name": "n", "resource": "resource.logs_A1",
             key: "/somewhere/us-east-1/cdk.tf.json"}
    if key != "file_abs_path":
        check["file_abs_path"] = "/somewhere/elsewhere/cdk.tf.json"  # not a region: the next field decides
    result = policy.classify(_report([check]), _docs(LOG_GROUP))
    assert [(f.region, f.resource) for f, _ in result.suppressed] == [("us-east-1", "aws_cloudwatch_log_group.logs_A1")]


def test_a_failure_in_no_known_region_keeps_checkovs_file_and_fields():
    check = {"check_id": "CKV_AWS_9", "resource": "resource.x", "file_path": "/nowhere/cdk.tf.json"}
    result = policy.classify({"results": {"failed_checks": [check]}}, _docs(LOG_GROUP))
    assert result.unsuppressed == [policy.Failure("CKV_AWS_9", "", "/nowhere/cdk.tf.json", "resource.x")]
    # a report without a summary block: the counts are the report's own fields, else zero
    assert (result.passed, result.failed, result.checkov_version) == (0, 0, "?")
    flat = policy.classify({"passed": 3, "failed": 2, "checkov_version": "9.9"}, _docs(LOG_GROUP))
    assert (flat.passed, flat.failed, flat.checkov_version) == (3, 2, "9.9")


def test_a_report_that_is_not_an_object_is_a_one_line_error():
    with pytest.raises(UserError) as err:
        policy.classify([_report([]), "text"], _docs(LOG_GROUP))
    assert err.value.problems == ["checkov's JSON output is not a report object or a list of them"]


def test_malformed_annotations_are_named_precisely_and_do_not_hide_later_ones():
    doc = {"resource": {
        "aws_weird": ["not", "a", "map"],
        "aws_cloudwatch_log_group": {
            "plain_P0": "not a body",
            "nocomment_N0": {"retention_in_days": 1},
            "othercomment_O0": {"//": {"metadata": {}}},
            "list_L1": {"//": {policy.SKIP_KEY: ["CKV_AWS_338"]}},
            "badid_B1": {"//": {policy.SKIP_KEY: {"retention": REASON}}},
            "noreason_R1": {"//": {policy.SKIP_KEY: {"CKV_AWS_338": " "}}},
            "good_G1": {"//": {policy.SKIP_KEY: {"CKV_AWS_338": REASON}}},
        }},
        "data": {"aws_weird": None}}
    skips, invalid = policy.declared_skips("us-east-1", doc)
    assert invalid == [
        "us-east-1 aws_cloudwatch_log_group.list_L1: checkov_skip must map check ids to reasons",
        "us-east-1 aws_cloudwatch_log_group.badid_B1: 'retention' is not a checkov check id",
        "us-east-1 aws_cloudwatch_log_group.noreason_R1: skip of CKV_AWS_338 has no reason",
    ]
    assert [(s.resource, s.check_id, s.reason) for s in skips] == [
        ("aws_cloudwatch_log_group.badid_B1", "retention", REASON),
        ("aws_cloudwatch_log_group.noreason_R1", "CKV_AWS_338", " "),
        ("aws_cloudwatch_log_group.good_G1", "CKV_AWS_338", REASON),
    ]


def test_the_report_is_exact():
    docs = {"us-east-1": _stack(LOG_GROUP, BUCKET), "us-west-2": _stack(LOG_GROUP)}
    bad = _resource("aws_sqs_queue", "q_Q1", {"nope": REASON})
    docs["us-west-2"] = _stack(LOG_GROUP, bad)
    result = policy.classify(_report([_failed("CKV_AWS_338", "resource.logs_A1"),
                                      _failed("CKV_AWS_338", "resource.logs_A1", "us-west-2"),
                                      _failed("CKV_AWS_144", "aws_s3_bucket.bucket_B2")]), docs)
    assert policy.report(result) == "\n".join([
        "checkov 3.3.30 on us-east-1, us-west-2: 10 passed, 3 failed",
        "",
        "Suppressed (declared in the stack, with their reason):",
        "check        count  reason",
        "-----------  -----  -------------------------------------",
        f"CKV_AWS_338  2      {REASON}",
        "",
        "Unsuppressed failures (fix the stack, or skip with a reason where it applies):",
        "check        region     resource                 name",
        "-----------  ---------  -----------------------  -------------------",
        "CKV_AWS_144  us-east-1  aws_s3_bucket.bucket_B2  name of CKV_AWS_144",
        "",
        "Stale suppressions (the check passes or no longer applies: remove the skip):",
        "check  region     resource            reason",
        "-----  ---------  ------------------  -------------------------------------",
        f"nope   us-west-2  aws_sqs_queue.q_Q1  {REASON}",
        "",
        "Malformed suppressions:",
        "  us-west-2 aws_sqs_queue.q_Q1: 'nope' is not a checkov check id",
        "",
        f"suppressed: 2 results (us-east-1 1, us-west-2 1), 1 distinct check ids (budget "
        f"{policy.MAX_SUPPRESSED_IDS}); unsuppressed: 1; stale: 1; malformed: 1",
        "policy gate: FAILED",
    ])
    assert policy.report(policy.Result(regions=("us-east-1",))).splitlines()[-2:] == [
        f"suppressed: 0 results (none), 0 distinct check ids (budget {policy.MAX_SUPPRESSED_IDS}); "
        "unsuppressed: 0; stale: 0; malformed: 0", "policy gate: PASSED"]


def test_cli_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as done:
        policy.main(["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith("usage: python -m cicd.policy.checkov [-h] --checkov CHECKOV [--out OUT]")
    assert f"[--out OUT] {policy.__doc__.splitlines()[0]} " in text
    assert "--checkov CHECKOV the checkov executable (path, or a name on PATH) --out OUT" in text
    assert text.endswith("--out OUT synth output folder holding stacks/<region>/cdk.tf.json (default cdktf.out)")


@pytest.mark.skipif(os.name == "nt", reason="the stand-in checkov is a POSIX script")
def test_cli_finds_the_synth_output_through_cdktf_outdir_and_checkov_on_path(tmp_path, monkeypatch):
    out = _out(tmp_path, _docs(LOG_GROUP))
    _fake_checkov(tmp_path, json.dumps(_report([_failed("CKV_AWS_338", "resource.logs_A1", out=out)])), 1)
    monkeypatch.setenv("CDKTF_OUTDIR", str(out))
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    proc = _cli("--checkov", "checkov")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "argv.json").read_text()) == ["-d", str(out / "stacks"), *policy.CHECKOV_ARGS]
    monkeypatch.delenv("CDKTF_OUTDIR")
    monkeypatch.setattr(policy, "ROOT", tmp_path / "workspace")  # without CDKTF_OUTDIR: the workspace's cdktf.out
    assert _cli("--checkov", "checkov").stderr.startswith(
        f"error: no synthesized output at {tmp_path / 'workspace' / 'cdktf.out' / 'stacks'}:")


def test_cli_errors_name_the_problem(tmp_path):
    out = _out(tmp_path, _docs(LOG_GROUP))
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    assert _cli("--checkov", str(plain), "--out", str(out)).stderr == f"error: --checkov {plain}: not executable\n"
    missing = tmp_path / "nope" / "checkov"
    assert _cli("--checkov", str(missing), "--out", str(out)).stderr == (
        f"error: --checkov {missing}: no such file; build it with `nox -s policy` "
        "(pip install -r requirements-policy.txt)\n")
    assert _cli("--checkov", "no-such-checkov", "--out", str(out)).stderr == (
        "error: --checkov no-such-checkov: not found on PATH; build it with `nox -s policy` "
        "(pip install -r requirements-policy.txt)\n")
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x7fELF\x00\x00")
    garbage.chmod(0o755)
    assert _cli("--checkov", str(garbage), "--out", str(out)).stderr.startswith(
        f"error: --checkov {garbage}: cannot run it (Exec format error)")
    assert _cli("--checkov", str(_fake_checkov(tmp_path, "", 3)), "--out", str(out)).stderr == \
        "error: checkov exited with 3: no error output\n"
    assert _cli("--checkov", str(_fake_checkov(tmp_path, " not json ", 0)), "--out", str(out)).stderr == \
        "error: checkov printed no JSON report (exit 0): not json\n"
    assert _cli("--checkov", str(_fake_checkov(tmp_path, "", 1, stderr="bad\n\n")), "--out", str(out)).stderr == \
        "error: checkov printed no JSON report (exit 1): bad\n"
    assert _cli("--checkov", str(_fake_checkov(tmp_path, "", 1)), "--out", str(out)).stderr == \
        "error: checkov printed no JSON report (exit 1): no output\n"
    long = "x" * 300
    assert _cli("--checkov", str(_fake_checkov(tmp_path, long, 1)), "--out", str(out)).stderr == \
        f"error: checkov printed no JSON report (exit 1): {'x' * 200}\n"


def test_cli_unreadable_synth_output_is_a_one_line_error(tmp_path):
    out = tmp_path / "out"
    (out / "stacks" / "us-east-1").mkdir(parents=True)
    (out / "stacks" / "us-east-1" / "cdk.tf.json").write_text("{ nope")
    checkov = _fake_checkov(tmp_path, json.dumps(_report([])), 0)
    err = _cli("--checkov", str(checkov), "--out", str(out)).stderr
    assert err.startswith(f"error: {out / 'stacks' / 'us-east-1' / 'cdk.tf.json'}: not readable as JSON (")
    assert _cli("--checkov", str(checkov), "--out", str(tmp_path / "none")).stderr == (
        f"error: no synthesized output at {tmp_path / 'none' / 'stacks'}: run `nox -s synth` first (or pass --out)\n")
    (tmp_path / "empty" / "stacks").mkdir(parents=True)
    assert _cli("--checkov", str(checkov), "--out", str(tmp_path / "empty")).stderr == (
        f"error: no <region>/cdk.tf.json under {tmp_path / 'empty' / 'stacks'}: run `nox -s synth` first "
        "(or pass --out)\n")
    assert not Path(tmp_path / "argv.json").exists(), "checkov ran although the synth output was unusable"


def test_report_orders_failures_counts_per_region_and_keeps_to_the_budget():
    ids = [f"CKV_AWS_{n}" for n in range(1, policy.MAX_SUPPRESSED_IDS + 1)]
    group = _resource("aws_cloudwatch_log_group", "logs_A1", {i: REASON for i in ids})
    failed = [_failed(i, "resource.logs_A1") for i in ids] + [
        _failed("CKV_AWS_999", "aws_s3_bucket.bucket_B2"), _failed("CKV_AWS_145", "aws_s3_bucket.bucket_B2")]
    text = policy.report(policy.classify(_report(failed), _docs(group, BUCKET)))
    assert "too many distinct suppressed check ids" not in text  # exactly the budget is allowed
    assert f"suppressed: {len(ids)} results (us-east-1 {len(ids)}), {len(ids)} distinct check ids" in text
    unsuppressed = text[text.index("Unsuppressed failures"):].splitlines()[3:5]
    assert unsuppressed == ["CKV_AWS_145  us-east-1  aws_s3_bucket.bucket_B2  name of CKV_AWS_145",
                            "CKV_AWS_999  us-east-1  aws_s3_bucket.bucket_B2  name of CKV_AWS_999"]


def test_table_pads_every_column_but_the_last():
    assert policy._table(("a", "bb"), [("xxx", "y"), ("z", "long")]) == "a    bb\n---  ----\nxxx  y\nz    long"


def test_cli_without_checkov_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        policy.main(["--out", str(tmp_path)])
    assert done.value.code == 2
    assert "the following arguments are required: --checkov" in capsys.readouterr().err


def test_cli_relative_checkov_path_is_a_path_not_a_name(tmp_path):
    out = _out(tmp_path, _docs(LOG_GROUP))
    assert _cli("--checkov", "./no-such-checkov", "--out", str(out)).stderr.startswith(
        "error: --checkov ./no-such-checkov: no such file;")


@pytest.mark.skipif(os.name == "nt", reason="the stand-in checkov is a POSIX script")
def test_cli_checkov_that_hangs_is_stopped(tmp_path, monkeypatch):
    out = _out(tmp_path, _docs(LOG_GROUP))
    slow = tmp_path / "slow-checkov"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    monkeypatch.setattr(policy, "CHECKOV_TIMEOUT_SECONDS", 0.5)
    assert _cli("--checkov", str(slow), "--out", str(out)).stderr == "error: checkov did not finish within 0.5 s\n"


def test_report_lists_each_malformed_annotation_on_its_own_line():
    result = policy.Result(regions=("us-east-1",), invalid=["first problem", "second problem"])
    text = policy.report(result)
    assert "\nMalformed suppressions:\n  first problem\n  second problem\n" in text
