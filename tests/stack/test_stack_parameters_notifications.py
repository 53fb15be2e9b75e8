"""Parameter Store, SNS topics and subscriptions, EventBridge rules, and the deployment-health Lambda."""
from __future__ import annotations

import json
import re
import zipfile
from typing import Dict, List, Tuple

from cicd.workspace import naming
from cicd.workspace.config import LOG_RETENTION_DAYS
from cicd.workspace.parameters import SECRET_PLACEHOLDER, all_parameters


# --- Parameter Store -------------------------------------------------------------------------------

def test_parameters_live_under_pipeline_stage_service(stack, cfg):
    services = "|".join(re.escape(s.name) for s in cfg.services)
    path = re.compile(rf"^/pipeline/(build|staging|production)/({services})/[A-Za-z0-9_]+$")
    # the release markers (stack/services.py) are the stack's own state, not configuration
    parameters = [p for p in stack.bodies("aws_ssm_parameter") if not p["name"].startswith(f"/{cfg.project}/released/")]
    assert sorted(p["name"] for p in parameters) == sorted(p.name for p in all_parameters(cfg))
    for parameter in parameters:
        assert path.match(parameter["name"]), parameter["name"]


def test_secure_strings_use_the_kms_key_ignore_their_value_and_hold_only_the_placeholder(stack):
    secure = [p for p in stack.bodies("aws_ssm_parameter") if p["type"] == "SecureString"]
    assert len(secure) == len(stack.cfg.services) * 2  # APP_SECRET per service x deploy stage
    for parameter in secure:
        name = parameter["name"]
        assert stack.is_kms_key(parameter.get("key_id")), name
        assert "value" in parameter["lifecycle"]["ignore_changes"], name
        assert parameter["value"] == SECRET_PLACEHOLDER, name
        assert "insecure_value" not in parameter, name


# --- SNS and EventBridge ---------------------------------------------------------------------------

def _notifications_topic(stack) -> str:
    """The topic the production approval announces on (and the stack outputs)."""
    _, pipeline = stack.one("aws_codepipeline")
    approval = [a for s in pipeline["stage"] for a in s["action"] if a["category"] == "Approval"]
    name, _ = stack.ref(approval[0]["configuration"]["NotificationArn"], "aws_sns_topic", "arn")
    assert stack.refers_to(stack.doc["output"]["notification_topic_arn"]["value"], "aws_sns_topic", name)
    return name


def _alarm_topics(stack) -> set:
    return {stack.ref(a, "aws_sns_topic", "arn")[0]
            for alarm in stack.bodies("aws_cloudwatch_metric_alarm") for a in alarm["alarm_actions"]}


def test_topics_are_kms_encrypted(stack):
    topics = stack.bodies("aws_sns_topic")
    assert len(topics) >= 1
    for topic in topics:
        assert stack.is_kms_key(topic.get("kms_master_key_id")), topic["name"]


def test_one_email_subscription_per_configured_address(stack, cfg):
    emails: Dict[str, List[str]] = {}
    for sub in stack.bodies("aws_sns_topic_subscription"):
        if sub["protocol"] == "email":
            emails.setdefault(stack.ref(sub["topic_arn"], "aws_sns_topic", "arn")[0], []).append(sub["endpoint"])
    assert _notifications_topic(stack) in emails
    for topic, endpoints in emails.items():
        assert sorted(endpoints) == sorted(cfg.notification_emails), topic


def _rules(stack) -> List[Tuple[str, dict, dict]]:
    """(logical id, rule, parsed pattern) of every CodePipeline EventBridge rule."""
    found = []
    for name, rule in stack.resources("aws_cloudwatch_event_rule").items():
        pattern = json.loads(rule["event_pattern"])
        if pattern.get("source") == ["aws.codepipeline"]:
            found.append((name, rule, pattern))
    return found


def _targets(stack, rule_name: str) -> List[dict]:
    return [t for t in stack.bodies("aws_cloudwatch_event_target")
            if stack.refers_to(t["rule"], "aws_cloudwatch_event_rule", rule_name)]


