"""The blue/green rehearsal (cicd/emulator/rehearsal.py) against a region's stack applied into the emulator: the hook
Lambda, invoked with the event CodeDeploy sends and a hook execution id the emulator issued, sends its
HTTP checks to a local server standing in for the green tasks. Slow (one apply); it runs in CI like every
other test, and `nox -s emulator` runs the same rehearsal on both regions."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cicd.emulator import rehearsal
from cicd.workspace.config import load_region
from cicd.emulator.process import spawn

REPO = Path(__file__).resolve().parents[2]
REGION = "us-west-2"


def test_rehearsal_cases_on_the_applied_stack(tmp_path: Path, cli_synth_out: Path) -> None:
    env = {**os.environ, "CDKTF_OUTDIR": str(cli_synth_out), "CICD_WORK_DIR": str(tmp_path),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONDONTWRITEBYTECODE": "1"}
    with spawn(tmp_path / "emulator.log") as emu:
        applied = subprocess.run([sys.executable, "-m", "cicd.deploy.cli", "deploy", REGION, "--auto-approve",
                                  "--emulator", emu.endpoint], cwd=REPO, env=env, capture_output=True, text=True,
                                 timeout=1200)
        assert applied.returncode == 0, applied.stderr[-3000:] + applied.stdout[-3000:]
        results = rehearsal.run(load_region(REGION), emu.subprocess_env(REGION), emu)
    cases = {case: (expected, got) for case, expected, got in results}
    assert len(cases) == 8
    for case, (expected, got) in cases.items():
        assert got == expected, case
    assert cases["healthy green tasks"][1].startswith("Succeeded")
    assert all(cases[c][1].startswith("Failed") and "rolled back" in cases[c][1] for c in (
        "green tasks answer 500", "green tasks time out", "green tasks answer a wrong body"))
