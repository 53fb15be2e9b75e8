"""`nox -s emulator`: the whole pipeline deployed into a local AWS emulator, checked, torn down.

Synthesizes both regions, starts one moto server process per region on a free loopback port (the
regions share nothing, as in AWS), bootstraps each region's state bucket in its emulator, applies
each region with the real Terraform AWS provider through the stack's own S3 backend and lock file
(as on AWS; only the endpoint differs), prints the outputs, fails if a second plan would change
anything (drift), runs the blue/green rehearsal (cicd/emulator/rehearsal.py: the health Lambda's hook
against what was deployed, its HTTP checks against a local stand-in for the green tasks), destroys
everything and stops the
emulators. `--keep` leaves the emulators and the state running for exploration instead. Whatever
fails (an emulator that dies mid-apply included), no terraform process, emulator or temporary state
is left.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from cicd.deploy import synth

from cicd.emulator import teardown
from cicd.workspace.config import RegionConfig, load_all
from cicd.deploy.cli import EMULATOR_DIR, Target, emulator_workroot, ensure_state_bucket, print_outputs, synth_out
from cicd.workspace.errors import UserError, run_cli
from cicd.emulator.endpoint import ACCOUNT_ID
from cicd.emulator.process import EmulatorProcess, spawn
from cicd.emulator.wsgi import REPLAYED, RETRY
from cicd.deploy.terraform import Terraform, prepare_workdir, require_terraform

T = TypeVar("T")


@dataclass
class RegionRun:
    region: str
    terraform: Terraform
    emulator: EmulatorProcess
    resources: int = 0
    apply_seconds: float = 0.0
    destroy_seconds: float = 0.0
    outputs: Dict[str, object] = field(default_factory=dict)


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


def check_authorization(run: RegionRun) -> None:
    """The authorization gate's run-time flows again, with the ARNs the emulator gave the applied stack."""
    from cicd.policy.authz import gate

    doc = json.loads((run.terraform.workdir / "cdk.tf.json").read_text())
    text, ok = gate.check_applied(doc, run.region, run.terraform.show_state())
    print(text, flush=True)
    if not ok:
        raise UserError(f"{run.region}: a run-time call would be denied (see above)")


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
            tf.apply("destroy.tfplan", total=summary.destroy, verb="destroyed",
                     recoverable=() if attempt == attempts else ("BucketNotEmpty",))
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
    parser.add_argument("--keep", action="store_true", help="keep the emulators and state running afterwards")
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
    require_terraform()

    from cicd.emulator import rehearsal

    EMULATOR_DIR.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="run-", dir=EMULATOR_DIR))  # this run's emulator error logs
    runs: List[RegionRun] = []
    succeeded = False
    try:
        for region in regions:
            runs.append(start_region(by_region[region], logs))
        for run in runs:
            _guarded(run, "apply", apply, run)
        for run in runs:
            print_outputs(run.region, run.outputs)
        problems = [p for run in runs for p in _guarded(run, "the drift check", check_drift, run)]
        if problems:
            raise UserError(problems)
        for run in runs:
            _guarded(run, "the authorization flows", check_authorization, run)
        for run in runs:
            _guarded(run, "the blue/green rehearsal", rehearsal.run, by_region[run.region],
                     run.emulator.subprocess_env(run.region), run.emulator)
        if args.keep:
            _hold(runs)
            succeeded = True
            return 0
        for run in runs:
            _guarded(run, "destroy", destroy, run, by_region[run.region], run.emulator.subprocess_env(run.region))
        succeeded = True
    finally:
        for run in runs:
            run.terraform.kill()
            run.emulator.stop()
            retries = _retries(run.emulator.log)
            if retries[0]:  # (0, 0) is a non-empty tuple: test the count
                print(f"{run.region}: the emulator saw {retries[0]} SDK retries; {retries[1]} of them re-sent a call "
                      "already answered and got that answer again (see cicd/emulator/wsgi.py)", flush=True)
            if not succeeded and run.emulator.log.stat().st_size:
                kept = EMULATOR_DIR / f"last-failure-{run.region}.log"
                shutil.copy2(run.emulator.log, kept)
                print(f"{run.region}: emulator error log kept in {kept}", file=sys.stderr)
            # The emulator (and the state bucket in it) was in memory: the work folder would describe nothing.
            shutil.rmtree(emulator_workroot(run.emulator.port), ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    total = time.perf_counter() - started
    print("\nemulator run: " + "; ".join(
        f"{r.region}: {r.resources} resources, apply {r.apply_seconds:.0f} s, destroy {r.destroy_seconds:.0f} s"
        for r in runs) + f"; total {total:.0f} s")
    return 0


def _retries(log: Path) -> Tuple[int, int]:
    """(SDK retries, answers given again) from an emulator's error log; (0, 0) if none or unreadable."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if RETRY in line]
    except OSError:
        return 0, 0
    return (len(lines), sum(REPLAYED in line for line in lines)) if lines else (0, 0)


def start_region(cfg: RegionConfig, logs: Path, stacks: Optional[Path] = None) -> RegionRun:
    """The region's own emulator process (regions share nothing in AWS either), its state bucket and work folder.

    `stacks`: another synth output's stacks folder (tests of other inputs); default, the main synth's."""
    region = cfg.region
    emulator = spawn(logs / f"{region}.log")
    print(f"{region}: emulator {emulator.endpoint} (pid {emulator.pid})", flush=True)
    where = Target(region=region, env=emulator.subprocess_env(region),
                   workdir=emulator_workroot(emulator.port) / region, endpoint=emulator.endpoint,
                   account=ACCOUNT_ID, emulator_arg=("--emulator", emulator.endpoint))
    try:
        ensure_state_bucket(cfg, where, auto_approve=True)
    except BaseException:
        emulator.stop()
        raise
    workdir = prepare_workdir((stacks or synth_out() / "stacks") / region, where.workdir, region, emulator.endpoint)
    run = RegionRun(region, Terraform(workdir, env=where.env, label=region), emulator)
    # If the emulator dies, terraform would retry its requests for minutes: stop it at once instead.
    emulator.on_unexpected_exit(lambda _code: run.terraform.halt(f"the {region} emulator stopped"))
    return run


def _guarded(run: RegionRun, what: str, step: Callable[..., T], *step_args: object) -> T:
    """Run one step of a region; if its emulator died meanwhile, say so instead of the step's symptom."""
    try:
        return step(*step_args)
    except Exception:
        if run.emulator.exited() is None:
            raise
        raise UserError(f"{run.region}: the emulator (pid {run.emulator.pid}) stopped during {what} "
                        f"({run.emulator.describe_exit()}); terraform was stopped, nothing was left running") \
            from None


def _hold(runs: List[RegionRun]) -> None:
    """--keep: leave everything up until Ctrl-C, and say how to reach it."""
    print("\nThe emulators keep running, one per region. From another shell:")
    for run in runs:
        endpoint = run.emulator.endpoint
        print(f"  # {run.region}: {endpoint}")
        print(f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
        print(f"  aws --region {run.region} ecs list-services --cluster {run.outputs.get('ecs_cluster', '')}")
        print(f"  terraform -chdir={run.terraform.workdir} state list")
        print(f"  nox -s deploy-{'east' if run.region == 'us-east-1' else 'west'} -- --emulator {endpoint}")
    print("Press Ctrl-C to stop them (their state is in memory and goes with them).", flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        print("\nstopping the emulators")


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.exit(run_cli(main))
