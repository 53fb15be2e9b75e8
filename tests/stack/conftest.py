"""Fixtures for the CDKTF stack tests: `stack` parametrizes a test over the regions of the run's one synth.

The synths themselves (`synthesized`, `resynthesized`, `git_host_synth`) are shared by the whole suite:
tests/synth_fixtures.py. Lookups that follow Terraform references: tests/synth_model.py (`Synth`).
"""
from __future__ import annotations

from typing import Dict

import pytest
from json_walk import walk  # noqa: E402  (tests/stack is on sys.path, like conftest)
from synth_fixtures import REGIONS
from synth_model import Synth, parse_ref

from cicd.workspace.config import RegionConfig


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "terraform: runs the terraform CLI (init -backend=false, validate) on the synthesized output")


@pytest.fixture(params=REGIONS)
def stack(request: pytest.FixtureRequest, synthesized: Dict[str, Synth]) -> Synth:
    """One region's synthesized stack; tests using it run once per region."""
    return synthesized[request.param]


@pytest.fixture
def cfg(stack: Synth) -> RegionConfig:
    return stack.cfg


@pytest.fixture(scope="session")
def helpers():
    """Module-level helpers for tests (test modules cannot import conftest reliably)."""
    class _Helpers:
        parse_ref = staticmethod(parse_ref)
        walk = staticmethod(walk)
    return _Helpers
