"""`python -m bench.run --profile`: where the time beyond the floor goes (a few more minutes).

- one instrumented run each of the floor and the full app: phases (provider import, our imports,
  config, construct, synth); jsii round trips counted and timed by kind, by candidate (the
  stage/service tag walk, the Lambda's zipfile package and its TerraformAsset, template rendering,
  aws_regions, checkov skips) and by call site in stack/ and cicd/;
- one cProfile run of the full app (our functions, after the provider import);
- fresh-process ablations for what is paid once per process (the provider package's eager
  __init__), and small fresh processes for botocore in `load_all()` and validate's ECS model;
- per-synth costs in one process after one provider import, each repeated: the unpatched app built
  once and synthesized again and again; constructing it with and without the bindings' debug-only
  type checks. Repeating inside one warm process is what makes sub-second costs measurable on a
  busy machine; whole-process A/B runs are too noisy for them.

Every run here is measured like the benchmark's (bench/measure.py `measure()`). What runs inside the
measured processes is bench/harness.py; the ablations and the per-synth measurements are
bench/variants.py.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from bench.run import MB, _require, child_env, median, summarize
from bench.measure import ROOT, Run, measure
from bench.harness import _child_argv
from bench.variants import ABLATIONS, APP_VARIANTS, PROCESS_ABLATIONS


def _harness_run(target: str, scratch: Path, **kwargs: Any) -> Tuple[Run, Dict[str, Any]]:
    outdir = Path(tempfile.mkdtemp(prefix=f"profile-{target}-", dir=scratch))
    out_json = outdir / "child.json"
    try:
        run = measure(_child_argv(target, out_json, **kwargs), env=child_env(CDKTF_OUTDIR=str(outdir / "out")))
        _require(run, f"profile harness ({target})", outdir / "out")
        return run, json.loads(out_json.read_text())
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def _top_own_functions(stats_file: Path, limit: int = 12) -> List[Dict[str, Any]]:
    import pstats

    stats = pstats.Stats(str(stats_file))
    root = str(ROOT) + os.sep
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.startswith(root) and "/bench" not in filename and not filename.endswith("bench.py"):
            rows.append({"function": f"{filename[len(root):]}:{line} ({func})", "calls": ncalls,
                         "own_s": tottime, "cumulative_s": cumtime})
    rows.sort(key=lambda r: -r["cumulative_s"])
    return rows[:limit]


def run_profile(runs: int, log: Callable[[str], None] = lambda _: None) -> Dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="cicd-bench-profile-"))
    try:
        profile: Dict[str, Any] = {}
        for target in ("floor", "full"):
            run, data = _harness_run(target, scratch, instrument=True)
            profile[f"instrumented_{target}"] = {"wall_s": run.wall_s, "cpu_s": run.cpu_s,
                                                 "peak_rss_mb": run.peak_rss / MB, **data}
            log(f"  instrumented {target}: {run.wall_s:.1f} s")
        stats_file = scratch / "full.prof"
        run, data = _harness_run("full", scratch, cprofile=stats_file)
        profile["cprofile"] = {"wall_s": run.wall_s, "phases": data["phases"],
                               "top_own_functions": _top_own_functions(stats_file)}
        log(f"  cProfile full: {run.wall_s:.1f} s")
        variants = ["baseline"] + list(PROCESS_ABLATIONS)
        variants.remove("aws_regions")  # ~0.2 s: measured below, in small processes
        results: Dict[str, List[Tuple[Run, Dict[str, float]]]] = {v: [] for v in variants}
        for i in range(runs):
            for variant in variants:
                without = [] if variant == "baseline" else [variant]
                run, data = _harness_run("full", scratch, without=without)
                results[variant].append((run, data["phases"]))
                log(f"  process ablation {i + 1}/{runs} {variant}: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s CPU")
        profile["process_ablations"] = {v: _ablation_summary(results[v]) for v in variants}
        base = profile["process_ablations"]["baseline"]
        for variant in variants[1:]:
            a = profile["process_ablations"][variant]
            a["what"] = ABLATIONS[variant]
            for key in ("wall_s", "cpu_s", "peak_rss_mb", "import_s", "after_import_s"):
                a[f"saves_{key}"] = base[key] - a[key]
        profile["cold_probes"] = _cold_probes(max(5, runs), log)
        profile["micro"] = _micro(max(5, runs), scratch, log)
        return profile
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# Small fresh processes: what botocore costs the config load (every synth, no-op synth and preview) and
# what the ECS model costs the preview. Each prints nothing; measure() times the whole process.
_PROBE_SETUP = "import sys; sys.path.insert(0, {root!r}); from cicd.workspace import config\n"
COLD_PROBES = {
    "load_all() with aws_regions() from botocore": "config.load_all()",
    "load_all() with aws_regions() a constant": (
        "config.aws_regions = lambda: frozenset(['us-east-1', 'us-west-2']); config.load_all()"),
    "load_all() + validate's ECS model (preview)": (
        "config.load_all(); from cicd.workspace import validate; validate._register_task_definition_shape()"),
}


def _cold_probes(runs: int, log: Callable[[str], None]) -> Dict[str, Any]:
    found: Dict[str, List[Run]] = {name: [] for name in COLD_PROBES}
    for _ in range(runs):
        for name, code in COLD_PROBES.items():
            run = measure([sys.executable, "-c", _PROBE_SETUP.format(root=str(ROOT)) + code], env=child_env())
            found[name].append(_require(run, f"probe {name}"))
    summary = {name: summarize(r) for name, r in found.items()}
    log("  cold probes: " + ", ".join(f"{n}: {s['wall_s']:.2f} s" for n, s in summary.items()))
    return summary


def _micro(repeats: int, scratch: Path, log: Callable[[str], None]) -> Dict[str, Any]:
    outdir = Path(tempfile.mkdtemp(prefix="micro-", dir=scratch))
    out_json = outdir / "micro.json"
    argv = _child_argv("micro", out_json, rounds=repeats)
    try:
        _require(measure(argv, env=child_env(CDKTF_OUTDIR=str(outdir / "out"))), "per-synth measurements")
        data = json.loads(out_json.read_text())
    finally:
        shutil.rmtree(outdir, ignore_errors=True)

    def stats(rows: Sequence[Dict[str, Any]], key: str) -> Dict[str, float]:
        values = [r[key] for r in rows]
        return {"median": median(values), "min": min(values)}

    def paired(a: Sequence[Dict[str, Any]], b: Sequence[Dict[str, Any]], key: str) -> Dict[str, Any]:
        diffs = [x[key] - y[key] for x, y in zip(a, b)]
        return {"median": median(diffs), "min_diff": min(r[key] for r in a) - min(r[key] for r in b),
                "each": [round(d, 3) for d in diffs]}

    summary: Dict[str, Any] = {"repeats": repeats, "synth": {
        v: {"wall_s": stats(rows, "wall_s"), "cpu_s": stats(rows, "cpu_s"),
            "trips": sum(rows[0]["trips"].values()), "trips_by_kind": rows[0]["trips"]}
        for v, rows in data["synth"].items()}}
    construct = data["construct"]
    summary["construct"] = {v: {"wall_s": stats(rows, "wall_s"), "cpu_s": stats(rows, "cpu_s"),
                                "python_cpu_s": stats(rows, "python_cpu_s")} for v, rows in construct.items()}
    summary["construct"]["typecheck"]["saves_wall_s"] = paired(construct["baseline"], construct["typecheck"], "wall_s")
    summary["construct"]["typecheck"]["saves_cpu_s"] = paired(construct["baseline"], construct["typecheck"], "cpu_s")
    log(f"  per-synth measurements: {repeats} repeats")
    return summary


def _after_import(phases: Dict[str, float]) -> float:
    """In-process seconds after the provider import: our imports, config, construct and synth."""
    return phases.get("harness total", 0.0) - phases.get("import provider", 0.0)


def _ablation_summary(runs: Sequence[Tuple[Run, Dict[str, float]]]) -> Dict[str, Any]:
    return {**summarize([run for run, _ in runs]),
            "import_s": median(phases.get("import provider", 0.0) for _, phases in runs),
            "after_import_s": median(_after_import(phases) for _, phases in runs),
            "phases": {name: median(phases.get(name, 0.0) for _, phases in runs)
                       for name in runs[0][1]}}


def _count(table: Dict[str, List[float]], key: str) -> Tuple[int, float]:
    count, seconds = table.get(key, [0, 0.0])
    return int(count), seconds


def format_profile(profile: Dict[str, Any]) -> str:
    floor, full = profile["instrumented_floor"], profile["instrumented_full"]
    lines = ["profile (instrumented runs: jsii round trips counted and timed; one run each)", ""]
    lines.append(f"{'phase':34}{'floor s':>9}{'full s':>9}{'floor trips':>13}{'full trips':>12}")
    phases = list(dict.fromkeys(list(full["phases"]) + list(floor["phases"])))
    for phase in phases:
        fc, _ = _count(floor["trips"].get("phase", {}), phase)
        uc, _ = _count(full["trips"].get("phase", {}), phase)
        lines.append(f"{phase:34}{floor['phases'].get(phase, 0):>9.2f}{full['phases'].get(phase, 0):>9.2f}"
                     f"{fc:>13,}{uc:>12,}")
    for name, data in (("floor", floor), ("full", full)):
        lines.append(f"{'process wall (' + name + ')':34}{data['wall_s']:>9.2f}  CPU {data['cpu_s']:.2f} s, "
                     f"peak RSS {data['peak_rss_mb']:.0f} MB")
    lines += ["", "jsii round trips by kind (full app; floor in brackets):"]
    kinds = full["trips"].get("kind", {})
    for kind, (count, seconds) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        fc, fs = _count(floor["trips"].get("kind", {}), kind)
        lines.append(f"  {kind:18}{int(count):>7,} trips {seconds:>7.2f} s   [{fc:,} trips {fs:.2f} s]")
    lines += ["", "candidates (inclusive time inside the instrumented full run; trips made inside them):"]
    scope_trips = full["trips"].get("scope", {})
    for scope, (calls, seconds) in sorted(full["scopes"].items(), key=lambda kv: -kv[1][1]):
        tc, ts = _count(scope_trips, scope)
        lines.append(f"  {scope:34}{int(calls):>6,} calls {seconds:>7.2f} s   {tc:>6,} trips {ts:>6.2f} s")
    tagged = full.get("extra", {}).get("tagged")
    if tagged is not None:
        lines.append(f"  stage/service tag walk: {tagged['resources']:,} resources tagged")
    mods = full.get("modules", {})
    lines.append("  modules loaded by the full app: " + ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in mods.items()))
    lines += ["", "busiest call sites in stack/ and cicd/ (round trips, seconds):"]
    sites = full["trips"].get("site", {})
    for site, (count, seconds) in sorted(sites.items(), key=lambda kv: -kv[1][1])[:15]:
        lines.append(f"  {int(count):>6,} {seconds:>6.2f} s  {site}")
    cp = profile.get("cprofile")
    if cp:
        lines += ["", f"cProfile of the full app after the provider import ({cp['wall_s']:.1f} s wall under the "
                      "profiler): our functions by cumulative time", f"  {'calls':>7}{'own s':>8}{'cum s':>8}"]
        for row in cp["top_own_functions"]:
            lines.append(f"  {row['calls']:>7,}{row['own_s']:>8.2f}{row['cumulative_s']:>8.2f}  {row['function']}")
    pa = profile.get("process_ablations")
    if pa:
        base = pa["baseline"]
        lines += ["", f"fresh-process ablations (median of {base['runs']} alternated runs; unpatched: "
                      f"{base['wall_s']:.2f} s wall, {base['cpu_s']:.2f} s CPU, {base['peak_rss_mb']:.0f} MB, "
                      f"provider import {base['import_s']:.2f} s)"]
        for variant, a in pa.items():
            if variant == "baseline":
                continue
            # A negative saving is a cost: e.g. eager_provider puts back what the stack no longer pays.
            verb, sign = ("saves", 1) if a["saves_wall_s"] >= 0 else ("costs", -1)
            lines.append(f"  {variant:14} {verb} {sign * a['saves_wall_s']:.2f} s wall, "
                         f"{sign * a['saves_cpu_s']:.2f} s CPU, {sign * a['saves_peak_rss_mb']:.0f} MB peak RSS "
                         f"(provider import {a['import_s']:.2f} s): {a['what']}")
    cold = profile.get("cold_probes")
    if cold:
        lines += ["", "cold costs in small fresh processes (median wall / CPU / peak RSS):"]
        for name, c in cold.items():
            lines.append(f"  {c['wall_s']:>6.2f} s {c['cpu_s']:>6.2f} s {c['peak_rss_mb']:>5.0f} MB  {name}")
    mi = profile.get("micro")
    if mi:
        sy = mi["synth"]
        b = sy["baseline"]
        lines += ["", f"per-synth costs, one process, each measured {mi['repeats']} times (median; min in brackets):",
                  f"  app.synth() of both stacks, unpatched: {b['wall_s']['median']:.2f} s wall "
                  f"[{b['wall_s']['min']:.2f}], {b['cpu_s']['median']:.2f} s CPU, {b['trips']:,} round trips"]
        c = mi["construct"]
        t = c["typecheck"]
        lines.append(f"  constructing both stacks, unpatched: {c['baseline']['wall_s']['median']:.2f} s wall "
                     f"[{c['baseline']['wall_s']['min']:.2f}], {c['baseline']['python_cpu_s']['median']:.2f} s Python CPU;"
                     f" typecheck saves {t['saves_wall_s']['median']:.2f} s wall [{t['saves_wall_s']['min_diff']:.2f}], "
                     f"{t['saves_cpu_s']['median']:.2f} s CPU")
        lines += [f"  {variant}: {APP_VARIANTS[variant]}" for variant in APP_VARIANTS]
    return "\n".join(lines)


