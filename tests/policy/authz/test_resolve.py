"""References of the synthesized JSON resolved in AWS's ARN formats, or from an applied state."""
from __future__ import annotations

from cicd.policy.authz.resolve import ACCOUNT, Resolver

DOC = {
    "data": {"aws_caller_identity": {"account": {}}, "aws_partition": {"partition": {}}},
    "resource": {
        "aws_s3_bucket": {"logs": {"bucket": "shop-logs-${data.aws_caller_identity.account.account_id}"}},
        "aws_lb": {"stg": {"name": "shop-stg-use1"}},
        "aws_lb_listener": {"prod": {"load_balancer_arn": "${aws_lb.stg.arn}"}},
        "aws_lb_listener_rule": {"api": {"listener_arn": "${aws_lb_listener.prod.arn}"}},
        "aws_iam_role": {"r": {"name": "shop-r"}},
        "aws_sns_topic": {"t": {"name": "shop-topic"}},
        "aws_cloudwatch_log_group": {"g": {"name": "/aws/lambda/f"}},
    },
}


def test_arns_follow_aws_formats():
    r = Resolver(DOC, "us-east-1")
    assert r.value("${aws_s3_bucket.logs.arn}/alb/*") == f"arn:aws:s3:::shop-logs-{ACCOUNT}/alb/*"
    assert r.value("${aws_iam_role.r.arn}") == f"arn:aws:iam::{ACCOUNT}:role/shop-r"
    assert r.value("${aws_sns_topic.t.arn}") == f"arn:aws:sns:us-east-1:{ACCOUNT}:shop-topic"
    assert r.value("${aws_cloudwatch_log_group.g.arn}:*") == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/f:*"
    lb = r.value("${aws_lb.stg.arn}")
    listener = r.value("${aws_lb_listener.prod.arn}")
    rule = r.value("${aws_lb_listener_rule.api.arn}")
    assert lb.startswith(f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/shop-stg-use1/")
    assert listener.startswith(lb.replace(":loadbalancer/", ":listener/") + "/")
    assert rule.startswith(listener.replace(":listener/", ":listener-rule/") + "/")
    assert r.value("arn:${data.aws_partition.partition.partition}:x") == "arn:aws:x"
    assert r.value("${aws_lb.stg.arn}") == lb  # stable


def test_unknown_references_stay_visible():
    r = Resolver(DOC, "us-east-1")
    assert r.value("${aws_vpc_endpoint.x.id}") == "<unresolved:aws_vpc_endpoint.x.id>"
    assert r.value("${aws_iam_role.missing.arn}") == "<unresolved:aws_iam_role.missing.arn>"
    assert r.value("${aws_iam_role.r.unique_id}") == "<unresolved:aws_iam_role.r.unique_id>"
    assert r.deep({"a": ["${aws_sns_topic.t.arn}", 1]}) == {"a": [f"arn:aws:sns:us-east-1:{ACCOUNT}:shop-topic", 1]}


def test_state_values_win_over_the_formats():
    state = {"values": {"root_module": {"resources": [
        {"address": "aws_sns_topic.t", "values": {"arn": "arn:aws:sns:us-east-1:123456789012:shop-topic"}},
        {"address": "data.aws_caller_identity.account", "values": {"account_id": "123456789012"}},
    ]}}}
    r = Resolver.from_state(DOC, "us-east-1", state)
    assert r.value("${aws_sns_topic.t.arn}") == "arn:aws:sns:us-east-1:123456789012:shop-topic"
    assert r.value("${data.aws_caller_identity.account.account_id}") == "123456789012"
    assert r.value("${aws_iam_role.r.arn}") == f"arn:aws:iam::{ACCOUNT}:role/shop-r"  # not in state: the format


def test_generated_parts_are_stable_stand_ins_in_aws_shapes():
    import re

    doc = {"resource": {"aws_kms_key": {"k": {}, "other": {}}, "aws_lb": {"a": {"name": "a"}, "b": {"name": "b"}},
                        "aws_security_group": {"s": {}}}}
    r = Resolver(doc, "us-west-2")
    key = r.value("${aws_kms_key.k.arn}")
    assert re.fullmatch(rf"arn:aws:kms:us-west-2:{ACCOUNT}:key/[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-"
                        r"[0-9a-f]{4}-[0-9a-f]{12}", key), key
    assert key.endswith(r.value("${aws_kms_key.k.key_id}")) and key != r.value("${aws_kms_key.other.arn}")
    a, b = r.value("${aws_lb.a.arn_suffix}"), r.value("${aws_lb.b.arn_suffix}")
    assert re.fullmatch(r"app/a/[0-9a-f]{16}", a) and a[6:] != b[6:]
    assert re.fullmatch(r"sg-[0-9a-f]{16}", r.value("${aws_security_group.s.id}"))


def test_malformed_and_unknown_data_references_stay_visible():
    r = Resolver(DOC, "us-east-1")
    assert r.value("${data.aws_caller_identity.account}") == "<unresolved:data.aws_caller_identity.account>"
    assert r.value("${data.aws_region.current.name}") == "<unresolved:data.aws_region.current.name>"
    assert r.value("${aws_iam_role.r.arn.x}") == "<unresolved:aws_iam_role.r.arn.x>"


def test_state_values_that_are_not_strings_fall_back_to_the_formats():
    state = {"values": {"root_module": {"resources": [
        {"address": "aws_sns_topic.t", "values": {"arn": ["not", "a", "string"]}}]}}}
    r = Resolver.from_state(DOC, "eu-central-1", state)
    assert r.value("${aws_sns_topic.t.arn}") == f"arn:aws:sns:eu-central-1:{ACCOUNT}:shop-topic"
