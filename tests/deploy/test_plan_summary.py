"""How a plan is counted and listed: `cicd.deploy.terraform.summarize` on `terraform plan -json` events (the
plan's own count), `changed` on `terraform show -json` plans, and how a plan terraform refuses is reported.

The events and plans here are written in Terraform's documented machine-readable formats (the
`change_summary` message of the JSON UI, resource_changes[].change.actions of the JSON plan);
tests/emulator/test_drift.py shows the same code on real plans of real drift in the emulator.
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import List

import pytest

from cicd.deploy.terraform import PlanSummary, Terraform, changed, summarize
from cicd.workspace.errors import UserError


def _plan(*changes: List[str]) -> dict:
    return {"format_version": "1.2", "resource_changes": [
        {"address": f"aws_thing.r{i}", "change": {"actions": actions}} for i, actions in enumerate(changes)]}


def _summary(add: int, change: int, remove: int, operation: str = "plan") -> dict:
    """The event `terraform plan -json` prints for its "Plan: ..." line (JSON UI 1.2)."""
    return {"@level": "info", "@message": f"Plan: {add} to add, {change} to change, {remove} to destroy.",
            "@module": "terraform.ui", "type": "change_summary",
            "changes": {"add": add, "change": change, "import": 0, "remove": remove, "operation": operation}}


def _fake_terraform(tmp_path: Path, events: List[dict], code: int) -> Terraform:
    """A Terraform whose binary prints `events` as JSON lines and exits with `code`, as `plan -json` does."""
    script = tmp_path / "fake-terraform"
    script.write_text("#!/bin/sh\n" + "".join(f"echo '{json.dumps(e)}'\n" for e in events) + f"exit {code}\n")
    script.chmod(0o755)
    tf = Terraform(tmp_path, label="east")
    tf.binary = str(script)
    return tf


def test_counts_follow_terraforms_own_summary_line() -> None:
    """The counts are terraform's own change_summary (a replacement counts once to add and once to destroy
    there), whatever other events come before it; "remove" is what terraform's line calls "to destroy"."""
    events = [{"type": "version", "terraform": "1.11.4"}, {"type": "planned_change", "change": {"action": "replace"}},
              _summary(3, 2, 1)]
    assert summarize(events) == PlanSummary(add=3, change=2, destroy=1)
    assert str(summarize(events)) == "3 to add, 2 to change, 1 to destroy"
    assert summarize([_summary(0, 0, 4, operation="destroy")]) == PlanSummary(add=0, change=0, destroy=4)
    assert summarize([{"type": "version"}]) is None


def test_no_changes() -> None:
    summary = summarize([_summary(0, 0, 0)])
    assert summary == PlanSummary(0, 0, 0) and not summary.changes
    for plan in ({}, _plan(), _plan(["no-op"], ["no-op"])):
        assert changed(plan) == []


def test_plan_counts_from_its_own_output_without_a_show(tmp_path: Path) -> None:
    """Exit code 2 (changes): the count is the plan's change_summary; exit code 0: nothing to do."""
    tf = _fake_terraform(tmp_path, [{"type": "version"}, _summary(288, 0, 0)], code=2)
    args = (tmp_path / "args")
    tf.binary = str(_record_args(tmp_path, args, tf.binary))
    assert tf.plan() == PlanSummary(add=288, change=0, destroy=0)
    # By default: a plan to apply (not to destroy), saved where apply() takes it from by default.
    default_file = inspect.signature(Terraform.apply).parameters["plan_file"].default
    assert args.read_text().split() == ["plan", "-input=false", "-json", "-detailed-exitcode", f"-out={default_file}"]
    tf.plan(out="destroy.tfplan", destroy=True)
    assert args.read_text().split() == ["plan", "-input=false", "-json", "-detailed-exitcode", "-out=destroy.tfplan",
                                        "-destroy"]
    assert _fake_terraform(tmp_path, [_summary(0, 0, 0)], code=0).plan() == PlanSummary(0, 0, 0)


def test_a_plan_with_changes_but_no_count_is_an_error(tmp_path: Path) -> None:
    """Never guess: a deploy must not read "changes present" without a count as "nothing to do"."""
    tf = _fake_terraform(tmp_path, [{"type": "version"}], code=2)
    with pytest.raises(UserError, match=r"^terraform plan \(east\) reported changes but printed no count of them$"):
        tf.plan()


def _record_args(tmp_path: Path, into: Path, binary: str) -> Path:
    wrapper = tmp_path / "recording-terraform"
    wrapper.write_text(f'#!/bin/sh\necho "$@" > {into}\nexec {binary} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def test_any_single_kind_of_change_is_a_change() -> None:
    assert PlanSummary(1, 0, 0).changes and PlanSummary(0, 1, 0).changes and PlanSummary(0, 0, 1).changes


def test_changed_names_each_touched_resource_with_its_actions() -> None:
    plan = _plan(["no-op"], ["update"], ["delete", "create"], ["create"])
    assert changed(plan) == ["aws_thing.r1 (update)", "aws_thing.r2 (delete/create)", "aws_thing.r3 (create)"]


def test_a_failed_plan_is_reported_in_one_plain_line(tmp_path) -> None:
    """The real terraform, on a configuration it refuses: the error is one line saying where it points (the
    -json diagnostic's range, as terraform's human output would), without terminal colours."""
    (tmp_path / "main.tf.json").write_text(json.dumps({"output": {"x": {"value": "${var.missing}"}}}))
    with pytest.raises(UserError) as caught:
        Terraform(tmp_path, label="east").plan()
    message = str(caught.value)
    assert message.startswith("terraform plan (east) failed: Reference to undeclared input variable (main.tf.json "
                              "line 1, in output.x): An input variable with the name \"missing\""), message
    assert "\x1b" not in message and "\n" not in message


def test_a_diagnostic_says_where_it_points_when_terraform_says_so() -> None:
    """-json diagnostics carry the file and line (and the block, when there is one) in `range` and `snippet`."""
    from cicd.deploy.terraform import _first_error

    def line(**diagnostic) -> str:
        return _first_error(json.dumps({"type": "diagnostic", "diagnostic": {
            "severity": "error", "summary": "Unsupported argument", "detail": "An argument named \"x\" is not\n"
            "expected here.", **diagnostic}}))

    start = {"line": 7, "column": 3}
    assert line(range={"filename": "cdk.tf.json", "start": start}, snippet={"context": "resource.aws_sns_topic.t"}) \
        == 'Unsupported argument (cdk.tf.json line 7, in resource.aws_sns_topic.t): An argument named "x" is not ' \
           'expected here.'
    assert line(range={"filename": "cdk.tf.json", "start": start}, snippet={"context": None}) == \
        'Unsupported argument (cdk.tf.json line 7): An argument named "x" is not expected here.'
    assert line(range={"filename": "cdk.tf.json", "start": start}) == \
        'Unsupported argument (cdk.tf.json line 7): An argument named "x" is not expected here.'
    assert line(range={"filename": "cdk.tf.json"}) == \
        'Unsupported argument (cdk.tf.json): An argument named "x" is not expected here.'
    assert line() == 'Unsupported argument: An argument named "x" is not expected here.'  # provider errors: no range
