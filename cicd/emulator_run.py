"""`nox -s emulator`: the whole pipeline deployed into a local AWS emulator, checked, torn down.

Synthesizes both regions, starts a moto server on a free loopback port, applies each region with
the real Terraform AWS provider (local state), prints the outputs, fails if a second plan would
change anything (drift), exercises the health-check Lambda's handler against what was deployed,
destroys everything and stops the emulator. `--keep` leaves the emulator and the state running for
exploration instead. Whatever fails, no terraform process, emulator or temporary state is left.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from cicd import synth, teardown
from cicd.config import RegionConfig, load_all
from cicd.deploy import emulator_workroot, print_outputs, synth_out
from cicd.errors import UserError, run_cli
from cicd.terraform import Terraform, prepare_workdir


@dataclass
class RegionRun:
    region: str
    terraform: Terraform
    resources: int = 0
    apply_seconds: float = 0.0
    destroy_seconds: float = 0.0
    outputs: Dict[str, object] = field(default_factory=dict)


def _quiet_emulator_log(path: Path) -> None:
    """The emulator's request errors go to a log file, not over the progress lines."""
    handler = logging.FileHandler(path)
    for name in ("werkzeug", "moto"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False


def apply(run: RegionRun) -> None:
    tf = run.terraform
    tf.init()
    summary = tf.plan()
    print(f"{run.region}: plan: {summary}", flush=True)
    run.apply_seconds = tf.apply(total=summary.add)
    run.resources = len([r for r in tf.state_list() if not r.startswith("data.")])
    run.outputs = tf.outputs()
    print(f"{run.region}: {run.resources} resources applied in {run.apply_seconds:.0f} s", flush=True)


def check_drift(run: RegionRun) -> List[str]:
    summary = run.terraform.plan(out="drift.tfplan")
    if not summary.changes:
        print(f"{run.region}: re-plan shows no changes", flush=True)
        return []
    return [f"{run.region}: drift: {change}" for change in run.terraform.changed_resources("drift.tfplan")]


def destroy(run: RegionRun, cfg: RegionConfig, env: Dict[str, str], attempts: int = 3) -> None:
    """Operator steps (teardown.prepare_destroy), then destroy; repeated while a bucket refills.

    Log delivery into a bucket can land after it was emptied (AWS delivers access logs late too),
    so a destroy that stops at a non-empty bucket empties it again and destroys what is left.
    """
    tf = run.terraform
    started = time.perf_counter()
    for attempt in range(1, attempts + 1):
        for step in teardown.prepare_destroy(cfg, env):
            print(f"{run.region}: {step}", flush=True)
        summary = tf.plan(out="destroy.tfplan", destroy=True)
        try:
            tf.apply("destroy.tfplan", total=summary.destroy, verb="destroyed")
            break
        except UserError as err:
            if attempt == attempts or "BucketNotEmpty" not in str(err):
                raise
            print(f"{run.region}: a bucket refilled during destroy; emptying it again", flush=True)
    run.destroy_seconds = time.perf_counter() - started
    left = [r for r in tf.state_list() if not r.startswith("data.")]
    if left:
        raise UserError(f"{run.region}: destroy left {len(left)} resources in state: {', '.join(left[:5])}")
    print(f"{run.region}: destroyed in {run.destroy_seconds:.0f} s, state empty", flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s emulator --", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the emulator and state running afterwards")
    parser.add_argument("--region", action="append", default=[], help="only this region (repeatable)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    configs = load_all()
    by_region = {c.region: c for c in configs}
    regions = args.region or [c.region for c in configs]
    unknown = sorted(set(regions) - {c.region for c in configs})
    if unknown:
        raise UserError(f"--region {unknown[0]}: allowed: {', '.join(c.region for c in configs)}")
    synth.main([a for r in regions for a in ("--region", r)])

    from cicd import lambda_exercise
    from cicd.emulator import start

    emulator = start()
    workroot = emulator_workroot(emulator.port)
    workroot.mkdir(parents=True, exist_ok=True)
    _quiet_emulator_log(workroot / "emulator.log")
    print(f"emulator: {emulator.endpoint} (request log {workroot / 'emulator.log'})", flush=True)
    runs = [RegionRun(r, Terraform(prepare_workdir(synth_out() / "stacks" / r, workroot / r, r, True),
                                   env=emulator.subprocess_env(r), label=r)) for r in regions]
    succeeded = False
    try:
        for run in runs:
            apply(run)
        for run in runs:
            print_outputs(run.region, run.outputs)
        problems = [p for run in runs for p in check_drift(run)]
        if problems:
            raise UserError(problems)
        for run in runs:
            lambda_exercise.run(by_region[run.region], emulator.subprocess_env(run.region))
        if args.keep:
            _hold(emulator, runs)
            succeeded = True
            return 0
        for run in runs:
            destroy(run, by_region[run.region], emulator.subprocess_env(run.region))
        succeeded = True
    finally:
        for run in runs:
            run.terraform.kill()
        emulator.stop()
        if not succeeded and (workroot / "emulator.log").exists():
            kept = workroot.parent / "last-failure.log"
            shutil.copy2(workroot / "emulator.log", kept)
            print(f"emulator request log kept in {kept}", file=sys.stderr)
        # The emulator's state was in memory: the local state files would describe nothing.
        shutil.rmtree(workroot, ignore_errors=True)
    total = time.perf_counter() - started
    print("\nemulator run: " + "; ".join(
        f"{r.region}: {r.resources} resources, apply {r.apply_seconds:.0f} s, destroy {r.destroy_seconds:.0f} s"
        for r in runs) + f"; total {total:.0f} s")
    return 0


def _hold(emulator, runs: List[RegionRun]) -> None:
    """--keep: leave everything up until Ctrl-C, and say how to reach it."""
    print(f"\nThe emulator keeps running at {emulator.endpoint}. From another shell:")
    print(f"  export AWS_ENDPOINT_URL={emulator.endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
    print(f"  aws --region {runs[0].region} ecs list-services --cluster {runs[0].outputs.get('ecs_cluster', '')}")
    for run in runs:
        print(f"  terraform -chdir={run.terraform.workdir} state list   # {run.region}")
        print(f"  nox -s deploy-{'east' if run.region == 'us-east-1' else 'west'} -- --emulator {emulator.endpoint}")
    print("Press Ctrl-C to stop it (its state is in memory and goes with it).", flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        print("\nstopping the emulator")


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.exit(run_cli(main))
