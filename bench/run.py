"""`nox -s bench`: how long synthesis takes and how much memory it needs, against its floor.

Why it exists: a synth's cost is mostly what the AWS provider bindings cost any CDKTF app, so its
figures mean something only beside that floor. Alternating, N runs each (medians printed):

- floor: `bench/floor_app.py`, an App with one stack per region, each an AwsProvider and one SNS
  topic, the bindings imported as published (their `__init__` loads all ~2,140 resource modules);
- lean floor: the same with only the modules it uses (`--on-demand`, as the stack loads them),
  the least any synth with these bindings can pay;
- full synth: `python -m stack.app`, as users and cdktf.json run it;

then the ratios full / floor and full / lean floor (wall, CPU, peak RSS), `python -m cicd.docs.preview`
and the no-op synth (`python -m cicd.deploy.synth` with nothing changed: the cache hit). A table of
figures, no verdicts: on a shared machine they are noisy (CPU time is steadier than wall time).
`--json` prints the same report as JSON; `--profile` adds where the full synth's time goes.

What each run is: bench/synths.py; how it is measured: bench/measure.py; the profile:
bench/profiling.py.
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
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from bench.measure import SAMPLE_INTERVAL, BenchError, Run
from bench.profiling import format_profile, run_profile
from bench.synths import floor_run, full_run, lean_floor_run, noop_synth_runs, preview_run

MB = 1024 * 1024
RATIOS = {"full/floor": "floor", "full/lean floor": "lean_floor"}  # full synth over each


# --- figures --------------------------------------------------------------------------------------

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


def summarize(runs: Sequence[Run]) -> Dict[str, Any]:
    """Medians of a measurement's runs, and each run's figures."""
    return {
        "runs": len(runs),
        "wall_s": median(r.wall_s for r in runs),
        "cpu_s": median(r.cpu_s for r in runs),
        "peak_rss_mb": median(r.peak_rss for r in runs) / MB,
        "wall_all_s": [round(r.wall_s, 3) for r in runs],
        "cpu_all_s": [round(r.cpu_s, 3) for r in runs],
        "peak_rss_all_mb": [round(r.peak_rss / MB, 1) for r in runs],
    }


def ratios(report: Dict[str, Any]) -> Dict[str, Dict[str, float]]:
    """The full synth's medians over the floor's and the lean floor's."""
    full = report["full"]
    return {name: {key: ratio(full[key], report[base][key]) for key in ("wall_s", "cpu_s", "peak_rss_mb")}
            for name, base in RATIOS.items()}


# --- the benchmark --------------------------------------------------------------------------------

def _machine() -> Dict[str, Any]:
    node = shutil.which("node")
    try:
        node_version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, TypeError, subprocess.SubprocessError):
        node_version = "?"
    return {"python": platform.python_version(), "node": node_version, "cpus": os.cpu_count(),
            "load_avg": round(os.getloadavg()[0], 2)}


def run_bench(runs: int, log: Callable[[str], None] = lambda _: None) -> Dict[str, Any]:
    """Every measurement, `runs` times; the report (medians, each run's figures, ratios)."""
    report: Dict[str, Any] = {"machine": _machine()}
    measured: Dict[str, List[Run]] = {"floor": [], "lean_floor": [], "full": []}
    kinds = {"floor": floor_run, "lean_floor": lean_floor_run, "full": full_run}
    scratch = Path(tempfile.mkdtemp(prefix="cicd-bench-"))
    try:
        for i in range(runs):  # alternated, so a burst of load on the machine hits all three alike
            for name, kind in kinds.items():
                run = kind(scratch)
                measured[name].append(run)
                log(f"  run {i + 1}/{runs}: {name.replace('_', ' '):10} {run.wall_s:5.1f} s {run.peak_rss / MB:6.0f} MB")
        report.update({name: summarize(found) for name, found in measured.items()})
        report["preview"] = summarize([preview_run(scratch) for _ in range(runs)])
        log(f"  preview {report['preview']['wall_s']:.2f} s")
        report["noop_synth"] = summarize(noop_synth_runs(runs, scratch))
        log(f"  no-op synth {report['noop_synth']['wall_s']:.2f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["machine"]["load_avg_after"] = round(os.getloadavg()[0], 2)
    report["ratios"] = ratios(report)
    return report


def format_report(report: Dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"synthesis benchmark: median of {report['floor']['runs']} runs each; Python {m['python']}, Node {m['node']}, "
        f"{m['cpus']} CPUs, load avg {m['load_avg']:.2f} -> {m['load_avg_after']:.2f}",
        "",
        f"{'':26}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}   wall s of each run",
    ]

    def row(name: str, s: Dict[str, Any]) -> str:
        each = " ".join(f"{w:.2f}" for w in s["wall_all_s"])
        return f"{name:26}{s['wall_s']:>9.2f}{s['cpu_s']:>9.2f}{s['peak_rss_mb']:>13.0f}   {each}"

    lines.append(row("floor (provider + 1 res)", report["floor"]))
    lines.append(row("lean floor (on demand)", report["lean_floor"]))
    lines.append(row("full synth (stack.app)", report["full"]))
    for name, r in report["ratios"].items():
        lines.append(f"{name:26}{r['wall_s']:>8.2f}x{r['cpu_s']:>8.2f}x{r['peak_rss_mb']:>12.2f}x")
    lines.append(row("preview", report["preview"]))
    lines.append(row("no-op synth (cache hit)", report["noop_synth"]))
    lines += [
        "",
        "full / lean floor: what our resources cost above the least any synth with these bindings pays.",
        f"peak RSS: the largest sum of the RSS of a run's processes (Python and jsii's Node), sampled every "
        f"{SAMPLE_INTERVAL * 1000:.0f} ms. On a shared machine wall times are noisy; CPU time is steadier.",
    ]
    if "profile" in report:
        lines += ["", format_profile(report["profile"])]
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--profile", action="store_true",
                        help="also run one full synth under cProfile: where its time goes")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs: allowed: 1 or more")

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    try:
        log(f"benchmarking ({args.runs} runs each; a floor or full synth takes ~5-20 s) ...")
        report = run_bench(args.runs, log)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
