"""IAM: one role per pipeline stage, single-service trust policies, least privilege, region-unique names."""
from __future__ import annotations

import copy
import json
from typing import Dict, List, Set

import pytest

from cicd.workspace import naming


def _trust(role: dict) -> List[dict]:
    return json.loads(role["assume_role_policy"])["Statement"]


def _trusted_services(role: dict) -> Set[str]:
    services = set()
    for statement in _trust(role):
        assert statement["Effect"] == "Allow"
        assert statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"])
        assert set(statement["Principal"]) == {"Service"}, f"{role['name']}: {statement['Principal']}"
        principal = statement["Principal"]["Service"]
        services.update(principal if isinstance(principal, list) else [principal])
    return services


def _role(stack, arn: str) -> dict:
    return stack.ref(arn, "aws_iam_role", "arn")[1]


def _stage_roles(stack) -> Dict[str, Set[str]]:
    _, pipeline = stack.one("aws_codepipeline")
    return {stage["name"]: {a.get("role_arn") for a in stage["action"]} for stage in pipeline["stage"]}


def test_each_pipeline_stage_runs_under_its_own_role(stack):
    _, pipeline = stack.one("aws_codepipeline")
    per_stage = _stage_roles(stack)
    assert len(per_stage) == 5
    for stage, arns in per_stage.items():
        assert len(arns) == 1 and None not in arns, f"{stage}: actions run under {arns}"
    roles = [next(iter(arns)) for arns in per_stage.values()]
    assert len(set(roles)) == 5, "the five stage roles must be distinct"
    assert pipeline["role_arn"] not in roles
    for arn in roles + [pipeline["role_arn"]]:
        _role(stack, arn)


def test_pipeline_role_trusts_only_codepipeline(stack):
    _, pipeline = stack.one("aws_codepipeline")
    assert _trusted_services(_role(stack, pipeline["role_arn"])) == {"codepipeline.amazonaws.com"}


def test_stage_roles_are_assumable_only_by_the_pipeline_role(stack):
    _, pipeline = stack.one("aws_codepipeline")
    for stage, arns in _stage_roles(stack).items():
        role = _role(stack, next(iter(arns)))
        principals = [s["Principal"] for s in _trust(role)]
        assert principals == [{"AWS": pipeline["role_arn"]}], f"{stage}: {principals}"


def test_service_roles_trust_only_their_service(stack):
    expected = []
    for project in stack.bodies("aws_codebuild_project"):
        expected.append((project["service_role"], "codebuild.amazonaws.com"))
    for group in stack.bodies("aws_codedeploy_deployment_group"):
        expected.append((group["service_role_arn"], "codedeploy.amazonaws.com"))
    for taskdef in stack.bodies("aws_ecs_task_definition"):
        expected.append((taskdef["execution_role_arn"], "ecs-tasks.amazonaws.com"))
        expected.append((taskdef["task_role_arn"], "ecs-tasks.amazonaws.com"))
    for function in stack.bodies("aws_lambda_function"):
        expected.append((function["role"], "lambda.amazonaws.com"))
    assert {service for _, service in expected} == {"codebuild.amazonaws.com", "codedeploy.amazonaws.com",
                                                    "ecs-tasks.amazonaws.com", "lambda.amazonaws.com"}
    for arn, service in expected:
        role = _role(stack, arn)
        assert _trusted_services(role) == {service}, f"{role['name']} trusts {_trusted_services(role)}"


def test_every_role_trusts_exactly_one_principal(stack):
    for role in stack.bodies("aws_iam_role"):
        statements = _trust(role)
        assert len(statements) == 1, role["name"]
        principal = statements[0]["Principal"]
        assert len(principal) == 1 and all(isinstance(v, str) for v in principal.values()), role["name"]


