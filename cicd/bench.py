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

It also times `python -m cicd.preview --out <tmp>`, a no-op `python -m cicd.synth --out <tmp>`
(primed once, then each timed run is a "second" run that must reuse every region) and, with
`--with-tests`, `python -m pytest -q -x`. A target that is missed is marked FAIL; the exit status
is 0 (it is a report) unless `--strict`. `--json` prints the same report as JSON.

`--profile` adds where the time beyond the floor goes (a few more minutes):
- one instrumented run each of the floor and the full app: phases (provider import, our imports,
  config, construct, synth); jsii round trips counted and timed by kind, by candidate (aspect
  visits, asset, template rendering, aws_regions, checkov skips) and by call site in stack/ and cicd/;
- one cProfile run of the full app (our functions, after the provider import);
- fresh-process ablations for what is paid once per process (the provider package's eager
  __init__), and small fresh processes for botocore in `load_all()` and validate's ECS model;
- per-synth costs in one process after one provider import, each repeated: apps built once and
  synthesized again and again with and without the Aspect / archiver asset (cdktf re-runs aspects
  and re-archives on every synth); the proposed tag walk; the 38 template renderings with a
  Renderer per call vs one shared; constructing with the bindings' debug-only type checks off;
  cdktf's archiver process vs Python's zipfile. Repeating inside one warm process is what makes
  sub-second costs measurable on a busy machine; whole-process A/B runs are too noisy for them.

