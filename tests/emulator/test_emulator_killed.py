"""Issue #5: an emulator that dies halfway through `nox -s emulator` ends the run with one clear
error line, and leaves no terraform process, no emulator and no work folder behind.

The real main job (python -m cicd.emulator.run) on one region; its emulator process is SIGKILLed
as soon as the apply reports progress. Slow-ish (one synth and the start of an apply).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[2]
REGION = "us-west-2"
pytestmark = pytest.mark.e2e


def _processes_mentioning(text: str) -> List[str]:
    """Command lines or working folders of live processes that mention ``text``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if text in cmdline or text in cwd:
            found.append(f"{pid}: {cmdline.strip()} (in {cwd})")
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_emulator_killed_during_apply(tmp_path: Path, cli_env) -> None:
    env = cli_env(tmp_path / "work")
    run = subprocess.Popen([sys.executable, "-m", "cicd.emulator.run", "--region", REGION], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    stderr: List[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(run.stderr), daemon=True)
    reader.start()
    emulator_pid, stdout = None, []
    try:
        for line in run.stdout:
            stdout.append(line)
            started = re.match(rf"{REGION}: emulator http://127\.0\.0\.1:\d+ \(pid (\d+)\)", line)
            if started:
                emulator_pid = int(started.group(1))
            if emulator_pid and re.search(r"resources applied", line):
                os.kill(emulator_pid, signal.SIGKILL)  # the emulator dies mid-apply
                break
        assert emulator_pid, "".join(stdout) + "".join(stderr)
        killed_at = time.monotonic()
        stdout.extend(run.stdout)
        run.wait(timeout=300)
        took = time.monotonic() - killed_at
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    reader.join(timeout=10)
    errors = "".join(stderr)

    assert run.returncode == 2, errors + "".join(stdout)[-2000:]
    assert "Traceback" not in errors
    expected = f"error: {REGION}: the emulator (pid {emulator_pid}) stopped during apply (killed by SIGKILL); "
    assert errors.splitlines()[-1].startswith(expected), errors
    assert "Request cancelled" not in errors  # terraform's own cancellation noise is not shown
    # terraform was stopped as soon as the emulator went, not after minutes of retries
    assert took < 60, f"the run took {took:.0f} s to end after the emulator died"
    assert not _alive(emulator_pid)
    assert _processes_mentioning(str(tmp_path)) == []
    assert not (tmp_path / "work" / ".emulator").exists() or not [
        p for p in (tmp_path / "work" / ".emulator").iterdir() if p.is_dir()
    ], "an emulator work folder was left behind"
