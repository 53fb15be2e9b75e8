"""tests/work_units.py: the units of work xdist hands out, on the suite's own node ids."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from work_units import EACH_CASE_APART, ModuleOrCaseScheduling, pytest_xdist_make_scheduler

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def e2e_ids():
    listed = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
                             "--collect-only", "-q", "-m", "e2e"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    return [line for line in listed.stdout.splitlines() if "::" in line]


@pytest.fixture
def two_workers(pytestconfig, monkeypatch):
    """This run's config as xdist's controller sees it with two workers (the schedulers count them)."""
    monkeypatch.setattr(pytestconfig.option, "tx", ["popen", "popen"], raising=False)
    return pytestconfig


def test_each_module_is_one_unit_but_the_listed_ones_split_by_case(two_workers, e2e_ids):
    scheduler = ModuleOrCaseScheduling(two_workers)
    units = {}
    for nodeid in e2e_ids:
        units.setdefault(scheduler._split_scope(nodeid), []).append(nodeid)
    for module in EACH_CASE_APART:
        cases = [i for i in e2e_ids if i.startswith(module + "::")]
        assert len(cases) >= 2, f"{module}: no longer holds several end-to-end cases to spread"
        assert all(units[case] == [case] for case in cases)
    # Everything else stays with its module: a module-scoped emulator or deploy is built once.
    state_lock = [i for i in e2e_ids if i.startswith("tests/deploy/test_state_lock_emulator.py::")]
    assert len(state_lock) == 3 and units["tests/deploy/test_state_lock_emulator.py"] == state_lock
    deployed = [i for i in e2e_ids if i.startswith("tests/emulator/test_deployed_region.py::")]
    assert units["tests/emulator/test_deployed_region.py"] == deployed and len(deployed) == 2


def test_only_loadfile_gets_this_scheduler(two_workers, monkeypatch):
    monkeypatch.setattr(two_workers.option, "dist", "loadfile", raising=False)
    assert isinstance(pytest_xdist_make_scheduler(two_workers, None), ModuleOrCaseScheduling)
    monkeypatch.setattr(two_workers.option, "dist", "load", raising=False)
    assert pytest_xdist_make_scheduler(two_workers, None) is None
