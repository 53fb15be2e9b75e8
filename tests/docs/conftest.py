"""Fixtures for the pipeline diagram tests (test_diagram.py, test_diagram_output.py).

Uses the stack tests' one synth of the current code per session (`synthesized` in tests/stack/conftest.py).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest
from diagram_testkit import REGIONS


@pytest.fixture(scope="session")
def synth_out(synthesized) -> Path:
    """The stack tests' one synth of both regions (tests/stack/conftest.py): its output folder."""
    return next(iter(synthesized.values())).directory.parent.parent


@pytest.fixture(scope="session")
def docs(synth_out: Path) -> Dict[str, Dict[str, Any]]:
    return {r: json.loads((synth_out / "stacks" / r / "cdk.tf.json").read_text()) for r in REGIONS}


@pytest.fixture(params=REGIONS)
def region(request: pytest.FixtureRequest) -> str:
    return request.param
