"""Measuring one command: its wall time, CPU time and the peak RSS of its whole process tree.

Why it exists: a synth is not one process. Python starts jsii's `node jsii-runtime.js`, which
starts the kernel, a second `node` holding the assemblies and the construct tree; Python and Node
are alive together and neither shrinks once grown, so what a user's machine needs is the peak of
their *sum*. `/usr/bin/time` and wait4's ru_maxrss give the largest single process instead (and
start a forked child at its parent's RSS), so they under-report the tree.

- *peak RSS*: a psutil sampler thread sums the RSS of the command and all its descendants
  (`Process.children(recursive=True)`) every SAMPLE_INTERVAL and keeps the largest sum. A spike
  shorter than the interval can be missed; a synth's memory only grows, so its peak is not.
  RSS counts shared pages (libpython, libnode) once per process.
- *CPU time*: user + system of the command and every descendant it waited for (jsii waits for
  Node at exit), from os.wait4's rusage. Steadier than wall time on a shared machine.
- *wall time*: from starting the command to reaping it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import psutil

ROOT = Path(__file__).resolve().parent.parent
# psutil finds children by reading every /proc/<pid>/stat: ~1.5 ms of CPU per sample, ~3 % of a core.
SAMPLE_INTERVAL = 0.05


class BenchError(RuntimeError):
    """A measured command failed: its figures mean nothing. The message is one line."""


def tree_rss(process: psutil.Process) -> int:
    """The summed RSS (bytes) of a process and its live descendants; 0 once it is gone."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:  # gone (or reaped) since the last sample
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # exited between the listing and the reading, or a zombie
            continue
    return total


class PeakSampler(threading.Thread):
    """Samples tree_rss(pid) every `interval` seconds until stopped; keeps the largest sum."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL):
        super().__init__(name="rss-sampler", daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:  # the first sample at once: a short command gets at least one
            self.peak = max(self.peak, tree_rss(self.process))
            self.samples += 1
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class Run:
    """One measured run of a command. Sizes in bytes, times in seconds."""

    argv: List[str]
    wall_s: float
    cpu_s: float
    peak_rss: int
    samples: int
    returncode: int
    output: str = field(repr=False, default="")

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def measure(argv: Sequence[str], env: Optional[Dict[str, str]] = None, cwd: Path = ROOT,
            interval: float = SAMPLE_INTERVAL, keep_output: int = 4000) -> Run:
    """Run argv as a fresh subprocess (stdout and stderr kept) and measure it."""
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        sampler = PeakSampler(proc.pid, interval)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: take the whole tree down with us
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            sampler.stop()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    return Run(argv=list(argv), wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, peak_rss=sampler.peak,
               samples=sampler.samples, returncode=proc.returncode,
               output=output[-keep_output:] if keep_output else output)
