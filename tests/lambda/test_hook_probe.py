"""The hook's HTTP probe of the test listener (TEST_ENDPOINTS): bounded attempts, retried, skipped once an
alarm already failed the release."""
from __future__ import annotations

import json
import socket

from health_check_testkit import GROUP, World, handler_module, only_decision, sent_status

handler = handler_module.handler


def test_probe_ok(world: World, codedeploy_gap, monkeypatch, http_server, capsys) -> None:
    base, hits = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/health", "shop-staging-web-service": "http://x"}))
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    assert hits == ["/health"]
    assert only_decision(capsys)["probe"]["status"] == 200


def test_probe_failure_is_bounded_and_fails(world: World, codedeploy_gap, monkeypatch, http_server, sleeps) -> None:
    base, hits = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/broken"}))
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "HTTP 500" in result["reason"]
    assert hits == ["/broken"] * 3
    assert len(sleeps) == 2  # backoff between attempts, none after the last
    assert [s["status"] for s in sent_status(codedeploy_gap)] == ["Failed"]


def test_probe_retry_recovers(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    base, hits = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/flaky"}))
    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    assert hits == ["/flaky", "/flaky"]


def test_probe_connection_refused_fails(world: World, codedeploy_gap, monkeypatch) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"http://127.0.0.1:{port}/health"}))
    result = handler(world.hook_event(), None)
    assert result["verdict"] == "Failed" and "HTTP probe" in result["reason"] and "URLError" in result["reason"]


def test_probe_not_run_when_alarm_already_failed(world: World, codedeploy_gap, monkeypatch, http_server) -> None:
    base, hits = http_server
    monkeypatch.setenv("TEST_ENDPOINTS", json.dumps({GROUP: f"{base}/health"}))
    world.set_alarm("running-tasks", "ALARM")
    assert handler(world.hook_event(), None)["verdict"] == "Failed"
    assert hits == []
