"""A local AWS API (moto server) that the real Terraform AWS provider can deploy into.

moto 5.2.5 answers a few operations unlike AWS; :mod:`cicd.moto_patches` makes those behave like AWS and
is applied before the server starts. Use it from Python::

    from cicd import emulator

    with emulator.start() as emu:               # free loopback port
        env = emu.subprocess_env(region="eu-west-1")   # os.environ + endpoint, test keys, no IMDS
        subprocess.run(["terraform", "apply", "-auto-approve"], env=env, check=True)

or in a child process of its own (``spawn``: separate moto state, stopped with this process)::

    with emulator.spawn(log=Path("emulator.log")) as emu:
        ...

or from a shell::

    python -m cicd.emulator --port 4566         # prints the endpoint; Ctrl-C / SIGTERM stops it

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
import collections
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Mapping

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
    from cicd import moto_patches

    global _ACTIVE
    with _ACTIVE_LOCK:
        _ACTIVE -= 1
        if _ACTIVE == 0:
            moto_patches.remove_all()


def _check_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server does
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None


# AWS shows a hook's reported status only through the deployment it drives; moto runs no deployments,
# so the emulator answers this one read-only path itself (cicd.moto_patches.hook_status, JSON).
INSPECT_HOOK_STATUS = "/_cicd/codedeploy/hook-status"


def _inspect_hook_status(environ: Any, start_response: Any) -> list:
    from cicd import moto_patches

    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    status = moto_patches.hook_status(query.get("deploymentId", [""])[0], query.get("hookExecutionId", [""])[0])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"status": status}).encode()]


class OneRequestAtATime:
    """WSGI wrapper: each request handled alone, and a lost answer given again rather than the call redone.

    moto's in-memory backends are not thread-safe, but its server is threaded: terraform sends up to
    ten requests at once, and two of them mutating one backend (e.g. EC2 security group rules) can
    make moto fail one with a 500 after the change was made. AWS serializes such changes itself;
    here each request is handled alone. Requests are short (the provider's waits are its own sleeps).

    Second gap, in moto's server (werkzeug 3.1's development server) as seen by the provider's Go
    SDK: now and then a call that moto answered 2xx is sent again (same ``amz-sdk-invocation-id``,
    ``amz-sdk-request: attempt=2``), i.e. the client never got the answer; redone, a create then
    fails ("already exists": InvalidPermission.Duplicate, PriorityInUse, ResourceAlreadyExists) and
    a delete NotFound. AWS does not lose answers that way. So an SDK retry of a call that was already
    answered 2xx gets that same answer again (see Answers) instead of running the call twice; calls
    answered otherwise run again, as on AWS. Every retry is logged with its earlier attempts.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.answers = Answers()

    def __call__(self, environ: Any, start_response: Any) -> list:
        app = _inspect_hook_status if environ.get("PATH_INFO") == INSPECT_HOOK_STATUS else self.app
        _note_query_action(environ)
        answer: list = []

        def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            answer[:] = [status, list(headers)]
            return start_response(status, headers, exc_info)

        arrived = time.perf_counter()
        with self.lock:
            began = time.perf_counter()
            replay = self.answers.earlier_success(environ)
            if replay is not None:
                status, headers, body = replay
                start_response(status, headers)
                return [body]
            body = b""
            try:
                chunks = list(app(environ, _start_response))
                body = b"".join(chunks)
                return chunks
            finally:
                status, headers = answer if answer else ("no response", [])
                self.answers.record(environ, status, headers, body, began - arrived, time.perf_counter() - began)


class Answers:
    """The answers given to AWS SDK calls, by ``amz-sdk-invocation-id`` (one id per call, kept across
    the SDK's retries), for OneRequestAtATime. Bounded: the last ``keep`` calls, answers up to
    ``max_body`` bytes (a lost answer is replayed within seconds). Retries go to the
    ``cicd.emulator`` logger, i.e. the emulator's error log."""

    def __init__(self, keep: int = 2048, max_body: int = 256 * 1024) -> None:
        self._calls: "collections.OrderedDict[str, dict]" = collections.OrderedDict()
        self._keep = keep
        self._max_body = max_body
        self.logger = logging.getLogger("cicd.emulator")
        self.replayed = 0

    def earlier_success(self, environ: Any) -> "tuple[str, list, bytes] | None":
        call = self._calls.get(environ.get("HTTP_AMZ_SDK_INVOCATION_ID") or "")
        if not call or not call["answer"]:
            return None
        self.replayed += 1
        self.logger.warning("client retry %s (%s) %s: its earlier attempt was answered %s; the same answer "
                            "is given again, the call is not run twice; earlier: %s",
                            _operation(environ), environ["HTTP_AMZ_SDK_INVOCATION_ID"], _attempt(environ),
                            call["answer"][0], "; ".join(call["attempts"]))
        call["attempts"].append(f"{_attempt(environ)}: replayed at {time.time():.3f}")
        return call["answer"]

    def record(self, environ: Any, status: str, headers: list, body: bytes, waited: float, took: float) -> None:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        if not invocation:
            return
        call = self._calls.setdefault(invocation, {"attempts": [], "answer": None})
        self._calls.move_to_end(invocation)
        if call["attempts"]:
            self.logger.warning("client retry %s (%s) %s: %s after %.2f s; earlier: %s", _operation(environ),
                                invocation, _attempt(environ), status, took, "; ".join(call["attempts"]))
        call["attempts"].append(f"{_attempt(environ)}: {status} after {took:.2f} s (+{waited:.2f} s queued) "
                                f"at {time.time():.3f} from port {environ.get('REMOTE_PORT')}")
        if status.startswith("2") and len(body) <= self._max_body:
            call["answer"] = (status, headers, body)
        while len(self._calls) > self._keep:
            self._calls.popitem(last=False)


def _attempt(environ: Any) -> str:
    return environ.get("HTTP_AMZ_SDK_REQUEST", "").split(";")[0].strip() or "attempt=?"


def _note_query_action(environ: Any) -> None:
    """EC2, IAM, SNS... (query protocol) name the operation in a form body: note it, keep the body readable."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["cicd.action"] = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]


def _operation(environ: Any) -> str:
    """The API operation of a request, as far as it tells."""
    target = environ.get("HTTP_X_AMZ_TARGET") or environ.get("cicd.action")
    if target:
        return target
    return f"{environ.get('REQUEST_METHOD', '?')} {environ.get('HTTP_HOST', '')}{environ.get('PATH_INFO', '')}"


def start(port: int = 0, host: str = "127.0.0.1", quiet: bool = True) -> Emulator:
    """Apply the compatibility patches and start a moto server on ``host:port`` in a daemon thread.

    The patches stay in effect in this process until the last emulator started here is stopped.

    ``port=0`` picks a free port; read it back from ``.port`` / ``.endpoint``. ``quiet`` silences the
    per-request access log (werkzeug's INFO messages).
    """
    from moto.server import ThreadedMotoServer

    from cicd import moto_patches

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
    """An emulator in a child process (``python -m cicd.emulator``): its own moto state, its own GIL.

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
    """Start ``python -m cicd.emulator`` on a free loopback port; its stderr (errors) goes to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "cicd.emulator", "--port", "0", "--exit-with-parent"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
            cwd=Path(__file__).resolve().parent.parent,
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
        prog="python -m cicd.emulator",
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
