"""The hook's alarm check reads every page of DescribeAlarms, metric and composite alarms alike: an alarm
in ALARM on the last page, or a composite one, fails the deployment; the pair's target groups are found
however many others the account has (moto answers in one page and has no composite alarms; aws_pages
serves them as AWS does)."""
from __future__ import annotations

from aws_pages import serve_in_pages
from health_check_testkit import ALARM_KINDS, GROUP, World, handler_module, only_decision

handler = handler_module.handler
ALARMS = "cloudwatch.DescribeAlarms"
KEYS = ("MetricAlarms", "CompositeAlarms")


def _states(**changed: str) -> list:
    return [{"name": f"{GROUP}-{kind}", "state": changed.get(kind.replace("-", "_"), "OK")} for kind in ALARM_KINDS]


def test_an_alarm_on_the_last_page_fails_the_deployment(world: World, codedeploy_gap, capsys) -> None:
    world.set_alarm("target-5xx", "ALARM")
    sent = serve_in_pages(ALARMS, KEYS, "NextToken", "NextToken")

    result = handler(world.hook_event(), None)

    assert (result["verdict"], result["reason"]) == ("Failed", f"alarm(s) in ALARM: {GROUP}-target-5xx")
    assert sent == [None, "page-1", "page-2", "page-3"]  # one alarm a page, each token sent back
    assert only_decision(capsys)["alarms"] == _states(target_5xx="ALARM")


def test_alarms_in_alarm_on_several_pages_are_named_in_order(world: World, codedeploy_gap) -> None:
    world.set_alarm("target-5xx", "ALARM")
    world.set_alarm("healthy-hosts", "ALARM")
    serve_in_pages(ALARMS, KEYS, "NextToken", "NextToken", size=2)

    result = handler(world.hook_event(), None)

    assert result["reason"] == f"alarm(s) in ALARM: {GROUP}-healthy-hosts, {GROUP}-target-5xx"


def test_every_page_read_when_none_fires(world: World, codedeploy_gap, capsys) -> None:
    sent = serve_in_pages(ALARMS, KEYS, "NextToken", "NextToken", size=3)

    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    assert sent == [None, "page-1"]
    assert only_decision(capsys)["alarms"] == _states()


def test_a_composite_alarm_in_alarm_fails_the_deployment(world: World, codedeploy_gap, capsys) -> None:
    composite = {"AlarmName": f"{GROUP}-composite", "StateValue": "ALARM", "AlarmRule": "ALARM(x)"}
    serve_in_pages(ALARMS, KEYS, "NextToken", "NextToken", size=2, composite=[composite])

    result = handler(world.hook_event(), None)

    assert (result["verdict"], result["reason"]) == ("Failed", f"alarm(s) in ALARM: {GROUP}-composite")
    assert only_decision(capsys)["alarms"] == _states() + [{"name": f"{GROUP}-composite", "state": "ALARM"}]


def test_a_composite_alarm_in_ok_is_listed_with_the_metric_alarms(world: World, codedeploy_gap, capsys) -> None:
    composite = {"AlarmName": f"{GROUP}-composite", "StateValue": "OK", "AlarmRule": "ALARM(x)"}
    serve_in_pages(ALARMS, KEYS, "NextToken", "NextToken", size=10, composite=[composite])

    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
    assert only_decision(capsys)["alarms"] == _states() + [{"name": f"{GROUP}-composite", "state": "OK"}]


def test_the_pairs_target_groups_are_found_among_more_than_a_page_of_them(world: World, codedeploy_gap) -> None:
    # DescribeTargetGroups pages the account's target groups (400 a page, here 2): the pair's two are asked
    # for by name, so other groups that sort before them do not push them off the answer.
    vpc = world.elbv2.describe_target_groups(Names=["api-stg-blue"])["TargetGroups"][0]["VpcId"]
    for name in ("alb-stg-a", "alb-stg-b"):
        world.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")
    serve_in_pages("elastic-load-balancing-v2.DescribeTargetGroups", ["TargetGroups"], "Marker", "NextMarker",
                   size=2)

    assert handler(world.hook_event(), None)["verdict"] == "Succeeded"
