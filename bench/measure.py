"""Measuring one run: its wall time, CPU time and the peak RSS of its process tree (`measure()`).

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
reported peak is max(sampled tree sum, largest per-process VmHWM, ru_maxrss). The report also
gives the high-water marks per process name (summed over the processes of that name), their sum (an
upper bound: every process at its own peak at once) and ru_maxrss. RSS counts shared pages (libpython, libnode) once per process.

*CPU time* (user + system of the tree, from wait4) is printed too: on a shared or loaded machine it
is steadier than wall time, and the ratios of both are shown.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_INTERVAL = 0.02


class BenchError(RuntimeError):
    """A measured command failed: its figures mean nothing."""


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
