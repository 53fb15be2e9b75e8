"""bench/measure.py: what a measured run's figures are (the process tree's peak RSS, CPU, exit status).

The measured commands are tiny Python processes that allocate known amounts; nothing is timed.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import psutil
import pytest

from bench import measure as bench_measure
from bench import synths

MB = 1024 * 1024

HOLD = textwrap.dedent("""
    import sys, time
    block = bytearray(b"\\x01") * ({mb} * 1024 * 1024)  # written, so resident
    time.sleep({hold})
""")


def _parent_of(child: str, parent_mb: int = 0) -> str:
    """A command that starts `child` as a subprocess, optionally holds parent_mb itself, and waits."""
    return textwrap.dedent(f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", {child!r}])
        block = bytearray(b"\\x01") * ({parent_mb} * 1024 * 1024)
        sys.exit(child.wait())
    """)


def test_measure_sees_a_child_process_allocating_100_mb():
    run = bench_measure.measure([sys.executable, "-c", _parent_of(HOLD.format(mb=110, hold=0.5))])
    assert run.ok, run.output
    assert run.peak_rss >= 100 * MB  # the parent itself is ~10 MB: the child's memory is counted
    assert run.samples >= 2


def test_measure_sums_processes_alive_at_the_same_time():
    # ru_maxrss or /usr/bin/time would say ~100 MB (the largest process); the tree holds ~200 MB
    run = bench_measure.measure([sys.executable, "-c", _parent_of(HOLD.format(mb=100, hold=1.0), parent_mb=100)])
    assert run.ok, run.output
    assert run.peak_rss >= 190 * MB


def test_measure_is_not_inflated_by_a_large_parent():
    # Only the measured tree counts, never the process that measures it (here ~300 MB more).
    ballast = bytearray(b"\x01") * (300 * MB)
    try:
        run = bench_measure.measure([sys.executable, "-c", HOLD.format(mb=100, hold=0.3)])
    finally:
        del ballast
    assert 100 * MB <= run.peak_rss < 250 * MB


def test_measure_counts_the_cpu_time_of_a_child_that_was_waited_for():
    burn = "import time\nwhile time.process_time() < 0.3: pass"  # 0.3 s of CPU, however long that takes
    run = bench_measure.measure([sys.executable, "-c", _parent_of(burn)])
    assert run.ok and run.cpu_s >= 0.3


def test_measure_reports_the_exit_status_and_output():
    run = bench_measure.measure([sys.executable, "-c", "print('hello'); raise SystemExit(3)"])
    assert run.returncode == 3 and not run.ok
    assert "hello" in run.output
    with pytest.raises(bench_measure.BenchError, match="demo failed [(]exit status 3: hello[)]"):
        synths.require(run, "demo")


def test_tree_rss_of_a_process_that_is_gone_is_zero():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    process = psutil.Process(child.pid)
    child.wait()
    assert bench_measure.tree_rss(process) == 0
