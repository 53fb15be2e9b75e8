"""The commands `nox -s bench` measures, each run exactly as a user runs it, and checked to have worked.

Why it exists: a figure is only worth printing if the run did its job, and every run must do the
same work. Each runs in the same environment (`child_env`: quiet jsii, a fixed DEPLOYMENT_ID, never
an inherited CDKTF_OUTDIR) into a fresh temporary folder, and a run that fails (non-zero exit, or a
synth that wrote no cdk.tf.json for a region) raises BenchError with one line saying which and why.

- floor:      `python -m bench.floor_app` (provider bindings as published + one resource per region)
- lean floor: `python -m bench.floor_app --on-demand` (only the provider modules used, as the stack)
- full:       `python -m stack.app` (cdktf.json's app: both regions, every resource)
- preview:    `python -m cicd.docs.preview --out <tmp>`
- no-op:      `python -m cicd.deploy.synth --out <tmp>` when nothing changed (the synth cache hit)
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bench.floor_app import REGIONS
from bench.measure import BenchError, Run, measure

DEPLOYMENT_ID = "20260101T000000Z"  # fixed, so every full synth does the same work
REUSED = "inputs unchanged"  # what cicd.deploy.synth prints for each region it does not synthesize


def child_env(**extra: str) -> Dict[str, str]:
    """The environment of every measured run: ours, quiet jsii, a fixed deployment ID."""
    env = dict(os.environ)
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["DEPLOYMENT_ID"] = DEPLOYMENT_ID
    env.pop("CDKTF_OUTDIR", None)
    env.update(extra)
    return env


def last_line(output: str) -> str:
    """The output's last non-blank line: usually the error, for a one-line failure report."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def require(run: Run, what: str, outdir: Optional[Path] = None) -> Run:
    """The run, if it worked (exit 0 and, given an outdir, a cdk.tf.json per region); else BenchError."""
    missing = [r for r in REGIONS if outdir is not None and not (outdir / "stacks" / r / "cdk.tf.json").is_file()]
    if run.ok and not missing:
        return run
    why = f"exit status {run.returncode}: {last_line(run.output)}" if not run.ok else \
        f"no cdk.tf.json for {', '.join(missing)}"
    raise BenchError(f"{what} failed ({why}); command: {' '.join(run.argv)}")


def synth_run(module: str, what: str, scratch: Path, args: Sequence[str] = ()) -> Run:
    """`python -m <module>` with CDKTF_OUTDIR a fresh folder, checked to have written both stacks."""
    outdir = Path(tempfile.mkdtemp(prefix=f"{what.replace(' ', '-')}-", dir=scratch))
    try:
        run = measure([sys.executable, "-m", module, *args], env=child_env(CDKTF_OUTDIR=str(outdir)))
        return require(run, what, outdir)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def floor_run(scratch: Path) -> Run:
    return synth_run("bench.floor_app", "floor", scratch)


def lean_floor_run(scratch: Path) -> Run:
    return synth_run("bench.floor_app", "lean floor", scratch, args=["--on-demand"])


def full_run(scratch: Path) -> Run:
    return synth_run("stack.app", "full synth", scratch)


def preview_run(scratch: Path) -> Run:
    out = Path(tempfile.mkdtemp(prefix="preview-", dir=scratch))
    try:
        argv = [sys.executable, "-m", "cicd.docs.preview", "--out", str(out / "out")]
        return require(measure(argv, env=child_env()), "preview")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def noop_synth_runs(runs: int, scratch: Path) -> List[Run]:
    """Prime `cicd.deploy.synth --out` once (not measured), then `runs` re-synths that must reuse every region."""
    out = scratch / "noop-synth"
    argv = [sys.executable, "-m", "cicd.deploy.synth", "--out", str(out)]
    require(measure(argv, env=child_env()), "synth (priming the cache)")
    timed = []
    for _ in range(runs):
        run = require(measure(argv, env=child_env()), "no-op synth")
        if run.output.count(REUSED) < len(REGIONS):
            # An input changed between the runs (someone edited stack/ or cicd/): prime again, once.
            require(measure(argv, env=child_env()), "synth (priming the cache again)")
            run = require(measure(argv, env=child_env()), "no-op synth")
            if run.output.count(REUSED) < len(REGIONS):
                raise BenchError("no-op synth synthesized again twice in a row: its inputs keep changing")
        timed.append(run)
    return timed