def _role_policies(stack) -> List[tuple]:
    """(role or policy name, statement) of every IAM identity policy statement in the stack."""
    found = []
    for policy in stack.bodies("aws_iam_role_policy") + stack.bodies("aws_iam_policy"):
        for statement in json.loads(policy["policy"])["Statement"]:
            found.append((policy.get("name"), statement))
    for role in stack.bodies("aws_iam_role"):
        for inline in role.get("inline_policy") or []:
            for statement in json.loads(inline["policy"])["Statement"]:
                found.append((role["name"], statement))
    for data in stack.doc.get("data", {}).get("aws_iam_policy_document", {}).values():
        for statement in data.get("statement") or []:
            found.append(("data", {"Effect": statement.get("effect", "Allow"), "Action": statement.get("actions"),
                                   "Resource": statement.get("resources")}))
    return found


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_no_wildcard_actions_in_role_policies(stack):
    statements = _role_policies(stack)
    assert len(statements) > 20
    for name, statement in statements:
        assert "NotAction" not in statement and "NotResource" not in statement, name
        for action in _as_list(statement["Action"]):
            # no "*", no service-wide "s3:*", and no partial "s3:Get*" either: every action by name
            assert "*" not in action, f"{name}: wildcard action {action}"
            assert ":" in action, f"{name}: {action}"


def test_resource_star_never_mixed_with_arns(stack):
    """Which actions may stand on '*' is judged by the authorization gate against AWS's own data
    (tests/stack/test_stack_authorization.py); here only: '*' is never mixed with ARNs."""
    unscoped = [(n, s) for n, s in _role_policies(stack) if "*" in _as_list(s["Resource"])]
    assert unscoped, "expected e.g. ecr:GetAuthorizationToken on '*'"
    for name, statement in unscoped:
        assert _as_list(statement["Resource"]) == ["*"], f"{name}: '*' mixed with ARNs"


def test_policy_checks_can_fail(stack):
    """The wildcard checks above do look at the policies: planted statements are found."""
    doc = copy.deepcopy(stack.doc)
    policies = doc["resource"]["aws_iam_role_policy"]
    policy = policies[next(iter(policies))]
    document = json.loads(policy["policy"])
    document["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": ["*", "arn:aws:s3:::x"]})
    policy["policy"] = json.dumps(document)
    planted = type(stack)(stack.cfg, stack.directory, doc)
    with pytest.raises(AssertionError):
        test_no_wildcard_actions_in_role_policies(planted)
    with pytest.raises(AssertionError):
        test_resource_star_never_mixed_with_arns(planted)


def test_role_names_carry_the_region_short_form(stack, cfg):
    short = naming.region_short(cfg.region)
    names = [r["name"] for r in stack.bodies("aws_iam_role")]
    assert names
    for name in names:
        assert name.startswith(f"{cfg.project}-") and name.endswith(f"-{short}"), name
    assert len(set(names)) == len(names)


def test_two_region_stacks_do_not_collide_on_global_names(synthesized):
    regions = list(synthesized.values())
    assert len(regions) == 2
    roles = [{r["name"] for r in s.bodies("aws_iam_role")} for s in regions]
    buckets = [{b["bucket"] for b in s.bodies("aws_s3_bucket")} for s in regions]
    assert all(roles) and all(buckets)
    assert roles[0].isdisjoint(roles[1]), roles[0] & roles[1]
    assert buckets[0].isdisjoint(buckets[1]), buckets[0] & buckets[1]


# --- trust: every role is assumed by exactly what uses it ----------------------------------------------

def _expected_principals(stack) -> Dict[str, List[dict]]:
    """role logical id -> the principals that use it, read from the resources that name the role."""
    users = []
    for project in stack.bodies("aws_codebuild_project"):
        users.append((project["service_role"], {"Service": "codebuild.amazonaws.com"}))
    for group in stack.bodies("aws_codedeploy_deployment_group"):
        users.append((group["service_role_arn"], {"Service": "codedeploy.amazonaws.com"}))
    for taskdef in stack.bodies("aws_ecs_task_definition"):
        for key in ("execution_role_arn", "task_role_arn"):
            users.append((taskdef[key], {"Service": "ecs-tasks.amazonaws.com"}))
    for function in stack.bodies("aws_lambda_function"):
        users.append((function["role"], {"Service": "lambda.amazonaws.com"}))
    for flow_log in stack.bodies("aws_flow_log"):
        users.append((flow_log["iam_role_arn"], {"Service": "vpc-flow-logs.amazonaws.com"}))
    for target in stack.bodies("aws_cloudwatch_event_target"):
        if target.get("role_arn"):
            users.append((target["role_arn"], {"Service": "events.amazonaws.com"}))
    for pipeline in stack.bodies("aws_codepipeline"):
        users.append((pipeline["role_arn"], {"Service": "codepipeline.amazonaws.com"}))
        for stage in pipeline["stage"]:
            for action in stage["action"]:
                users.append((action["role_arn"], {"AWS": pipeline["role_arn"]}))
    expected: Dict[str, List[dict]] = {}
    for arn, principal in users:
        name = stack.ref(arn, "aws_iam_role", "arn")[0]
        if principal not in expected.setdefault(name, []):
            expected[name].append(principal)
    return expected


