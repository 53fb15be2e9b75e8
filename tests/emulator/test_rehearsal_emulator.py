"""The blue/green rehearsal (cicd/emulator/rehearsal.py) against a region's stack applied into the emulator: the hook
Lambda, invoked with the event CodeDeploy sends and a hook execution id the emulator issued, sends its
HTTP checks to a local server standing in for the green tasks. It runs against the run's one CLI deploy of
us-west-2 (`west_deployed`, tests/conftest.py; promoted by the failover test before it, in the same xdist
worker), and `nox -s emulator` runs the same rehearsal on both regions."""
from __future__ import annotations

import pytest

from cicd.emulator import rehearsal
from cicd.workspace.config import load_region

REGION = "us-west-2"
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("west-deployed")]


def test_rehearsal_cases_on_the_applied_stack(west_deployed) -> None:
    emu = west_deployed.emulator
    results = rehearsal.run(load_region(REGION), emu.subprocess_env(REGION), emu)
    cases = {case: (expected, got) for case, expected, got in results}
    assert len(cases) == 8
    for case, (expected, got) in cases.items():
        assert got == expected, case
    assert cases["healthy green tasks"][1].startswith("Succeeded")
    assert all(cases[c][1].startswith("Failed") and "rolled back" in cases[c][1] for c in (
        "green tasks answer 500", "green tasks time out", "green tasks answer a wrong body"))
