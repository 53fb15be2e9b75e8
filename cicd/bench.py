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

`--profile` adds where the time beyond the floor goes (a few more minutes): see cicd/bench_profile.py.

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
        from cicd.bench_profile import format_profile

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
                        help="also profile the full app: phases, jsii round trips, cProfile, ablations")
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
            from cicd.bench_profile import run_profile

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
