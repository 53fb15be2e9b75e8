"""A local AWS API (moto server) that the real Terraform AWS provider can deploy into, run in this process.

moto 5.2.5 answers a few operations unlike AWS; :mod:`cicd.emulator.moto_patches` makes those behave like AWS and
is applied before the server starts. Use it from Python::

    from cicd.emulator import server as emulator

    with emulator.start() as emu:               # free loopback port
        env = emu.subprocess_env(region="eu-west-1")   # os.environ + endpoint, test keys, no IMDS
        subprocess.run(["terraform", "apply", "-auto-approve"], env=env, check=True)

or from a shell::

    python -m cicd.emulator.server --port 4566         # prints the endpoint; Ctrl-C / SIGTERM stops it

:func:`cicd.emulator.process.spawn` runs this very command in a child process when the emulator needs moto
state of its own (``--exit-with-parent``: it stops with the process that started it); ``main`` is therefore
both the shell's entry and the child's.

Servers started in the same Python process share moto's in-memory state (moto keeps its backends in
module globals); start separate processes when you need isolated state. The patches change moto for the
whole process while an emulator runs here, and are removed when the last one stops. What a client needs of
either kind (endpoint, environment, provider settings) is :mod:`cicd.emulator.endpoint`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import socket
import sys
import threading
from typing import Any, Iterator

from cicd.emulator.endpoint import Endpoint
from cicd.emulator.wsgi import OneRequestAtATime

# The first line main() prints; cicd.emulator.process.spawn reads the child's endpoint from it.
LISTENING = "emulator listening on "


class Emulator(Endpoint):
    """A moto server running in this process with the project's compatibility patches applied."""

    def __init__(self, server: Any, host: str, port: int) -> None:
        self._server = server
        self.host = host
        self.port = port
        self._stopped = False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._server.stop()
            # werkzeug's shutdown() stops serve_forever but leaves the listening socket open.
            inner = getattr(self._server, "_server", None)
            if inner is not None:
                try:
                    inner.server_close()
                except OSError:
                    pass
        finally:
            _release_patches()

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Emulator({self.endpoint}{', stopped' if self._stopped else ''})"


# In-process emulators running. The patches change moto for the whole process, so they are in effect
# while at least one runs and removed after the last one stops (in-process moto tests then see plain moto).
_ACTIVE = 0
_ACTIVE_LOCK = threading.Lock()


def _release_patches() -> None:
    from cicd.emulator import moto_patches

    global _ACTIVE
    with _ACTIVE_LOCK:
        _ACTIVE -= 1
        if _ACTIVE == 0:
            moto_patches.remove_all()


@contextlib.contextmanager
def patched(*only: str) -> Iterator[None]:
    """The compatibility patches in effect for in-process moto (``mock_aws``) while the block runs:
    tests of code that talks to moto directly get the very fakes the emulator serves, not copies of
    their own. Counted with the in-process emulators, so neither removes the patches under the other.
    `only`: name prefixes of the patches wanted (default all), for tests whose calls meet one service."""
    from cicd.emulator import moto_patches

    global _ACTIVE
    with _ACTIVE_LOCK:
        moto_patches.apply_all(only)
        _ACTIVE += 1
    try:
        yield
    finally:
        _release_patches()


def _check_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server does
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None


def start(port: int = 0, host: str = "127.0.0.1", quiet: bool = True) -> Emulator:
    """Apply the compatibility patches and start a moto server on ``host:port`` in a daemon thread.

    The patches stay in effect in this process until the last emulator started here is stopped.

    ``port=0`` picks a free port; read it back from ``.port`` / ``.endpoint``. ``quiet`` silences the
    per-request access log (werkzeug's INFO messages).
    """
    from moto.server import ThreadedMotoServer

    from cicd.emulator import moto_patches

    if port:
        _check_free(host, port)  # ThreadedMotoServer.start() would wait forever on a port in use
    global _ACTIVE
    with _ACTIVE_LOCK:
        moto_patches.apply_all()
        _ACTIVE += 1
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    try:
        server.start()
    except BaseException:
        _release_patches()
        raise
    inner = server._server  # werkzeug's server; its handler calls `server.app` for every request
    inner.app = OneRequestAtATime(inner.app)
    _, real_port = server.get_host_and_port()
    # a wildcard bind is reached through loopback
    client_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return Emulator(server, client_host, int(real_port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cicd.emulator.server",
        description="Run a local AWS API (moto server with the project's patches) in the foreground.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--region", default=None, help="only used for the printed environment")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--env-json", action="store_true", help="print the client environment as one JSON line too"
    )
    parser.add_argument(
        "--exit-with-parent", action="store_true",
        help="stop when stdin reaches end of file (the parent closed it or died)",
    )
    args = parser.parse_args(argv)

    stop_requested = threading.Event()

    def _request_stop(signum: int, _frame: object) -> None:
        stop_requested.set()

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    emu = start(port=args.port, host=args.host, quiet=not args.verbose)
    previous = {
        sig: signal.signal(sig, _request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        print(f"{LISTENING}{emu.endpoint}", flush=True)
        if args.exit_with_parent:
            threading.Thread(target=lambda: (sys.stdin.read(), stop_requested.set()), daemon=True).start()
        if args.env_json:
            print(json.dumps(emu.env(args.region), sort_keys=True), flush=True)
        while not stop_requested.wait(0.5):
            pass
    finally:
        emu.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
