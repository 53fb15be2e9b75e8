"""`nox -s bench`: how far synthesis is above its floor, and where the difference goes.

The *floor* is what any CDKTF app with the AWS provider pays as published: jsii loading the provider
bindings, whose package `__init__` imports all ~2,140 resource modules, and the provider's assembly in
Node (`bench/floor_app.py`: an App with one stack per region, each an AwsProvider and one SNS topic).
The *lean floor* is the same app loading only the modules it uses, as the stack does
(`bench/floor_app.py --on-demand`, stack.load_provider_modules_on_demand). The benchmark alternates
both with our real two-region synth (`python -m stack.app`, exactly as users and cdktf.json run it,
`CDKTF_OUTDIR` a fresh temporary folder, `DEPLOYMENT_ID` fixed), in the same environment, and prints
the median wall time, peak RSS and CPU time of each, their ratios and the targets:

    full synth <= 1.10 x floor (wall and peak RSS); preview <= 1 s; no-op re-synth <= 0.10 x floor

(full / lean floor is reported without a target: what our resources cost above the least possible.)

It also times `python -m cicd.docs.preview --out <tmp>`, a no-op `python -m cicd.deploy.synth --out <tmp>`
(primed once, then each timed run is a "second" run that must reuse every region) and, with
`--with-tests`, `python -m pytest -q -x`. A target that is missed is marked FAIL; the exit status
is 0 (it is a report) unless `--strict`. `--json` prints the same report as JSON.

`--profile` adds where the full synth's time goes (one more synth, under cProfile): bench/profiling.py.

What each run is: bench/synths.py. How it is measured (the process tree, its peak RSS, CPU time):
bench/measure.py.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from bench.measure import SAMPLE_INTERVAL, BenchError, Run, measure
from bench.profiling import format_profile, run_profile
from bench.synths import child_env, floor_run, full_run, lean_floor_run, noop_synth_runs, preview_run

# Targets: (key, bound, description). Ratios are full / floor.
FULL_WALL_RATIO = 1.10
FULL_RSS_RATIO = 1.10
PREVIEW_SECONDS = 1.0
NOOP_RATIO = 0.10

MB = 1024 * 1024


# --- statistics ---------------------------------------------------------------------------------

def median(values: Iterable[float]) -> float:
    """Median of the values (the mean of the middle two for an even count); ValueError when empty."""
    data = sorted(values)
    if not data:
        raise ValueError("median of no values")
    return float(statistics.median(data))


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator; inf for a zero denominator with a positive numerator, nan for 0/0."""
    if denominator == 0:
        return float("inf") if numerator > 0 else float("nan")
    return numerator / denominator


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    bound: float
    unit: str  # "x" (ratio) or "s"

    @property
    def passed(self) -> bool:
        return self.value == self.value and self.value <= self.bound  # nan never passes

    def describe(self) -> str:
        shown = f"{self.value:.2f}{self.unit}" if self.unit == "x" else f"{self.value:.2f} {self.unit}"
        bound = f"{self.bound:.2f}{self.unit}" if self.unit == "x" else f"{self.bound:g} {self.unit}"
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {shown} (target <= {bound})"


# --- what is measured: bench/synths.py ----------------------------------------------------------

def tests_run() -> Run:
    return measure([sys.executable, "-m", "pytest", "-q", "-x"], env=child_env(), keep_output=2000)


# --- the benchmark ---------------------------------------------------------------------------------

def summarize(runs: Sequence[Run]) -> Dict[str, Any]:
    return {
        "runs": len(runs),
        "wall_s": median(r.wall_s for r in runs),
        "cpu_s": median(r.cpu_s for r in runs),
        "peak_rss_mb": median(r.peak_rss for r in runs) / MB,
        "wall_all_s": [round(r.wall_s, 3) for r in runs],
        "cpu_all_s": [round(r.cpu_s, 3) for r in runs],
        "peak_rss_all_mb": [round(r.peak_rss / MB, 1) for r in runs],
    }


def checks(report: Dict[str, Any]) -> List[Check]:
    floor, full = report["floor"], report["full"]
    found = [
        Check("full/floor wall", ratio(full["wall_s"], floor["wall_s"]), FULL_WALL_RATIO, "x"),
        Check("full/floor peak RSS", ratio(full["peak_rss_mb"], floor["peak_rss_mb"]), FULL_RSS_RATIO, "x"),
    ]
    if "preview" in report:
        found.append(Check("preview wall", report["preview"]["wall_s"], PREVIEW_SECONDS, "s"))
    if "noop_synth" in report:
        found.append(Check("no-op synth/floor wall", ratio(report["noop_synth"]["wall_s"], floor["wall_s"]),
                           NOOP_RATIO, "x"))
    return found


def _machine() -> Dict[str, Any]:
    node = shutil.which("node")
    try:
        node_version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, TypeError, subprocess.SubprocessError):
        node_version = "?"
    return {"python": platform.python_version(), "node": node_version, "cpus": os.cpu_count(),
            "load_avg": [round(x, 2) for x in os.getloadavg()]}


