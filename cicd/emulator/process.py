"""The emulator in a child process: its own moto state, its own GIL, stopped with the process that started it.

The main job runs one emulator per region (the regions share nothing, as in AWS) and keeps the emulator's
work off the process that drives terraform; an in-process server (:mod:`cicd.emulator.server`) can give
neither, since moto keeps its state in module globals. ``spawn`` starts ``python -m cicd.emulator.server
--exit-with-parent`` and reads the endpoint from the first line it prints; the child stops when its stdin
closes, which :meth:`EmulatorProcess.stop` does and the death of this process does too::

    from cicd.emulator.process import spawn

    with spawn(log=Path("emulator.log")) as emu:
        subprocess.run(["terraform", "apply", "-auto-approve"], env=emu.subprocess_env("us-east-1"), check=True)
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Callable

from cicd.emulator.endpoint import Endpoint
from cicd.emulator.server import LISTENING


class EmulatorProcess(Endpoint):
    """An emulator in a child process (``python -m cicd.emulator.server``): its own moto state, its own GIL.

    One per region keeps the regions apart as AWS does, and keeps the emulator's work off the process
    that drives terraform. The child also stops when this process dies (it watches its stdin), so an
    interrupted run cannot leave it behind.
    """

    def __init__(self, process: subprocess.Popen, host: str, port: int, log: Path) -> None:
        self._process = process
        self.host = host
        self.port = port
        self.log = log
        self._stopping = False

    @property
    def pid(self) -> int:
        return self._process.pid

    def exited(self) -> int | None:
        """None while it runs; else its exit code (negative: killed by that signal)."""
        return self._process.poll()

    def on_unexpected_exit(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(exit code)`` from a watcher thread if the child exits before stop()."""
        def _watch() -> None:
            code = self._process.wait()
            if not self._stopping:
                callback(code)

        threading.Thread(target=_watch, name=f"emulator-{self.port}-watch", daemon=True).start()

    def describe_exit(self) -> str:
        code = self.exited()
        if code is None:
            return "running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def stop(self, timeout: float = 20) -> None:
        self._stopping = True
        process = self._process
        if process.poll() is None:
            try:
                process.stdin.close()  # the child's stop signal (as when this process dies)
            except OSError:
                pass
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.exited() is None else f"exited {self.exited()}"
        return f"EmulatorProcess({self.endpoint}, pid {self.pid}, {state})"


def spawn(log: Path, timeout: float = 60) -> EmulatorProcess:
    """Start ``python -m cicd.emulator.server`` on a free loopback port; its stderr (errors) goes to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "cicd.emulator.server", "--port", "0", "--exit-with-parent"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
            cwd=Path(__file__).resolve().parents[2],
            start_new_session=True,  # a Ctrl-C meant for terraform does not reach it; we stop it
        )
    ready = threading.Event()
    first_line: list[str] = []

    def _read_first_line() -> None:
        first_line.append(process.stdout.readline())
        ready.set()

    threading.Thread(target=_read_first_line, daemon=True).start()
    if not ready.wait(timeout) or not first_line[0].startswith(LISTENING):
        process.kill()
        process.wait()
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise OSError(f"the emulator did not start within {timeout:.0f} s: {tail[0]}")
    endpoint = urllib.parse.urlparse(first_line[0][len(LISTENING):].strip())
    return EmulatorProcess(process, endpoint.hostname, int(endpoint.port), log)
