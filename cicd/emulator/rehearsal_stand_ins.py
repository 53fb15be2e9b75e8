"""What runs in this process in place of AWS compute during the blue/green rehearsal (cicd/emulator/rehearsal.py).

moto runs no function code without Docker and no tasks at all, so the rehearsal supplies them: the health
Lambda's own handler, loaded fresh for each region; the probe function's own handler, answering the hook's
synchronous Invoke; and a local HTTP server answering as the green tasks would behind the test listener,
healthy or in one of the failure modes the rehearsal's cases need.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

from cicd.workspace.config import ROOT

HANDLER_DIR = ROOT / "lambda" / "health_check"
# The hook's per-request timeout in the rehearsal; the green tasks' "timeout" mode outwaits it.
PROBE_TIMEOUT_SECONDS = 1.0


@contextlib.contextmanager
def environment(values: Dict[str, str]) -> Iterator[None]:
    """``values`` over os.environ while the block runs, then os.environ as it was: the emulator's endpoint for
    the rehearsal's clients, and the variables the stack gives the function (its handler reads them per call)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_handler():
    """A fresh copy of the function's handler, under a name no other `handler` module can shadow.

    A Lambda function lives in one region and its modules cache their clients; each region's
    exercise therefore loads its own copy, as each region runs its own function.
    """
    for name in [m for m in sys.modules if m.startswith("hc_")]:
        del sys.modules[name]
    if str(HANDLER_DIR) not in sys.path:
        sys.path.insert(0, str(HANDLER_DIR))  # for its hc_* modules
    spec = importlib.util.spec_from_file_location("health_check_handler", HANDLER_DIR / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class GreenTasks:
    """A local HTTP server answering as the replacement tasks would behind the test listener."""

    def __init__(self, health: str, version: str) -> None:
        self.mode = "healthy"
        self.hits: List[str] = []
        green = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                green.hits.append(self.path)
                if green.mode == "timeout":
                    time.sleep(PROBE_TIMEOUT_SECONDS * 2.5)
                status, body = {health: (200, "ok"), version: (200, "version 7")}.get(self.path, (404, "no"))
                if green.mode == "500":
                    status, body = 500, "internal error"
                elif green.mode == "wrong-body" and self.path == version:
                    body = "oops"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the probe gave up waiting: the timeout case

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextlib.contextmanager
    def running(self) -> Iterator["GreenTasks"]:
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def run_probe_function_here() -> List[Dict[str, Any]]:
    """The hook's synchronous Invoke of the probe function runs the function's own handler in this process
    (moto runs no function code without Docker): the Lambda service's part, nothing of the hook's."""
    from botocore.awsrequest import AWSResponse
    from botocore.response import StreamingBody

    hc_aws, hc_probe = sys.modules["hc_aws"], sys.modules["hc_probe"]

    invocations: List[Dict[str, Any]] = []

    def invoke(params: Dict[str, Any], **_: Any) -> Any:
        invocations.append(json.loads(params.get("body") or b"{}"))
        answer = json.dumps(hc_probe.handler(invocations[-1], None)).encode()
        return (AWSResponse("https://lambda.invalid", 200, {}, None),
                {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(answer), len(answer)),
                 "ResponseMetadata": {"HTTPStatusCode": 200}})

    hc_aws.session().events.register("before-call.lambda.Invoke", invoke)
    return invocations
