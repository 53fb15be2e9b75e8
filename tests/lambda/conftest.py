"""Fixtures for the health-check Lambda tests: moto for every test, and the narrow moto gap patches.

Helpers and the world builder live in health_check_testkit (see its docstring for why).
"""
from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from moto import mock_aws
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult
from moto.elbv2.models import FakeTargetGroup

sys.path.insert(0, str(Path(__file__).resolve().parent))

from health_check_testkit import (  # noqa: E402  (needs the sys.path entry above)
    APP,
    PROJECT,
    REGION,
    TOPIC_ARN,
    Recorder,
    World,
    build_world,
    handler_module,
    hc_aws,
    new_session,
)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "CODEDEPLOY_APPLICATION": APP,
        "NOTIFICATION_TOPIC_ARN": TOPIC_ARN,
        "PROJECT_NAME": PROJECT,
        # moto builds thousands of default AMIs per EC2 backend otherwise (seconds per test).
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        "MAX_ATTEMPTS": "3",
        "PROBE_TIMEOUT_SECONDS": "2",
        # urllib honours proxy variables; the probe tests talk to a local server.
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TEST_ENDPOINTS", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> List[float]:
    """Backoff delays the function asked for; no real sleeping keeps the suite fast."""
    delays: List[float] = []
    monkeypatch.setattr(hc_aws, "sleep", delays.append)
    return delays


@pytest.fixture(autouse=True)
def aws(env: None) -> Iterator[Recorder]:
    """moto for every test; the function's session is fresh so its events see only this test."""
    with mock_aws():
        hc_aws.reset()
        hc_aws._session = new_session()  # shares the model loader (see new_session)
        recorder = Recorder()
        # Registered on the session before any client exists, so every client inherits it.
        hc_aws.session().events.register("provide-client-params", recorder)
        yield recorder
        hc_aws.reset()
    # Whatever a scenario made the function call must be granted by IAM_ACTIONS.
    assert recorder.actions <= handler_module.IAM_ACTIONS, recorder.actions - handler_module.IAM_ACTIONS


@pytest.fixture
def codedeploy_gap() -> Iterator[Dict[str, List[Dict[str, Any]]]]:
    """moto 5.2.5 gaps: CodeDeploy PutLifecycleEventHookExecutionStatus and StopDeployment are not
    implemented, and GetDeploymentGroup answers no alarm configuration. The emulator's own patches
    (cicd/emulator/moto_patches/codedeploy.py, shown by tests/emulator/test_gaps.py) serve them for the test,
    so these tests meet the same AWS-like checks as the emulator (real hook execution ids, ECS/Lambda
    deployments only, none after the deployment finished). Each request that reached moto is recorded
    (parsed parameters) for assertions."""
    from cicd.emulator import server as emulator

    sent: Dict[str, List[Dict[str, Any]]] = {"put_lifecycle_event_hook_execution_status": [], "stop_deployment": []}
    keys = {"put_lifecycle_event_hook_execution_status": ("deploymentId", "lifecycleEventHookExecutionId", "status"),
            "stop_deployment": ("deploymentId", "autoRollbackEnabled")}
    # Only CodeDeploy's patches: the function meets no other patched call, and the IAM one (AWS managed
    # policies in every IAM backend moto creates) would cost ~1.5 s of JSON parsing per test.
    with emulator.patched("codedeploy_"):
        served = {name: CodeDeployResponse.__dict__[name] for name in keys}

        def recording(name: str) -> Any:
            def call(self: CodeDeployResponse) -> ActionResult:
                sent[name].append({k: self._get_param(k) for k in keys[name]})
                return served[name](self)
            return call

        for name in keys:
            setattr(CodeDeployResponse, name, recording(name))
        try:
            yield sent
        finally:
            for name, method in served.items():
                setattr(CodeDeployResponse, name, method)


@pytest.fixture
def target_states(monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    """moto gap: ELBv2 runs no health checks - every registered IP target is 'healthy' (only a
    stopped EC2 instance turns 'unused'). Map target id -> state to override it at moto's model
    level, so DescribeTargetHealth is still served and serialised by moto."""
    states: Dict[str, str] = {}
    reasons = {"unhealthy": "Target.FailedHealthChecks", "initial": "Elb.RegistrationInProgress",
               "draining": "Target.DeregistrationInProgress", "unavailable": "Elb.InternalError",
               "unused": "Target.NotInUse"}
    original = FakeTargetGroup.health_for

    def health_for(self: FakeTargetGroup, target: Dict[str, Any], ec2_backend: Any) -> Any:
        status = original(self, target, ec2_backend)
        if target["Id"] in states:
            status.status = states[target["Id"]]
            status.reason = reasons.get(status.status)
        return status

    monkeypatch.setattr(FakeTargetGroup, "health_for", health_for)
    return states


@pytest.fixture
def world(aws: Recorder, codedeploy_gap: Dict[str, Any]) -> World:
    """The blue/green world of health_check_testkit.build_world; StopDeployment and
    PutLifecycleEventHookExecutionStatus are served through the codedeploy_gap patch."""
    return build_world()


@pytest.fixture
def http_server() -> Iterator[Tuple[str, List[str]]]:
    """Local stand-in for the test listener: /health -> 200, /broken -> 500, /flaky -> 500 then 200."""
    hits: List[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            hits.append(self.path)
            if self.path == "/slow":
                time.sleep(1.5)
            ok = self.path == "/health" or (self.path == "/flaky" and hits.count("/flaky") > 1)
            self.send_response(200 if ok else 500)
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"boom")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