def test_every_role_trusts_only_what_uses_it(stack):
    expected = _expected_principals(stack)
    roles = stack.resources("aws_iam_role")
    assert set(roles) == set(expected), f"roles nothing uses: {sorted(set(roles) - set(expected))}"
    for name, role in roles.items():
        assert len(expected[name]) == 1, f"{role['name']} is used by {expected[name]}"
        principals = [s["Principal"] for s in _trust(role)]
        assert principals == expected[name], f"{role['name']} trusts {principals}, used by {expected[name]}"
        for principal in principals:
            for value in principal.values():
                assert "*" not in value, f"{role['name']}: wildcard principal {value}"


def _planted(stack, change) -> object:
    doc = copy.deepcopy(stack.doc)
    change(doc)
    return type(stack)(stack.cfg, stack.directory, doc)


def _first_policy(doc) -> dict:
    policies = doc["resource"]["aws_iam_role_policy"]
    return policies[sorted(policies)[0]]


def _add_statement(statement: dict):
    def change(doc):
        policy = _first_policy(doc)
        document = json.loads(policy["policy"])
        document["Statement"].append(statement)
        policy["policy"] = json.dumps(document)
    return change


def _trusting(role_name_part: str, principal: dict):
    def change(doc):
        roles = [r for r in doc["resource"]["aws_iam_role"].values() if role_name_part in r["name"]]
        assert roles, role_name_part
        trust = json.loads(roles[0]["assume_role_policy"])
        trust["Statement"][0]["Principal"] = principal
        roles[0]["assume_role_policy"] = json.dumps(trust)
    return change


def _shared_stage_role(doc):
    pipeline = next(iter(doc["resource"]["aws_codepipeline"].values()))
    test_role = pipeline["stage"][2]["action"][0]["role_arn"]
    for action in pipeline["stage"][1]["action"]:  # Build runs under Test's role
        action["role_arn"] = test_role


@pytest.mark.parametrize("change, checks", [
    (_add_statement({"Effect": "Allow", "Action": "*", "Resource": "*"}),
     [test_no_wildcard_actions_in_role_policies]),
    (_add_statement({"Effect": "Allow", "Action": ["s3:Get*"], "Resource": ["arn:aws:s3:::b/*"]}),
     [test_no_wildcard_actions_in_role_policies]),
    (_add_statement({"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": ["*", "arn:aws:s3:::b"]}),
     [test_resource_star_never_mixed_with_arns]),
    (_trusting("flowlogs", {"AWS": "*"}), [test_every_role_trusts_only_what_uses_it]),
    (_trusting("flowlogs", {"Service": "lambda.amazonaws.com"}), [test_every_role_trusts_only_what_uses_it]),
    (_trusting("codebuild-build", {"Service": "*"}),
     [test_every_role_trusts_only_what_uses_it, test_service_roles_trust_only_their_service]),
    (_trusting("stage-test", {"AWS": "*"}),
     [test_every_role_trusts_only_what_uses_it, test_stage_roles_are_assumable_only_by_the_pipeline_role]),
    (_shared_stage_role, [test_each_pipeline_stage_runs_under_its_own_role]),
], ids=["action-star", "service-wildcard", "star-mixed-with-arns", "trust-any-account",
        "trust-wrong-service", "trust-any-service", "stage-role-any-account", "shared-stage-role"])
def test_each_iam_check_fails_on_a_planted_violation(stack, change, checks):
    planted = _planted(stack, change)
    for check in checks:
        with pytest.raises(AssertionError):
            check(planted)