def run_bench(runs: int, with_tests: bool, log: Callable[[str], None] = lambda _: None) -> Dict[str, Any]:
    report: Dict[str, Any] = {"machine": _machine()}
    scratch = Path(tempfile.mkdtemp(prefix="cicd-bench-"))
    try:
        floors: List[Run] = []
        leans: List[Run] = []
        fulls: List[Run] = []
        for i in range(runs):
            floors.append(floor_run(scratch))
            log(f"  run {i + 1}/{runs}: floor      {floors[-1].wall_s:.1f} s {floors[-1].peak_rss / MB:.0f} MB")
            leans.append(lean_floor_run(scratch))
            log(f"  run {i + 1}/{runs}: lean floor {leans[-1].wall_s:.1f} s {leans[-1].peak_rss / MB:.0f} MB")
            fulls.append(full_run(scratch))
            log(f"  run {i + 1}/{runs}: full       {fulls[-1].wall_s:.1f} s {fulls[-1].peak_rss / MB:.0f} MB")
        report["floor"] = summarize(floors)
        report["lean_floor"] = summarize(leans)
        report["full"] = summarize(fulls)
        report["preview"] = summarize([preview_run(scratch) for _ in range(runs)])
        log(f"  preview {report['preview']['wall_s']:.2f} s")
        first, noops = noop_synth_runs(runs, scratch)
        report["noop_synth"] = summarize(noops)
        report["noop_synth"]["priming_wall_s"] = first.wall_s
        log(f"  no-op synth {report['noop_synth']['wall_s']:.2f} s")
        if with_tests:
            run = tests_run()
            lines = [line for line in run.output.strip().splitlines() if line.strip()]
            report["tests"] = {**summarize([run]), "returncode": run.returncode,
                               "summary": lines[-1] if lines else ""}
            log(f"  tests {run.wall_s:.1f} s: {report['tests']['summary']}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["machine"]["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    report["ratios"] = {
        "wall": ratio(report["full"]["wall_s"], report["floor"]["wall_s"]),
        "cpu": ratio(report["full"]["cpu_s"], report["floor"]["cpu_s"]),
        "peak_rss": ratio(report["full"]["peak_rss_mb"], report["floor"]["peak_rss_mb"]),
        "noop_wall": ratio(report["noop_synth"]["wall_s"], report["floor"]["wall_s"]),
        "lean_wall": ratio(report["full"]["wall_s"], report["lean_floor"]["wall_s"]),
        "lean_cpu": ratio(report["full"]["cpu_s"], report["lean_floor"]["cpu_s"]),
        "lean_peak_rss": ratio(report["full"]["peak_rss_mb"], report["lean_floor"]["peak_rss_mb"]),
    }
    report["checks"] = [{**asdict(c), "passed": c.passed} for c in checks(report)]
    return report


def format_report(report: Dict[str, Any]) -> str:
    m = report["machine"]
    floor, full = report["floor"], report["full"]
    lines = [
        f"synthesis benchmark: {floor['runs']} runs each, alternating floor/lean floor/full; Python {m['python']}, "
        f"Node {m['node']}, {m['cpus']} CPUs, load avg {m['load_avg'][0]:.2f} -> {m['load_avg_after'][0]:.2f}",
        "",
        f"{'':24}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}   wall s of each run",
    ]

    def row(name: str, s: Dict[str, Any]) -> str:
        each = " ".join(f"{w:.2f}" for w in s["wall_all_s"])
        return f"{name:24}{s['wall_s']:>9.2f}{s['cpu_s']:>9.2f}{s['peak_rss_mb']:>13.0f}   {each}"

    lines.append(row("floor (provider + 1 res)", floor))
    lines.append(row("lean floor (on demand)", report["lean_floor"]))
    lines.append(row("full synth (stack.app)", full))
    r = report["ratios"]
    lines.append(f"{'full / floor':24}{r['wall']:>8.2f}x{r['cpu']:>8.2f}x{r['peak_rss']:>12.2f}x")
    lines.append(f"{'full / lean floor':24}{r['lean_wall']:>8.2f}x{r['lean_cpu']:>8.2f}x{r['lean_peak_rss']:>12.2f}x"
                 "   (no target: what our 551 resources cost above the least possible)")
    lines.append(row("preview", report["preview"]))
    lines.append(row("no-op synth (2nd run)", report["noop_synth"]))
    if "tests" in report:
        lines.append(row("tests (pytest -q -x)", report["tests"]) + f"   [{report['tests']['summary']}]")
    lines += [
        "",
        f"peak RSS: the largest sum of the RSS of the run's processes (Python and jsii's Node), sampled every "
        f"{SAMPLE_INTERVAL * 1000:.0f} ms with psutil",
        "",
        "targets:",
    ]
    lines += [f"  {Check(c['name'], c['value'], c['bound'], c['unit']).describe()}" for c in report["checks"]]
    if "profile" in report:
        lines += ["", format_profile(report["profile"])]
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--with-tests", action="store_true", help="also time the test suite (pytest -q -x)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one full synth with cProfile: where its time goes")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs: allowed: 1 or more")

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    try:
        log(f"benchmarking ({args.runs} runs each; a full and a floor synth take ~10-20 s each) ...")
        report = run_bench(args.runs, args.with_tests, log)
        if args.profile:
            log("profiling: one more full synth, under cProfile ...")
            scratch = Path(tempfile.mkdtemp(prefix="cicd-bench-profile-"))
            try:
                report["profile"] = run_profile(scratch)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    failed = [c for c in report["checks"] if not c["passed"]]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
