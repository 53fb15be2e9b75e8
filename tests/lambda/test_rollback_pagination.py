"""Alarm-driven rollback over AWS's pages and within the time budget: the alarm's group is found on any
page of ListDeploymentGroups, every in-progress deployment on any page of ListDeployments is stopped
(moto answers in one page; aws_pages serves AWS's pages), and the stop and its report may use the time
kept for reporting when the lookups used up the checks' share."""
from __future__ import annotations

from typing import Any, List

import pytest

import hc_aws
from aws_pages import serve_in_pages
from health_check_testkit import GROUP, World, create_deployment, create_ecs_group, handler_module, only_decision, \
    sns_event

handler = handler_module.handler


def test_the_alarms_group_is_found_on_a_later_page(world: World, codedeploy_gap, capsys) -> None:
    # The longest group name the alarm starts with wins even when the groups come on different pages.
    for group in ("shop-staging-auth-service", "shop-staging-auth"):
        create_ecs_group(world.codedeploy, group, service=group)
    auth = create_deployment(world.codedeploy, "shop-staging-auth-service")
    decoy = create_deployment(world.codedeploy, "shop-staging-auth")
    sent = serve_in_pages("codedeploy.ListDeploymentGroups", ["deploymentGroups"], "nextToken", "nextToken")

    handler(sns_event("shop-staging-auth-service-target-5xx"), None)

    assert sent == [None, "page-1", "page-2"]
    assert codedeploy_gap["stop_deployment"] == [{"deploymentId": auth, "autoRollbackEnabled": True}]
    assert (world.deployment_status(auth), world.deployment_status(decoy)) == ("Stopped", "Created")
    rec = only_decision(capsys)
    assert (rec["verdict"], rec["deployment_group"]) == ("RollbackStarted", "shop-staging-auth-service")


def test_a_group_on_no_page_owns_no_alarm(world: World, codedeploy_gap, capsys) -> None:
    create_ecs_group(world.codedeploy, "shop-staging-auth-service", service="shop-staging-auth-service")
    serve_in_pages("codedeploy.ListDeploymentGroups", ["deploymentGroups"], "nextToken", "nextToken")

    handler(sns_event("shop-staging-web-service-target-5xx"), None)

    rec = only_decision(capsys)
    assert (rec["verdict"], rec["reason"]) == (
        "Ignored", "no deployment group of shop-ecs owns alarm shop-staging-web-service-target-5xx")


def test_deployments_on_every_page_are_stopped(world: World, codedeploy_gap, capsys) -> None:
    ids = sorted([world.deployment_id, create_deployment(world.codedeploy), create_deployment(world.codedeploy)])
    sent = serve_in_pages("codedeploy.ListDeployments", ["deployments"], "nextToken", "nextToken")

    handler(sns_event(f"{GROUP}-target-5xx"), None)

    assert sent == [None, "page-1", "page-2"]
    assert sorted(s["deploymentId"] for s in codedeploy_gap["stop_deployment"]) == ids
    assert {world.deployment_status(d) for d in ids} == {"Stopped"}
    rec = only_decision(capsys)
    assert sorted(rec["deployments"]) == ids and rec["deployment_id"] is None
    assert rec["reason"] == f"alarm {GROUP}-target-5xx in ALARM: stopped 3 deployment(s) with rollback"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> List[float]:
    now = [1000.0]
    monkeypatch.setattr(hc_aws, "monotonic", lambda: now[0])
    return now


class _Context:
    """A Lambda context with 60 s left: a budget of 50 s, 10 s of them kept for the report."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


def _slow(operation: str, clock: List[float], seconds: float) -> None:
    def before_call(**_: Any) -> None:
        clock[0] += seconds  # the answer took this long; moto still answers it

    hc_aws.session().events.register(f"before-call.{operation}", before_call)


def test_the_stop_and_its_report_use_the_reserve_left_after_slow_lookups(world: World, codedeploy_gap, clock,
                                                                         capsys) -> None:
    _slow("codedeploy.ListDeployments", clock, 45.0)  # 5 s left of the 50: none for checks, 5 of the reserve

    handler(sns_event(f"{GROUP}-target-5xx"), _Context())

    assert codedeploy_gap["stop_deployment"] == [{"deploymentId": world.deployment_id, "autoRollbackEnabled": True}]
    assert world.deployment_status() == "Stopped"
    rec = only_decision(capsys)
    assert (rec["verdict"], rec["notified"]) == ("RollbackStarted", True)
    assert [note["Subject"] for note in world.notifications()] == [f"[shop] RollbackStarted: {GROUP}"]


def test_no_stop_once_the_whole_budget_is_spent(world: World, codedeploy_gap, clock, capsys) -> None:
    _slow("codedeploy.ListDeployments", clock, 50.0)

    handler(sns_event(f"{GROUP}-target-5xx"), _Context())

    assert codedeploy_gap["stop_deployment"] == []
    rec = only_decision(capsys)
    assert (rec["verdict"], rec["reason"]) == ("StopFailed", "1 of 1 stop(s) failed")
    assert rec["stop_errors"] == [{"deployment_id": world.deployment_id, "error": "codedeploy.stop_deployment failed "
                                   "after 0 attempt(s): TimeBudgetExhausted: no time left for the call"}]
    assert rec["notified"] is False and "TimeBudgetExhausted" in rec["notify_error"]
