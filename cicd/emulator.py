"""A local AWS API (moto server) that the real Terraform AWS provider can deploy into.

moto 5.2.5 answers a few operations unlike AWS; :mod:`cicd.moto_patches` makes those behave like AWS and
is applied before the server starts. Use it from Python::

    from cicd import emulator

    with emulator.start() as emu:               # free loopback port
        env = emu.subprocess_env(region="eu-west-1")   # os.environ + endpoint, test keys, no IMDS
        subprocess.run(["terraform", "apply", "-auto-approve"], env=env, check=True)

or as a separate process (one per region if you like)::

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
import json
import logging
import os
import signal
import socket
import sys
import threading
import urllib.request
from typing import Any, Mapping

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


class Emulator:
    """A running moto server with the project's compatibility patches applied."""

    def __init__(self, server: Any, host: str, port: int) -> None:
        self._server = server
        self.host = host
        self.port = port
        self._stopped = False

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

    def reset(self) -> None:
        """Drop every resource held by the emulator (moto's /moto-api/reset)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            resp.read()

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


class OneRequestAtATime:
    """WSGI wrapper: moto's in-memory backends are not thread-safe, but its server is threaded.

    Terraform sends up to ten requests at once; two of them mutating one backend (e.g. EC2 security
    group rules) can make moto fail one with a 500, after the change was made, and the provider's
    retry then meets "already exists" (InvalidPermission.Duplicate, PriorityInUse). AWS serializes
    such changes itself; here each request is handled alone. Requests are short: the provider's
    waits are its own sleeps, so this costs little.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> list:
        with self.lock:
            return list(self.app(environ, start_response))


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
    args = parser.parse_args(argv)

    stop_requested = threading.Event()

    def _request_stop(signum: int, _frame: object) -> None:
        stop_requested.set()

    emu = start(port=args.port, host=args.host, quiet=not args.verbose)
    previous = {
        sig: signal.signal(sig, _request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        print(f"emulator listening on {emu.endpoint}", flush=True)
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
