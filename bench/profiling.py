"""`nox -s bench -- --profile`: which functions the full synth's time goes to (cProfile, one more synth).

Why it exists: the ratios say how far the full synth is above the lean floor, not where that goes.
This runs the full synth's own command under the standard library's profiler,
`python -m cProfile -o <file> -m stack.app`, checks it wrote both stacks like any measured synth,
and reads the file with pstats:

- our functions (stack/, cicd/) by cumulative time: which construct or helper costs what;
- every function by own time: where the process computes or waits. cProfile sees the Python process
  only: time spent in Node shows as Python waiting on jsii's pipe (reads), and the bindings'
  argument type checks as typeguard / typing.

The profiler slows Python down, so the profiled run is slower than the benchmark's full synth; the
shares, not the seconds, are the figures to read.
"""
from __future__ import annotations

import pstats
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

from bench.measure import ROOT, measure
from bench.synths import child_env, require

TOP = 12  # rows in each list


def _where(filename: str, line: int, func: str) -> str:
    """filename:line (function), relative to the repository or to site-packages; built-ins as named."""
    if filename == "~":  # a built-in, e.g. <method 'readline' of '_io.BufferedReader' objects>
        return func
    if "/site-packages/" in filename:  # .../site-packages/jsii/_kernel/... -> jsii/_kernel/...
        filename = filename.rsplit("/site-packages/", 1)[1]
    elif filename.startswith(str(ROOT) + "/"):
        filename = filename[len(str(ROOT)) + 1:]
    else:  # the standard library: .../lib/python3.11/typing.py -> typing.py
        filename = re.sub(r"^.*/python\d+\.\d+/", "", filename) or "(generated)"
    return f"{filename}:{line} ({func})"


def top_functions(stats_file: Path, limit: int = TOP) -> Dict[str, Any]:
    """The profile's busiest functions: ours (stack/, cicd/) by cumulative time, all by own time."""
    stats = pstats.Stats(str(stats_file))
    ours = tuple(str(ROOT / top) + "/" for top in ("stack", "cicd"))
    rows: List[Tuple[Dict[str, Any], bool]] = []
    # stats.stats: (file, line, function) -> (primitive calls, calls, own s, cumulative s, callers)
    for (filename, line, func), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        row = {"function": _where(filename, line, func), "calls": calls, "own_s": own, "cumulative_s": cumulative}
        rows.append((row, filename.startswith(ours)))
    return {
        "total_s": stats.total_tt,  # type: ignore[attr-defined]
        "ours_by_cumulative": sorted((r for r, mine in rows if mine), key=lambda r: -r["cumulative_s"])[:limit],
        "all_by_own": sorted((r for r, _ in rows), key=lambda r: -r["own_s"])[:limit],
    }


def run_profile(scratch: Path) -> Dict[str, Any]:
    """One full synth under cProfile: its wall time and top_functions()."""
    folder = Path(tempfile.mkdtemp(prefix="profile-", dir=scratch))
    try:
        stats_file = folder / "full.prof"
        argv = [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "stack.app"]
        run = require(measure(argv, env=child_env(CDKTF_OUTDIR=str(folder / "out"))), "profiled full synth",
                      folder / "out")
        return {"wall_s": run.wall_s, **top_functions(stats_file)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def format_profile(profile: Dict[str, Any]) -> str:
    def table(rows: List[Dict[str, Any]]) -> List[str]:
        lines = [f"  {'calls':>9}{'own s':>8}{'cum s':>8}  function"]
        lines += [f"  {r['calls']:>9,}{r['own_s']:>8.2f}{r['cumulative_s']:>8.2f}  {r['function']}" for r in rows]
        return lines

    return "\n".join([
        f"profile: one full synth under cProfile, {profile['wall_s']:.1f} s wall "
        f"({profile['total_s']:.1f} s of Python profiled; the profiler slows it down)",
        "", "our functions (stack/, cicd/) by cumulative time:", *table(profile["ours_by_cumulative"]),
        "", "every function by own time (Node's share shows as waiting on jsii's pipe):",
        *table(profile["all_by_own"]),
    ])