How runs are measured
---------------------
Each measured run is a fresh subprocess, and a process tree: Python starts jsii's
`node jsii-runtime.js`, which starts the kernel, a second `node` that holds the assemblies and the
construct tree. The command is started by a ~10 MB wrapper (`python -S`) that forks and execs it,
times it (fork to reaping) and reports its os.wait4() rusage, which covers the command and every
descendant that was waited for (jsii waits for Node at exit). While it runs, a sampler thread here
walks the tree every 20 ms (/proc/<pid>/task/*/children) and reads each process's VmRSS and VmHWM
from /proc/<pid>/status (the wrapper itself is not counted).

*Peak RSS* is the tree's peak: the largest sampled sum of its processes' RSS. Python and Node are
alive together for the whole run and neither shrinks once grown (Python holds the imported
bindings, ~0.5 GB with the provider's ~2,100 modules; the Node kernel the loaded assemblies and the
construct tree, ~0.6 GB), so they do peak at the same time, and the tree's peak is close to the sum
of their high-water marks (~1.1 GB for the floor). wait4's ru_maxrss is *not* that: for a tree it
is the largest single process's peak (the kernel keeps a max over waited-for children, not a sum),
i.e. the Node kernel alone (~0.6 GB; what `/usr/bin/time` prints); and it starts at the forking
parent's RSS (Linux keeps the pre-exec address space's high-water mark), which is why the small
wrapper forks the command. So that a spike between two samples is never under-reported, the
reported peak is max(sampled tree sum, largest per-process VmHWM, ru_maxrss). The report also gives the high-water marks per process name (summed over the
processes of that name), their sum (an upper bound: every process at its own peak at once) and
ru_maxrss. RSS counts shared pages (libpython, libnode) once per process.

*CPU time* (user + system of the tree, from wait4) is printed too: on a shared or loaded machine it
is steadier than wall time, and the ratios of both are shown.
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
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("us-east-1", "us-west-2")
DEPLOYMENT_ID = "20260101T000000Z"  # fixed, so every full synth does the same work
SAMPLE_INTERVAL = 0.02

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


# --- measuring one run: wall, CPU and the process tree's peak RSS ---------------------------------

def _children(pid: int) -> List[int]:
    kids: List[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                kids.extend(int(x) for x in handle.read().split())
        except OSError:
            return _children_by_scan(pid)  # kernel without CONFIG_PROC_CHILDREN
    return kids


def _children_by_scan(pid: int) -> List[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def _status(pid: int) -> Optional[Tuple[str, int, int]]:
    """(name, VmRSS bytes, VmHWM bytes) of a live process; None when gone or a zombie."""
    name, rss, hwm = "?", None, 0
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None if rss is None else (name, rss, hwm)


class TreeSampler(threading.Thread):
    """Samples the RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL, count_root: bool = True):
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.count_root = count_root
        self.interval = interval
        self.peak_sum = 0
        self.samples = 0
        self.hwm: Dict[int, Tuple[str, int]] = {}  # pid -> (name, largest VmHWM seen)
        self._stop_event = threading.Event()

    def sample(self) -> None:
        total = 0
        todo, seen = [self.pid], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            todo.extend(_children(pid))
            status = _status(pid)
            if status is None or (pid == self.pid and not self.count_root):
                continue
            name, rss, hwm = status
            total += rss
            if hwm >= self.hwm.get(pid, ("", 0))[1]:
                self.hwm[pid] = (name, hwm)
        self.samples += 1
        self.peak_sum = max(self.peak_sum, total)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()


@dataclass
class Run:
    """One measured subprocess run. Sizes in bytes, times in seconds."""

    argv: List[str]
    wall_s: float
    cpu_s: float
    peak_rss: int  # max(tree_rss_peak, max_process_hwm, rusage_maxrss): see the module docstring
    tree_rss_peak: int
    max_process_hwm: int
    hwm_sum: int
    rusage_maxrss: int
    by_process: Dict[str, int]  # process name -> sum of the VmHWM of the processes of that name
    samples: int
    returncode: int
    output: str = field(repr=False, default="")

    @property
    def ok(self) -> bool:
        return self.returncode == 0


# The measured command runs under this small wrapper (python -S, ~10 MB): it forks and execs the
# command, waits for it and reports the command's own wall time and wait4 rusage. Going through the
# wrapper matters because Linux starts a child's ru_maxrss at its parent's RSS (the pre-exec address
# space's high-water mark): forked straight from a large process (a pytest session that loaded jsii,
# ~1 GB) a 100 MB child would report ~1 GB. From the wrapper the inflation is at most ~10 MB.
_WRAPPER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(report, "w") as handle:
    json.dump({"wall": wall, "status": status, "maxrss": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, handle)
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def measure(argv: Sequence[str], env: Optional[Dict[str, str]] = None, cwd: Path = ROOT,
            interval: float = SAMPLE_INTERVAL, keep_output: int = 4000) -> Run:
    """Run argv as a fresh subprocess; its wall time, CPU time and the peak RSS of its process tree."""
    with tempfile.TemporaryDirectory(prefix="measure-") as scratch:
        report = Path(scratch) / "rusage.json"
        log_path = Path(scratch) / "output.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-S", "-c", _WRAPPER, str(report), *argv], cwd=str(cwd),
                                    env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            sampler = TreeSampler(proc.pid, interval, count_root=False)
            sampler.start()
            try:
                proc.wait()
            except BaseException:
                os.killpg(proc.pid, 9)
                proc.wait()
                raise
            finally:
                sampler.stop()
            sampler.join()
        output = log_path.read_text("utf-8", "replace")
        if not report.is_file():
            raise BenchError(f"could not run {' '.join(argv)}:\n{output}")
        usage = json.loads(report.read_text())
    by_process: Dict[str, int] = {}
    for name, hwm in sampler.hwm.values():
        by_process[name] = by_process.get(name, 0) + hwm
    max_hwm = max((hwm for _, hwm in sampler.hwm.values()), default=0)
    maxrss = usage["maxrss"] * 1024  # KiB on Linux
    return Run(argv=list(argv), wall_s=usage["wall"], cpu_s=usage["cpu"],
               peak_rss=max(sampler.peak_sum, max_hwm, maxrss), tree_rss_peak=sampler.peak_sum,
               max_process_hwm=max_hwm, hwm_sum=sum(hwm for _, hwm in sampler.hwm.values()), rusage_maxrss=maxrss,
               by_process=by_process, samples=sampler.samples,
               returncode=os.waitstatus_to_exitcode(usage["status"]),
               output=output[-keep_output:] if keep_output else output)


# --- what is measured -----------------------------------------------------------------------------

def child_env(**extra: str) -> Dict[str, str]:
    """The environment of every measured run: ours, quiet jsii, a fixed deployment ID."""
    env = dict(os.environ)
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["DEPLOYMENT_ID"] = DEPLOYMENT_ID
    env.pop("CDKTF_OUTDIR", None)
    env.update(extra)
    return env


class BenchError(RuntimeError):
    """A measured command failed: its figures mean nothing."""


def _require(run: Run, what: str, outdir: Optional[Path] = None) -> Run:
    missing = [r for r in REGIONS if outdir is not None and not (outdir / "stacks" / r / "cdk.tf.json").is_file()]
    if not run.ok or missing:
        why = f"exit status {run.returncode}" if not run.ok else f"no cdk.tf.json for {', '.join(missing)}"
        raise BenchError(f"{what} failed ({why}): {' '.join(run.argv)}\n{run.output.rstrip()}")
    return run


def synth_run(module: str, what: str, scratch: Path, python: str = sys.executable, args: Sequence[str] = ()) -> Run:
    """`python -m <module>` with CDKTF_OUTDIR a fresh folder, checked to have produced both stacks."""
    outdir = Path(tempfile.mkdtemp(prefix=f"{what}-", dir=scratch))
    try:
        return _require(measure([python, "-m", module, *args], env=child_env(CDKTF_OUTDIR=str(outdir))), what, outdir)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def floor_run(scratch: Path) -> Run:
    return synth_run("bench.floor_app", "floor", scratch)


def lean_floor_run(scratch: Path) -> Run:
    return synth_run("bench.floor_app", "lean-floor", scratch, args=["--on-demand"])


def full_run(scratch: Path) -> Run:
    return synth_run("stack.app", "full", scratch)


def preview_run(scratch: Path) -> Run:
    out = Path(tempfile.mkdtemp(prefix="preview-", dir=scratch))
    try:
        return _require(measure([sys.executable, "-m", "cicd.preview", "--out", str(out / "out")], env=child_env()),
                        "preview")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def noop_synth_runs(runs: int, scratch: Path) -> Tuple[Run, List[Run]]:
    """Prime `cicd.synth --out` once, then time `runs` re-synths that must reuse every region."""
    out = scratch / "noop-synth"
    argv = [sys.executable, "-m", "cicd.synth", "--out", str(out)]
    first = _require(measure(argv, env=child_env()), "synth (priming)")
    timed = []
    for _ in range(runs):
        run = _require(measure(argv, env=child_env()), "no-op synth")
        if run.output.count("inputs unchanged") < len(REGIONS):
            # An input changed between the runs (someone edited stack/ or cicd/): prime again, once.
            _require(measure(argv, env=child_env()), "synth (re-priming)")
            run = _require(measure(argv, env=child_env()), "no-op synth")
            if run.output.count("inputs unchanged") < len(REGIONS):
                raise BenchError("no-op synth re-synthesized twice in a row: inputs keep changing\n" + run.output)
        timed.append(run)
    return first, timed


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
        "rss_parts_mb": {
            "tree_rss_peak": median(r.tree_rss_peak for r in runs) / MB,
            "max_process_hwm": median(r.max_process_hwm for r in runs) / MB,
            "rusage_maxrss": median(r.rusage_maxrss for r in runs) / MB,
            "hwm_sum": median(r.hwm_sum for r in runs) / MB,
            "by_process": {name: median(r.by_process.get(name, 0) for r in runs) / MB
                           for name in sorted({n for r in runs for n in r.by_process})},
        },
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
    parts = full["rss_parts_mb"]
    fparts = floor["rss_parts_mb"]

    def procs(p: Dict[str, Any]) -> str:
        return " + ".join(f"{n} {v:.0f}" for n, v in sorted(p["by_process"].items(), key=lambda kv: -kv[1]))

    lines += [
        "",
        f"peak RSS = the process tree's peak: sampled sum of its processes' RSS every {SAMPLE_INTERVAL * 1000:.0f} ms "
        "(never below any process's VmHWM or wait4's ru_maxrss)",
        f"  floor: per-process high-water {procs(fparts)} MB; ru_maxrss (largest single process) "
        f"{fparts['rusage_maxrss']:.0f} MB",
        f"  full:  per-process high-water {procs(parts)} MB; ru_maxrss (largest single process) "
        f"{parts['rusage_maxrss']:.0f} MB",
        "",
        "targets:",
    ]
    lines += [f"  {Check(c['name'], c['value'], c['bound'], c['unit']).describe()}" for c in report["checks"]]
    if "profile" in report:
        lines += ["", format_profile(report["profile"])]
    return "\n".join(lines)


# --- profile: where the time beyond the floor goes ---------------------------------------------------

# Measured in fresh processes (their cost is paid once per process, at import or first call).
PROCESS_ABLATIONS = {
    "eager_provider": "stack/__init__.py: the provider package imported as published (its __init__ imports all "
                      "~2,140 resource modules) instead of only the modules the stack uses (same output)",
    "aws_regions": "cicd/config.py: aws_regions() a constant (no botocore import/session/endpoint data)",
}
# Measured in one process on apps built once and synthesized again and again (costs paid per synth),
# or by timing the candidate's own work repeatedly (see _micro_child).
APP_VARIANTS = {
    "aspect": "stack/pipeline_stack.py: no StageServiceTags Aspect at all (upper bound: the tags are lost)",
    "tag_walk": "stack/pipeline_stack.py: the same StageServiceTags.visit applied by one Python loop over "
                "node.find_all() instead of an Aspect (same output, no per-construct callbacks)",
    "tag_walk_lean": "as tag_walk, and visit() skips classes without a tags_input property and reads tags_input "
                     "once (no get round trip per untaggable construct; same output)",
    "asset": "stack/health_lambda.py: TerraformAsset replaced by a stub path/hash (no copy, hash, zip)",
    "asset_zip": "stack/health_lambda.py: the Lambda zip built once in Python (zipfile, fixed timestamps) and "
                 "given as AssetType.FILE: no `sh -c node fs.js` archiver process per stack (same zip contents)",
    "renderer": "cicd/render.py: one shared Renderer per synth (one Jinja Environment, each template compiled once; "
                "same output)",
    "typecheck": "what `python -O` would skip when constructing: the jsii bindings' `if __debug__:` argument checks "
                 "(typing.get_type_hints + typeguard.check_type on every constructor and setter)",
}
ABLATIONS = {**PROCESS_ABLATIONS, **APP_VARIANTS}


def _site(frame: Any) -> str:
    """The innermost frame in stack/ or cicd/ (not this file): file:line (function)."""
    root = str(ROOT) + os.sep
    here = os.path.abspath(__file__)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(root) and filename != here and "/bench/" not in filename:
            return f"{filename[len(root):]}:{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back
    return "(jsii/cdktf internals)"


class _Instrument:
    """Counts and times jsii round trips (by kind, phase, candidate scope and call site) and scopes."""

    def __init__(self) -> None:
        self.phase = "startup"
        self.scopes: List[str] = []
        self.trips: Dict[str, Dict[str, List[float]]] = {}  # table -> key -> [count, seconds]
        self.scope_time: Dict[str, List[float]] = {}  # scope -> [calls, inclusive seconds]
        self.phases: Dict[str, float] = {}
        self.extra: Dict[str, Any] = {}

    def add(self, table: str, key: str, seconds: float, count: int = 1) -> None:
        entry = self.trips.setdefault(table, {}).setdefault(key, [0, 0.0])
        entry[0] += count
        entry[1] += seconds

    def record_trip(self, kind: str, seconds: float, site: str) -> None:
        self.add("kind", kind, seconds)
        self.add("phase", f"{self.phase}", seconds)
        self.add("phase_kind", f"{self.phase}:{kind}", seconds)
        self.add("scope", self.scopes[-1] if self.scopes else "-", seconds)
        self.add("scope_kind", f"{self.scopes[-1] if self.scopes else '-'}:{kind}", seconds)
        self.add("site", f"{kind} {site}", seconds)

    def scoped(self, name: str, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.scopes.append(name)
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.scopes.pop()
                if name not in self.scopes:  # inclusive time of the outermost call only
                    entry = self.scope_time.setdefault(name, [0, 0.0])
                    entry[1] += elapsed
                self.scope_time.setdefault(name, [0, 0.0])[0] += 1
        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper

    def run_phase(self, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        previous, self.phase = self.phase, name
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started
            self.phase = previous

    def install_jsii(self) -> None:
        from jsii._kernel.providers import process

        original = process._NodeProcess.send
        instrument = self

        def send(self: Any, request: Any, response_type: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, request, response_type)
            finally:
                kind = type(request).__name__.lstrip("_").replace("Request", "").lower()
                kind = {"complete": "callback-return", "staticinvoke": "sinvoke", "staticget": "sget"}.get(kind, kind)
                instrument.record_trip(kind, time.perf_counter() - started, _site(sys._getframe(1)))

        process._NodeProcess.send = send


class _NoAspects:
    class _Adder:
        def add(self, aspect: Any) -> None:
            pass

    @classmethod
    def of(cls, scope: Any) -> "_NoAspects._Adder":
        return cls._Adder()


class _WalkAspects:
    """Aspects.of(stack).add(aspect) replaced by one Python loop over the stack's constructs."""

    class _Walker:
        def __init__(self, scope: Any):
            self.scope = scope

        def add(self, aspect: Any) -> None:
            for node in self.scope.node.find_all():
                aspect.visit(node)

    @classmethod
    def of(cls, scope: Any) -> "_WalkAspects._Walker":
        return cls._Walker(scope)


def _lean_visit(self: Any, node: Any) -> None:
    """stack/tagging.py StageServiceTags.visit with the same result and fewer jsii round trips: a class
    check instead of hasattr() (which *reads* the property through jsii), and tags_input read once."""
    cls = type(node)
    if not isinstance(getattr(cls, "tags_input", None), property) or not (
            hasattr(cls, "put_tags") or isinstance(getattr(cls, "tags", None), property)):
        return
    path = node.node.path
    tags: Dict[str, str] = {}
    for stage in self.stages:
        if f"/{stage}-" in path:
            tags["stage"] = stage
            break
    for service in self.services:
        if service in path:
            tags["service"] = service
            break
    if tags:
        node.tags = {**(node.tags_input or {}), **tags}


class _StubAsset:
    def __init__(self, scope: Any, id: str, *, path: str, type: Any = None, **_: Any):
        self.path = "assets/stub/archive.zip"
        self.asset_hash = "0" * 64


def _patches(variant: str) -> List[Tuple[Any, str, Any]]:
    """(object, attribute, replacement) for one variant; every module is imported already."""
    if variant == "aspect":
        return [(sys.modules["stack.pipeline_stack"], "Aspects", _NoAspects)]
    if variant == "tag_walk":
        return [(sys.modules["stack.pipeline_stack"], "Aspects", _WalkAspects)]
    if variant == "tag_walk_lean":
        return [(sys.modules["stack.pipeline_stack"], "Aspects", _WalkAspects),
                (sys.modules["stack.tagging"].StageServiceTags, "visit", _lean_visit)]
    if variant == "asset":
        return [(sys.modules["stack.health_lambda"], "TerraformAsset", _StubAsset),
                (sys.modules["stack.health_lambda"], "_clean_source", lambda: Path(tempfile.gettempdir()))]
    if variant == "asset_zip":
        return _zip_asset_patches()
    if variant == "typecheck":
        return _typecheck_patches()
    if variant == "renderer":
        render = sys.modules["cicd.render"]
        original = render.Renderer
        shared: Dict[Path, Any] = {}

        def one_renderer(templates_dir: Path = render.TEMPLATES_DIR) -> Any:
            if templates_dir not in shared:
                shared[templates_dir] = original(templates_dir)
            return shared[templates_dir]

        return [(render, "Renderer", one_renderer)]
    if variant == "aws_regions":
        regions = frozenset(["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"])
        return [(sys.modules["cicd.config"], "aws_regions", lambda: regions)]
    if variant in ("baseline", "eager_provider"):
        return []
    raise ValueError(f"unknown variant {variant}")


def _zip_asset_patches() -> List[Tuple[Any, str, Any]]:
    """The proposed fix for the asset: zip the Lambda's .py files in Python, once per process, and
    hand cdktf a FILE asset (copied, not archived by a child process)."""
    import zipfile

    from cdktf import AssetType

    health_lambda = sys.modules["stack.health_lambda"]
    original = health_lambda.TerraformAsset
    built: List[Path] = []

    def zipped_source() -> Path:
        if not built:
            target = Path(tempfile.mkdtemp(prefix="health-lambda-")) / "archive.zip"
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
                for source in sorted(health_lambda.SOURCE_DIR.glob("*.py")):
                    info = zipfile.ZipInfo(source.name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.external_attr = 0o644 << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, source.read_bytes())
            built.append(target)
        return built[0]

    def file_asset(scope: Any, id: str, *, path: str, type: Any = None, **kwargs: Any) -> Any:
        return original(scope, id, path=path, type=AssetType.FILE, **kwargs)

    return [(health_lambda, "_clean_source", zipped_source), (health_lambda, "TerraformAsset", file_asset)]


class _AnyHints(dict):
    def __missing__(self, key: str) -> Any:
        return Any


def _typecheck_patches() -> List[Tuple[Any, str, Any]]:
    """The bindings' debug-only argument checks made no-ops (an estimate of what `python -O` saves)."""
    import typing

    import typeguard

    original = typing.get_type_hints
    generated = ("cdktf", "constructs", "cdktf_cdktf_provider_aws")

    def hints(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_globals.get("__name__", "").split(".")[0] in generated:
            return _AnyHints()
        return original(obj, *args, **kwargs)

    return [(typeguard, "check_type", lambda *args, **kwargs: None), (typing, "get_type_hints", hints)]


class _Patched:
    """Apply a variant's patches for the duration of a with-block."""

    def __init__(self, variant: str):
        self.patches = _patches(variant)
        self.saved: List[Tuple[Any, str, Any]] = []

    def __enter__(self) -> "_Patched":
        for obj, name, value in self.patches:
            self.saved.append((obj, name, obj.__dict__.get(name, getattr(obj, name))))
            setattr(obj, name, value)
        return self

    def __exit__(self, *exc: Any) -> None:
        for obj, name, value in reversed(self.saved):
            setattr(obj, name, value)


def _apply_ablations(without: Sequence[str]) -> None:
    import cicd.config  # noqa: F401
    import cicd.render  # noqa: F401
    import stack.health_lambda  # noqa: F401
    import stack.pipeline_stack  # noqa: F401
    import stack.tagging  # noqa: F401

    for variant in without:
        _Patched(variant).__enter__()


def _tree_cpu() -> float:
    """CPU seconds used so far by this process, its live descendants (the jsii Node processes) and
    the children they have reaped (cdktf's archiver)."""
    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    ticks = os.sysconf("SC_CLK_TCK")
    todo = _children(os.getpid())
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / ticks  # utime, stime, cutime, cstime
        except (OSError, IndexError, ValueError):
            continue
        todo.extend(_children(pid))
    return total


def _render_like_the_stack(configs: Sequence[Any], shared: bool) -> int:
    """The 38 renderings one synth makes (stack/services.py, stack/build.py), with a Renderer per call
    as today or one shared Renderer; returns how many Renderers were created."""
    from cicd import render
    from cicd.config import DEPLOY_STAGES

    created = [0]
    original = render.Renderer

    def counting(*args: Any) -> Any:
        created[0] += 1
        return original(*args)

    render.Renderer = counting  # type: ignore[assignment]
    try:
        one = render.Renderer() if shared else None
        for cfg in configs:
            for stage in DEPLOY_STAGES:
                for service in cfg.services:
                    refs = render.example_refs(cfg, stage, service)
                    render.render_taskdef(cfg, stage, service, refs, DEPLOYMENT_ID, one)
            for service in cfg.services:
                bare = {st: render.render_taskdef(cfg, st, service, render.example_refs(cfg, st, service), None, one)
                        for st in DEPLOY_STAGES}
                render.render_build_buildspec(cfg, service, bare, one)
            render.render_test_buildspec(cfg.services, one)
    finally:
        render.Renderer = original  # type: ignore[assignment]
    return created[0]


def _timed(fn: Callable[[], Any]) -> Dict[str, float]:
    cpu, py_cpu, started = _tree_cpu(), time.process_time(), time.perf_counter()
    fn()
    return {"wall_s": time.perf_counter() - started, "cpu_s": _tree_cpu() - cpu,
            "python_cpu_s": time.process_time() - py_cpu}


def _micro_child(out_json: Path, repeats: int) -> int:
    """Per-synth costs, each measured `repeats` times in one process after one provider import:
    - synth: apps built once (unpatched, without the Aspect, with a Python-zipped FILE asset, with a
      stubbed asset), then synthesized again and again in rotating order (cdktf re-runs aspects and
      re-archives assets on every synth); jsii round trips counted per synth;
    - the tag walk (plain and lean visit) over an app built without the Aspect (tagging is idempotent);
    - the 38 template renderings with a Renderer per call vs one shared Renderer;
    - cdktf's archiver (`sh -c node .../cdktf/lib/private/fs.js SRC DEST`, run once per stack per synth)
      vs zipping the same files with Python's zipfile."""
    import glob

    import cdktf
    from jsii._kernel.providers import process

    import stack.app  # noqa: F401  (everything the app imports)
    from cicd import deployment_id as deployment_ids
    from cicd.config import load_all
    from stack.pipeline_stack import PipelineStack

    trips: Dict[str, int] = {}
    original_send = process._NodeProcess.send

    def counting_send(self: Any, request: Any, response_type: Any) -> Any:
        kind = type(request).__name__.lstrip("_").replace("Request", "").lower()
        trips[kind] = trips.get(kind, 0) + 1
        return original_send(self, request, response_type)

    process._NodeProcess.send = counting_send
    _apply_ablations([])  # import every patched module
    configs = load_all()
    deployment_id = deployment_ids.current()
    base = Path(os.environ["CDKTF_OUTDIR"])
    base.mkdir(parents=True, exist_ok=True)
    result: Dict[str, Any] = {"repeats": repeats}

    def build(variant: str) -> Any:
        with _Patched(variant):
            app = cdktf.App(outdir=str(base / variant))
            stacks = [PipelineStack(app, cfg.region, cfg=cfg, deployment_id=deployment_id) for cfg in configs]
        return app, stacks

    apps = {v: build(v) for v in ("baseline", "aspect", "asset_zip", "asset")}
    synths: Dict[str, List[Dict[str, Any]]] = {v: [] for v in apps}
    names = list(apps)
    for round_ in range(repeats + 1):  # round 0 warms up
        shift = round_ % len(names)
        for variant in names[shift:] + names[:shift]:
            trips.clear()
            row: Dict[str, Any] = _timed(apps[variant][0].synth)
            row["trips"] = dict(trips)
            if round_:
                synths[variant].append(row)
    result["synth"] = synths

    constructs: Dict[str, List[Dict[str, Any]]] = {"baseline": [], "typecheck": []}
    for round_ in range(repeats + 1):
        for variant in (("baseline", "typecheck") if round_ % 2 else ("typecheck", "baseline")):
            row = _timed(lambda: build(variant))
            if round_:
                constructs[variant].append(row)
    result["construct"] = constructs

    tagging = sys.modules["stack.tagging"]
    aspect = tagging.StageServiceTags([s.name for s in configs[0].services])
    walks: Dict[str, List[Dict[str, Any]]] = {"tag_walk": [], "tag_walk_lean": []}
    for round_ in range(repeats + 1):
        for variant, visit in (("tag_walk", tagging.StageServiceTags.visit), ("tag_walk_lean", _lean_visit)):
            def walk() -> None:
                for region_stack in apps["aspect"][1]:
                    for node in region_stack.node.find_all():
                        visit(aspect, node)
            trips.clear()
            row = _timed(walk)
            row["trips"] = dict(trips)
            if round_:
                walks[variant].append(row)
    result["walk"] = walks

    renders: Dict[str, List[Dict[str, Any]]] = {"per_call": [], "shared": []}
    for round_ in range(repeats + 1):
        for variant in renders:
            created = [0]
            row = _timed(lambda: created.__setitem__(0, _render_like_the_stack(configs, variant == "shared")))
            row["renderers"] = created[0]
            if round_:
                renders[variant].append(row)
    result["render"] = renders

    scripts = sorted(glob.glob(os.path.join(tempfile.gettempdir(), "jsii-kernel-*", "node_modules", "cdktf", "lib",
                                            "private", "fs.js")), key=os.path.getmtime)
    source = sys.modules["stack.health_lambda"]._clean_source()
    archives: Dict[str, Any] = {"cdktf_archiver": [], "python_zipfile": [], "script": scripts[-1] if scripts else None}
    if scripts:
        for round_ in range(repeats):
            dest = base / f"archiver-{round_}.zip"
            run = measure(["sh", "-c", f"node {scripts[-1]} {source} {dest}"], env=child_env())
            archives["cdktf_archiver"].append({"wall_s": run.wall_s, "cpu_s": run.cpu_s,
                                               "peak_rss_mb": run.peak_rss / MB, "ok": run.ok})
            zipped = _zip_asset_patches()[0][2]
            archives["python_zipfile"].append(_timed(zipped))
    result["archive"] = archives
    out_json.write_text(json.dumps(result))
    return 0


def _profile_child(target: str, out_json: Path, without: Sequence[str], instrument_jsii: bool,
                   cprofile_out: Optional[Path]) -> int:
    """Runs inside the measured subprocess: the floor or the full app, phase by phase."""
    harness_started = time.perf_counter()
    if target == "full" and "eager_provider" not in without:
        from stack import load_provider_modules_on_demand  # as stack.app does, by importing stack

        load_provider_modules_on_demand()
    inst = _Instrument()
    if instrument_jsii:
        inst.install_jsii()
    profiler = None
    outdir = os.environ["CDKTF_OUTDIR"]

    def import_provider() -> None:
        import cdktf  # noqa: F401
        import cdktf_cdktf_provider_aws  # noqa: F401  (eager: its __init__ imports every resource module)
        from cdktf_cdktf_provider_aws import provider, sns_topic  # noqa: F401

    inst.run_phase("import provider", import_provider)
    if cprofile_out:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    if target == "floor":
        from bench import floor_app
        app = inst.run_phase("construct", floor_app.build, outdir)
        inst.run_phase("synth", app.synth)
    else:
        def import_stack() -> None:
            import stack.app  # noqa: F401
            import stack.pipeline_stack  # noqa: F401

        inst.run_phase("import stack/", import_stack)
        _apply_ablations([v for v in without if v != "eager_provider"])
        import cdktf
        import stack.app as app_module
        import stack.pipeline_stack as pipeline_stack
        from cicd import config, render

        if instrument_jsii:
            import stack.health_lambda as health_lambda
            import stack.tagging as tagging

            visits = {"tagged": 0}
            original_visit = tagging.StageServiceTags.visit

            def sets() -> int:
                return int(inst.trips.get("kind", {}).get("set", [0, 0.0])[0])

            def visit(self: Any, node: Any) -> None:
                before = sets()
                original_visit(self, node)
                if sets() > before:
                    visits["tagged"] += 1

            tagging.StageServiceTags.visit = inst.scoped("aspect visit", visit)
            inst.extra["aspect_visits"] = visits
            health_lambda.TerraformAsset = inst.scoped("TerraformAsset", health_lambda.TerraformAsset)
            health_lambda._clean_source = inst.scoped("TerraformAsset", health_lambda._clean_source)
            render.Renderer.__init__ = inst.scoped("Renderer() (Jinja Environment)", render.Renderer.__init__)
            for name in ("render_taskdef", "render_appspec", "render_build_buildspec", "render_test_buildspec"):
                setattr(render, name, inst.scoped("template rendering", getattr(render, name)))
            import stack.build as build
            import stack.services as services
            for module in (build, services):
                for name in ("render_taskdef", "render_build_buildspec", "render_test_buildspec"):
                    if hasattr(module, name):
                        setattr(module, name, getattr(render, name))
            config.aws_regions = inst.scoped("aws_regions() (botocore)", config.aws_regions)
            import stack.policy as policy
            for module_name in ("build", "services", "health_lambda", "load_balancing", "monitoring", "network",
                                "storage", "delivery", "deployments", "notifications", "registry", "source",
                                "encryption", "parameter_store", "firewall"):
                module = sys.modules.get(f"stack.{module_name}")
                if module is not None and getattr(module, "skip", None) is policy.skip:
                    module.skip = inst.scoped("checkov skip() overrides", policy.skip)
            pipeline_stack.PipelineStack.__init__ = inst.scoped("PipelineStack", pipeline_stack.PipelineStack.__init__)

        original_load_all = app_module.load_all
        app_module.load_all = lambda *a, **k: inst.run_phase("config (.env, aws_regions)", original_load_all, *a, **k)
        original_init = pipeline_stack.PipelineStack.__init__

        def construct(self: Any, *args: Any, **kwargs: Any) -> None:
            inst.run_phase("construct", original_init, self, *args, **kwargs)

        pipeline_stack.PipelineStack.__init__ = construct
        original_synth = cdktf.App.synth
        cdktf.App.synth = lambda self: inst.run_phase("synth", original_synth, self)
        app_module.main([])
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(cprofile_out))
    inst.phases["harness total"] = time.perf_counter() - harness_started
    result = {
        "phases": inst.phases,
        "trips": inst.trips,
        "scopes": inst.scope_time,
        "extra": inst.extra,
        "modules": {name: name in sys.modules for name in ("botocore", "botocore.session", "cicd.validate", "yaml",
                                                           "jinja2", "dotenv")},
    }
    out_json.write_text(json.dumps(result))
    return 0


def _child_argv(target: str, out_json: Path, without: Sequence[str] = (), instrument: bool = False,
                cprofile: Optional[Path] = None) -> List[str]:
    argv = [sys.executable, "-m", "cicd.bench", "--_child", target, "--_child-out", str(out_json)]
    for name in without:
        argv += ["--_without", name]
    if instrument:
        argv.append("--_instrument")
    if cprofile:
        argv += ["--_cprofile", str(cprofile)]
    return argv


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
_PROBE_SETUP = "import sys; sys.path.insert(0, {root!r}); from cicd import config\n"
COLD_PROBES = {
    "load_all() with aws_regions() from botocore": "config.load_all()",
    "load_all() with aws_regions() a constant": (
        "config.aws_regions = lambda: frozenset(['us-east-1', 'us-west-2']); config.load_all()"),
    "load_all() + validate's ECS model (preview)": (
        "config.load_all(); from cicd import validate; validate._register_task_definition_shape()"),
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
    argv = [sys.executable, "-m", "cicd.bench", "--_child", "micro", "--_child-out", str(out_json),
            "--_rounds", str(repeats)]
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

    synth = data["synth"]
    base = synth["baseline"]
    summary: Dict[str, Any] = {"repeats": repeats, "synth": {
        v: {"wall_s": stats(rows, "wall_s"), "cpu_s": stats(rows, "cpu_s"),
            "trips": sum(rows[0]["trips"].values()), "trips_by_kind": rows[0]["trips"],
            **({} if v == "baseline" else {"saves_wall_s": paired(base, rows, "wall_s"),
                                           "saves_cpu_s": paired(base, rows, "cpu_s")})}
        for v, rows in synth.items()}}
    summary["walk"] = {v: {"wall_s": stats(rows, "wall_s"), "cpu_s": stats(rows, "cpu_s"),
                           "trips": sum(rows[0]["trips"].values()), "trips_by_kind": rows[0]["trips"]}
                       for v, rows in data["walk"].items()}
    construct = data["construct"]
    summary["construct"] = {v: {"wall_s": stats(rows, "wall_s"), "cpu_s": stats(rows, "cpu_s"),
                                "python_cpu_s": stats(rows, "python_cpu_s")} for v, rows in construct.items()}
    summary["construct"]["typecheck"]["saves_wall_s"] = paired(construct["baseline"], construct["typecheck"], "wall_s")
    summary["construct"]["typecheck"]["saves_cpu_s"] = paired(construct["baseline"], construct["typecheck"], "cpu_s")
    render = data["render"]
    summary["render"] = {v: {"wall_s": stats(rows, "wall_s"), "renderers": rows[0]["renderers"]}
                         for v, rows in render.items()}
    summary["render"]["saves_wall_s"] = paired(render["per_call"], render["shared"], "wall_s")
    archive = data["archive"]
    if archive["cdktf_archiver"]:
        summary["archive"] = {
            "script": archive["script"],
            "cdktf_archiver": {"wall_s": stats(archive["cdktf_archiver"], "wall_s"),
                               "cpu_s": stats(archive["cdktf_archiver"], "cpu_s"),
                               "peak_rss_mb": median(r["peak_rss_mb"] for r in archive["cdktf_archiver"])},
            "python_zipfile": {"wall_s": stats(archive["python_zipfile"], "wall_s")},
        }
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
    visits = full.get("extra", {}).get("aspect_visits")
    if visits is not None:
        cb, cbs = _count(full["trips"].get("kind", {}), "callback-return")
        lines.append(f"  aspect: {full['scopes'].get('aspect visit', [0])[0]:,} visits, {visits['tagged']:,} tagged; "
                     f"{cb:,} callback returns to Node ({cbs:.2f} s)")
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
            lines.append(f"  {variant:14} saves {a['saves_wall_s']:.2f} s wall, {a['saves_cpu_s']:.2f} s CPU, "
                         f"{a['saves_peak_rss_mb']:.0f} MB peak RSS (provider import {a['import_s']:.2f} s): "
                         f"{a['what']}")
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
        for variant in ("aspect", "asset_zip", "asset"):
            v = sy[variant]
            lines.append(f"    {variant:10} saves {v['saves_wall_s']['median']:.2f} s wall "
                         f"[{v['saves_wall_s']['min_diff']:.2f}], {v['saves_cpu_s']['median']:.2f} s CPU, "
                         f"{b['trips'] - v['trips']:,} round trips per synth   (paired: "
                         + " ".join(f"{x:.2f}" for x in v["saves_wall_s"]["each"]) + ")")
        c = mi["construct"]
        t = c["typecheck"]
        lines.append(f"  constructing both stacks, unpatched: {c['baseline']['wall_s']['median']:.2f} s wall "
                     f"[{c['baseline']['wall_s']['min']:.2f}], {c['baseline']['python_cpu_s']['median']:.2f} s Python CPU;"
                     f" typecheck saves {t['saves_wall_s']['median']:.2f} s wall [{t['saves_wall_s']['min_diff']:.2f}], "
                     f"{t['saves_cpu_s']['median']:.2f} s CPU")
        for variant, w in mi["walk"].items():
            lines.append(f"  {variant} over both stacks (replaces the Aspect; at construct time): "
                         f"{w['wall_s']['median']:.2f} s wall [{w['wall_s']['min']:.2f}], {w['cpu_s']['median']:.2f} s "
                         f"CPU, {w['trips']:,} round trips")
        r = mi["render"]
        lines.append(f"  38 template renderings: {r['per_call']['renderers']} Renderers "
                     f"{r['per_call']['wall_s']['median']:.3f} s [{r['per_call']['wall_s']['min']:.3f}] vs "
                     f"{r['shared']['renderers']} shared {r['shared']['wall_s']['median']:.3f} s "
                     f"[{r['shared']['wall_s']['min']:.3f}]: saves {r['saves_wall_s']['median']:.3f} s")
        a = mi.get("archive")
        if a:
            lines.append(f"  cdktf's archiver process (once per stack per synth): "
                         f"{a['cdktf_archiver']['wall_s']['median']:.2f} s wall [{a['cdktf_archiver']['wall_s']['min']:.2f}]"
                         f", {a['cdktf_archiver']['cpu_s']['median']:.2f} s CPU, {a['cdktf_archiver']['peak_rss_mb']:.0f} MB;"
                         f" Python zipfile of the same files {a['python_zipfile']['wall_s']['median'] * 1000:.1f} ms")
        lines += [f"  {variant}: {APP_VARIANTS[variant]}" for variant in APP_VARIANTS]
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--with-tests", action="store_true", help="also time the test suite (pytest -q -x)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the full app: phases, jsii round trips, cProfile, ablations")
    parser.add_argument("--_child", choices=["floor", "full", "micro"], help=argparse.SUPPRESS)
    parser.add_argument("--_rounds", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--_child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_without", action="append", default=[], choices=list(ABLATIONS), help=argparse.SUPPRESS)
    parser.add_argument("--_instrument", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_cprofile", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child == "micro":
        return _micro_child(args._child_out, args._rounds)
    if args._child:
        return _profile_child(args._child, args._child_out, args._without, args._instrument, args._cprofile)
    if args.runs < 1:
        parser.error("--runs: allowed: 1 or more")

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    try:
        log(f"benchmarking ({args.runs} runs each; a full and a floor synth take ~10-20 s each) ...")
        report = run_bench(args.runs, args.with_tests, log)
        if args.profile:
            log("profiling ...")
            report["profile"] = run_profile(args.runs, log)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    failed = [c for c in report["checks"] if not c["passed"]]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
