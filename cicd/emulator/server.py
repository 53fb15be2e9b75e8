"""A local AWS API (moto server) that the real Terraform AWS provider can deploy into.

moto 5.2.5 answers a few operations unlike AWS; :mod:`cicd.emulator.moto_patches` makes those behave like AWS and
is applied before the server starts. Use it from Python::

    from cicd.emulator import server as emulator

    with emulator.start() as emu:               # free loopback port
        env = emu.subprocess_env(region="eu-west-1")   # os.environ + endpoint, test keys, no IMDS
        subprocess.run(["terraform", "apply", "-auto-approve"], env=env, check=True)

or in a child process of its own (``spawn``: separate moto state, stopped with this process)::

    with emulator.spawn(log=Path("emulator.log")) as emu:
        ...

or from a shell::

    python -m cicd.emulator.server --port 4566         # prints the endpoint; Ctrl-C / SIGTERM stops it

Servers started in the same Python process share moto's in-memory state (moto keeps its backends in
module globals); start separate processes when you need isolated state. The patches change moto for the
whole process while an emulator runs here, and are removed when the last one stops.

Terraform provider settings that work with it: ``access_key``/``secret_key`` "testing",
``skip_credentials_validation``, ``skip_metadata_api_check``, ``s3_use_path_style = true`` and the
endpoint from AWS_ENDPOINT_URL. Do not set ``skip_requesting_account_id``: the provider would then build
some ARNs with an empty account (CodeDeploy tags never read back); moto answers sts:GetCallerIdentity.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from cicd.emulator.wsgi import HOLD_WRITES, INSPECT_HOOK_EXECUTIONS, INSPECT_HOOK_STATUS, OneRequestAtATime

# Variables that would make a terraform/boto3 subprocess talk to real AWS or use other credentials.
# They are removed by Emulator.subprocess_env().
_CONFLICTING_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
# moto's default account; every ARN the emulator creates carries it.
ACCOUNT_ID = "123456789012"


class _Endpoint:
    """What a client needs of a running emulator: its endpoint and a matching environment."""

    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self, region: str | None = None) -> dict[str, str]:
        """Environment variables a terraform/boto3/aws-cli subprocess needs to use this emulator.

        Merge them over os.environ (or use :meth:`subprocess_env`, which also drops variables that would
        select other credentials). AWS_DEFAULT_REGION/AWS_REGION are only set when ``region`` is given.
        """
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            # Never ask an instance metadata service for credentials or the region.
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if region:
            env["AWS_DEFAULT_REGION"] = region
            env["AWS_REGION"] = region
        return env

    def subprocess_env(
        self, region: str | None = None, base: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """``base`` (default os.environ) without other credential sources or per-service endpoints,
        plus :meth:`env`."""
        src = dict(os.environ if base is None else base)
        for key in list(src):
            if key in _CONFLICTING_ENV or key.startswith("AWS_ENDPOINT_URL_"):
                del src[key]
        if not region:
            src.pop("AWS_DEFAULT_REGION", None)
            src.pop("AWS_REGION", None)
        src.update(self.env(region))
        return src

    def hook_status(self, deployment_id: str, hook_execution_id: str) -> str | None:
        """The status a lifecycle hook reported for a deployment (see INSPECT_HOOK_STATUS), or None."""
        query = urllib.parse.urlencode({"deploymentId": deployment_id, "hookExecutionId": hook_execution_id})
        with urllib.request.urlopen(f"{self.endpoint}{INSPECT_HOOK_STATUS}?{query}", timeout=30) as resp:  # noqa: S310
            return json.loads(resp.read())["status"]

    def hook_executions(self, deployment_id: str) -> dict[str, Any]:
        """What CodeDeploy would know of a deployment's hooks (see INSPECT_HOOK_EXECUTIONS):
        ``{"executions": {lifecycle event: hook execution id}, "rolledBack": bool}``."""
        query = urllib.parse.urlencode({"deploymentId": deployment_id})
        with urllib.request.urlopen(f"{self.endpoint}{INSPECT_HOOK_EXECUTIONS}?{query}", timeout=30) as resp:  # noqa: S310
            return json.loads(resp.read())


    def hold_writes(self, on: bool) -> None:
        """Answer every non-S3 write 503 (retried by SDKs) until released; see emulator_wsgi.HOLD_WRITES."""
        req = urllib.request.Request(f"{self.endpoint}{HOLD_WRITES}?on={int(on)}", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            resp.read()

    def reset(self) -> None:
        """Drop every resource held by the emulator (moto's /moto-api/reset)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            resp.read()


class Emulator(_Endpoint):
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
def patched() -> Iterator[None]:
    """The compatibility patches in effect for in-process moto (``mock_aws``) while the block runs:
    tests of code that talks to moto directly get the very fakes the emulator serves, not copies of
    their own. Counted with the in-process emulators, so neither removes the patches under the other."""
    from cicd.emulator import moto_patches

    global _ACTIVE
    with _ACTIVE_LOCK:
        moto_patches.apply_all()
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


class EmulatorProcess(_Endpoint):
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
    if not ready.wait(timeout) or not first_line[0].startswith(_LISTENING):
        process.kill()
        process.wait()
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise OSError(f"the emulator did not start within {timeout:.0f} s: {tail[0]}")
    endpoint = urllib.parse.urlparse(first_line[0][len(_LISTENING):].strip())
    return EmulatorProcess(process, endpoint.hostname, int(endpoint.port), log)


_LISTENING = "emulator listening on "


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
        print(f"{_LISTENING}{emu.endpoint}", flush=True)
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
