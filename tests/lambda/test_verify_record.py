"""The hook's decision record: every judged target with its port and state, and the task set it came from."""
from __future__ import annotations

import boto3

from health_check_testkit import GREEN_IPS, World, handler_module, only_decision

handler = handler_module.handler


def test_the_record_names_the_replacement_task_set_and_each_target(world: World, codedeploy_gap, capsys) -> None:
    handler(world.hook_event(), None)
    rec = only_decision(capsys)
    ecs = boto3.client("ecs")
    [service] = ecs.describe_services(cluster=rec["cluster"], services=[rec["ecs_service"]])["services"]
    active = [ts["id"] for ts in service.get("taskSets", []) if ts["status"] == "ACTIVE"]
    assert rec["replacement_task_set"] in active and "replacement_note" not in rec
    assert sorted(rec["targets"], key=lambda t: t["id"]) == [
        {"target_group": "api-stg-green", "id": ip, "port": 8080, "state": "healthy", "reason": None}
        for ip in sorted(GREEN_IPS)]
