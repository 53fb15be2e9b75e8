"""`terraform init -backend=false` and `terraform validate` on each synthesized region, and proof that the
shared validate finds an error and attributes it to its own module (tests/terraform_validation.py: one
validate of every variant of the run, each a child module of one root, with a canary that carries a
planted type error).
"""
from __future__ import annotations

import pytest
from terraform_validation import CANARY

pytestmark = pytest.mark.terraform


def test_terraform_validate(stack, validation):
    assert validation.errors(stack.region) == []


def test_the_error_planted_in_the_canary_is_found_in_its_module_only(validation):
    errors = validation.errors(CANARY)
    assert [(e["summary"], e["range"]["filename"]) for e in errors] == [
        ("Incorrect attribute value type", f"{CANARY}/cdk.tf.json")], errors
    assert "string required" in errors[0]["detail"]
    assert validation.report["valid"] is False and validation.report["error_count"] == 1
    every = {m for m in validation.modules if m != CANARY}
    assert every and all(not validation.errors(m) for m in every)  # the canary's error is charged to it alone