def test_pipeline_failure_state_change_and_approval_rules_notify_the_topic(stack, cfg):
    topic = _notifications_topic(stack)
    kinds = {"failures": [], "state-changes": [], "approvals": []}
    for name, rule, pattern in _rules(stack):
        assert pattern["detail"]["pipeline"] == [naming.pipeline(cfg)], rule["name"]
        detail_types = set(pattern["detail-type"])
        states = set(pattern["detail"].get("state", []))
        if pattern["detail"].get("type", {}).get("category") == ["Approval"]:
            assert detail_types == {"CodePipeline Action Execution State Change"}
            kinds["approvals"].append(name)
        elif states == {"FAILED"}:
            assert "CodePipeline Pipeline Execution State Change" in detail_types
            kinds["failures"].append(name)
        else:
            assert "CodePipeline Pipeline Execution State Change" in detail_types
            assert {"STARTED", "SUCCEEDED"} <= states, rule["name"]
            kinds["state-changes"].append(name)
    for kind, names in kinds.items():
        assert len(names) == 1, f"{kind}: {names}"
        targets = _targets(stack, names[0])
        assert len(targets) == 1 and stack.refers_to(targets[0]["arn"], "aws_sns_topic", topic), kind


# --- the deployment-health Lambda ------------------------------------------------------------------

def test_lambda_is_packaged_from_an_asset(stack):
    _, function = stack.the("aws_lambda_function", function_name=naming.health_function(stack.cfg))
    assert function["filename"].startswith("assets/")
    archive = stack.directory / function["filename"]
    assert archive.is_file(), archive
    module, _, entry = function["handler"].rpartition(".")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert f"{module}.py" in names, names
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in names), names
        assert f"def {entry}(" in zf.read(f"{module}.py").decode()
        # every module of the function, as it is in lambda/health_check/ (the session's snapshot of it)
        import stack.health_lambda as health_lambda

        sources = {p.name: p.read_bytes() for p in health_lambda.SOURCE_DIR.glob("*.py")}
        assert sorted(names) == sorted(sources)
        assert all(zf.read(name) == sources[name] for name in names)
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}  # same sources, same bytes
    assert function["source_code_hash"] and "${" not in function["source_code_hash"]


def test_lambda_runtime_timeout_and_log_group(stack, cfg):
    _, function = stack.the("aws_lambda_function", function_name=naming.health_function(stack.cfg))
    assert function["function_name"] == naming.health_function(cfg)
    assert re.fullmatch(r"python3\.\d+", function["runtime"]), function["runtime"]
    assert 0 < function["timeout"] <= 60
    _, group = stack.the("aws_cloudwatch_log_group", name=f"/aws/lambda/{function['function_name']}")
    assert group["retention_in_days"] == LOG_RETENTION_DAYS == 14


def test_lambda_is_subscribed_to_the_alarm_topic_and_sns_may_invoke_it(stack):
    function_name, _ = stack.the("aws_lambda_function", function_name=naming.health_function(stack.cfg))
    alarm_topics = _alarm_topics(stack)
    assert len(alarm_topics) == 1
    alarm_topic = alarm_topics.pop()
    assert alarm_topic != _notifications_topic(stack), "the Lambda's reports must not trigger it again"
    subs = [s for s in stack.bodies("aws_sns_topic_subscription") if s["protocol"] == "lambda"]
    assert len(subs) == 1
    assert stack.refers_to(subs[0]["endpoint"], "aws_lambda_function", function_name)
    assert stack.refers_to(subs[0]["topic_arn"], "aws_sns_topic", alarm_topic)
    permissions = [p for p in stack.bodies("aws_lambda_permission")
                   if stack.refers_to(p["function_name"], "aws_lambda_function", function_name)]
    assert len(permissions) == 1
    permission = permissions[0]
    assert permission["principal"] == "sns.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert stack.refers_to(permission["source_arn"], "aws_sns_topic", alarm_topic)
