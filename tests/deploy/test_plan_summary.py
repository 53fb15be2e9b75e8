"""How a plan is counted and listed: `cicd.deploy.terraform.summarize` / `changed` on `terraform show -json` plans,
and how a plan terraform refuses is reported.

The plans here are written in Terraform's documented JSON plan format (resource_changes[].change.actions);
tests/emulator/test_drift.py shows the same functions on real plans of real drift in the emulator.
"""
from __future__ import annotations

import json
from typing import List

import pytest

from cicd.deploy.terraform import PlanSummary, Terraform, changed, summarize
from cicd.workspace.errors import UserError


def _plan(*changes: List[str]) -> dict:
    return {"format_version": "1.2", "resource_changes": [
        {"address": f"aws_thing.r{i}", "change": {"actions": actions}} for i, actions in enumerate(changes)]}


def test_counts_follow_terraforms_own_summary_line() -> None:
    """A replacement (delete+create either way round) counts once to add and once to destroy, as terraform says."""
    plan = _plan(["create"], ["update"], ["update"], ["delete"], ["delete", "create"], ["create", "delete"],
                 ["no-op"], ["read"])
    assert summarize(plan) == PlanSummary(add=3, change=2, destroy=3)
    assert str(summarize(plan)) == "3 to add, 2 to change, 3 to destroy"


def test_no_changes() -> None:
    for plan in ({}, _plan(), _plan(["no-op"], ["no-op"])):
        summary = summarize(plan)
        assert summary == PlanSummary(0, 0, 0) and not summary.changes
        assert changed(plan) == []


def test_any_single_kind_of_change_is_a_change() -> None:
    assert PlanSummary(1, 0, 0).changes and PlanSummary(0, 1, 0).changes and PlanSummary(0, 0, 1).changes


def test_changed_names_each_touched_resource_with_its_actions() -> None:
    plan = _plan(["no-op"], ["update"], ["delete", "create"], ["create"])
    assert changed(plan) == ["aws_thing.r1 (update)", "aws_thing.r2 (delete/create)", "aws_thing.r3 (create)"]


def test_a_failed_plan_is_reported_in_one_plain_line(tmp_path) -> None:
    """The real terraform, on a configuration it refuses: the error is one line without terminal colours
    (terraform colours its output unless told not to, whether or not it writes to a terminal)."""
    (tmp_path / "main.tf.json").write_text(json.dumps({"output": {"x": {"value": "${var.missing}"}}}))
    with pytest.raises(UserError) as caught:
        Terraform(tmp_path, label="east").plan()
    message = str(caught.value)
    assert message.startswith("terraform plan (east) failed: Error: Reference to undeclared input variable on "
                              "main.tf.json line 1, in output.x:"), message
    assert "\x1b" not in message and "\n" not in message
