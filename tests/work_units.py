"""How xdist hands out work under `--dist loadfile` (both tiers use it): a test module is one unit of work,
run on one worker, because its tests share what the module builds (an emulator, a deploy, a lock).

A module whose cases share nothing but the run-wide synth is listed in EACH_CASE_APART: each of its cases is
a unit of its own, so they run side by side. The Git-host variant's two regions (a full apply, re-plan and
destroy each, ~3 minutes) were the longest chain of `nox -s e2e` when one worker ran them one after the
other. (xdist's own `--dist loadgroup` would say this with marks, but pytest 9.2 ignores its groups:
pytest-xdist issue #1386.)
"""
from __future__ import annotations

from typing import Optional

import pytest
from xdist.scheduler import LoadFileScheduling

EACH_CASE_APART = frozenset({"tests/emulator/test_source_git_host_emulator.py"})


class ModuleOrCaseScheduling(LoadFileScheduling):
    def _split_scope(self, nodeid: str) -> str:
        module = super()._split_scope(nodeid)
        return nodeid if module in EACH_CASE_APART else module


@pytest.hookimpl(optionalhook=True)  # pytest without xdist (-p no:xdist) does not know the hook
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> Optional[LoadFileScheduling]:
    if config.getoption("dist") == "loadfile":
        return ModuleOrCaseScheduling(config, log)
    return None  # any other --dist: xdist's own scheduler
