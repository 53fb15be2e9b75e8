"""The emulator's WSGI layer in front of moto: one request at a time, lost answers given again, a
read-only inspection path and a switch that holds writes. Used by :func:`cicd.emulator.server.start` (and so
by every emulator process)."""

from __future__ import annotations

import collections
import io
import json
import logging
import re
import threading
import time
import urllib.parse
from typing import Any


# AWS shows a hook's reported status only through the deployment it drives; moto runs no deployments,
# so the emulator answers this one read-only path itself (cicd.emulator.moto_patches.hook_status, JSON).
INSPECT_HOOK_STATUS = "/_cicd/codedeploy/hook-status"
# CodeDeploy hands a hook its execution id when it invokes it; moto runs no deployment, so whoever stands in
# for CodeDeploy (the blue/green rehearsal) reads the ids the patch issued here, with the rollback outcome.
INSPECT_HOOK_EXECUTIONS = "/_cicd/codedeploy/hook-executions"


def _inspect_hook_status(environ: Any, start_response: Any) -> list:
    from cicd.emulator import moto_patches

    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    status = moto_patches.hook_status(query.get("deploymentId", [""])[0], query.get("hookExecutionId", [""])[0])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"status": status}).encode()]


# POST ?on=1 / ?on=0. While on, every call that would change something, except S3's, is answered 503 (as
# an AWS service outage would be; the SDK retries it) and never reaches moto. Reads and S3 (where
# terraform keeps its state and lock file) go through. The tests use it to stop an apply at a known
# point: the state lock held, nothing created yet (tests/deploy/test_state_lock_emulator.py).
HOLD_WRITES = "/_cicd/hold-writes"
_READS = ("Describe", "Get", "List", "BatchGet", "Head")
_SIGV4_SERVICE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def is_write(environ: Any) -> bool:
    """A call that changes something outside S3 (by the SigV4 service and the operation's name)."""
    service = _SIGV4_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if service and service.group(1) == "s3":
        return False
    operation = (environ.get("HTTP_X_AMZ_TARGET") or environ.get("cicd.action") or "").rsplit(".", 1)[-1]
    if operation:
        return not operation.startswith(_READS)
    return environ.get("REQUEST_METHOD") not in ("GET", "HEAD")


def _held(_environ: Any, start_response: Any) -> list:
    start_response("503 Service Unavailable", [("Content-Type", "application/json")])
    return [b'{"__type": "ServiceUnavailable", "message": "writes are held (cicd emulator hold-writes)"}']


def _inspect_hook_executions(environ: Any, start_response: Any) -> list:
    from cicd.emulator import moto_patches

    deployment_id = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("deploymentId", [""])[0]
    body = {"executions": moto_patches.hook_executions(deployment_id),
            "rolledBack": moto_patches.rolled_back(deployment_id)}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


_INSPECT = {INSPECT_HOOK_STATUS: _inspect_hook_status, INSPECT_HOOK_EXECUTIONS: _inspect_hook_executions}


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
        self.holding_writes = False

    def _hold_writes(self, environ: Any, start_response: Any) -> list:
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        self.holding_writes = query.get("on", ["1"])[0] == "1"
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"holding_writes": self.holding_writes}).encode()]

    def __call__(self, environ: Any, start_response: Any) -> list:
        path = environ.get("PATH_INFO")
        if path == HOLD_WRITES:
            return self._hold_writes(environ, start_response)
        app = _INSPECT.get(path, self.app)
        _note_query_action(environ)
        if self.holding_writes and is_write(environ):
            return _held(environ, start_response)
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


# How the error log words a retry, and a retry answered from the earlier attempt (cicd.emulator.run counts them).
RETRY = "client retry "
REPLAYED = "the same answer is given again"


class Answers:
    """The answers given to AWS SDK calls, by ``amz-sdk-invocation-id`` (one id per call, kept across
    the SDK's retries), for OneRequestAtATime. Bounded: the last ``keep`` calls, answers up to
    ``max_body`` bytes (a lost answer is replayed within seconds). Retries go to the
    ``cicd.emulator.server`` logger, i.e. the emulator's error log."""

    def __init__(self, keep: int = 2048, max_body: int = 256 * 1024) -> None:
        self._calls: "collections.OrderedDict[str, dict]" = collections.OrderedDict()
        self._keep = keep
        self._max_body = max_body
        self.logger = logging.getLogger("cicd.emulator.server")
        self.replayed = 0

    def earlier_success(self, environ: Any) -> "tuple[str, list, bytes] | None":
        call = self._calls.get(environ.get("HTTP_AMZ_SDK_INVOCATION_ID") or "")
        if not call or not call["answer"]:
            return None
        self.replayed += 1
        self.logger.warning(RETRY + "%s (%s) %s: its earlier attempt was answered %s; " + REPLAYED +
                            ", the call is not run twice; earlier: %s",
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
            self.logger.warning(RETRY + "%s (%s) %s: %s after %.2f s; earlier: %s", _operation(environ),
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
