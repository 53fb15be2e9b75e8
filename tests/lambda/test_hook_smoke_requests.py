"""Smoke requests through the test listener (SMOKE_CHECKS, issue 14, hole 1): exact status and body pattern,
sent directly or by the probe function inside the VPC to the ALB nodes the hook looks up."""
from __future__ import annotations

import json

import pytest

from health_check_testkit import GROUP, World, handler_module, only_decision, sent_status

handler = handler_module.handler


def _smoke(monkeypatch, base: str, *checks: dict) -> None:
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: base}))
    monkeypatch.setenv("SMOKE_CHECKS", json.dumps({GROUP: list(checks)}))


def test_smoke_requests_pass_on_exact_status_and_body(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    base, hits = http_server
    _smoke(monkeypatch, base, {"path": "/health", "status": 200, "body": "^ok$"},
           {"path": "/broken", "status": 500})  # a declared non-2xx answer is what is expected
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Succeeded", result["reason"]
    assert hits == ["/health", "/broken"]


@pytest.mark.parametrize("check,reason", [
    ({"path": "/broken", "status": 200}, "expected HTTP 200, got 500"),
    ({"path": "/health", "status": 200, "body": "^healthy"}, "does not match"),
    ({"path": "/slow", "status": 200}, "timed out"),
])
def test_smoke_request_failure_fails_the_hook(world: World, codedeploy_gap, monkeypatch, http_server,
                                              check, reason) -> None:
    base, _ = http_server
    monkeypatch.setenv("PROBE_TIMEOUT_SECONDS", "0.5")
    _smoke(monkeypatch, base, {"path": "/health", "status": 200}, check)
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and reason in result["reason"] and check["path"] in result["reason"]
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]


def _through_probe(monkeypatch, port: int, *checks: dict) -> list:
    from health_check_testkit import ALB_SUFFIX, PROBE_FUNCTION, serve_probe_function

    monkeypatch.setenv("PROBE_FUNCTION", PROBE_FUNCTION)
    monkeypatch.setenv("TEST_LISTENERS", json.dumps({GROUP: {"alb": ALB_SUFFIX, "port": port, "scheme": "http"}}))
    monkeypatch.setenv("SMOKE_CHECKS", json.dumps({GROUP: list(checks)}))
    return serve_probe_function()


def test_smoke_requests_go_through_the_probe_function_to_the_alb_nodes(world: World, codedeploy_gap, monkeypatch,
                                                                       http_server, capsys) -> None:
    from health_check_testkit import alb_node

    base, hits = http_server
    alb_node("127.0.0.1")
    payloads = _through_probe(monkeypatch, int(base.rsplit(":", 1)[1]), {"path": "/health", "status": 200,
                                                                        "body": "^ok$"})
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Succeeded", result["reason"]
    assert hits == ["/health"]
    assert payloads[0]["base_urls"] == [f"http://127.0.0.1:{base.rsplit(':', 1)[1]}"]
    assert only_decision(capsys)["test_listener_addresses"] == ["127.0.0.1"]


def test_probe_function_failure_fails_the_hook(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    from health_check_testkit import alb_node

    base, _ = http_server
    alb_node("127.0.0.1")
    _through_probe(monkeypatch, int(base.rsplit(":", 1)[1]), {"path": "/broken", "status": 200})
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "expected HTTP 200, got 500" in result["reason"]


def test_no_alb_node_found_fails_the_hook(world: World, codedeploy_gap, monkeypatch) -> None:
    _through_probe(monkeypatch, 8080, {"path": "/health", "status": 200})
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "no network interface of ALB" in result["reason"]
