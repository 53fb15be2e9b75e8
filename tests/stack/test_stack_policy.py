"""The checkov policy gate on the synthesized stacks, the skips the stack declares, and the fixes
made instead of skips (WAF, the Lambda's dead-letter queue and concurrency, HTTPS with a certificate).

The real checkov runs here: `CHECKOV_BIN`, else `.nox/checkov/bin/checkov` (`nox -s tests` builds it
and sets CHECKOV_BIN). Without it these tests fail: the gate is part of the suite.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from synth_fixtures import CERTIFICATE_ARN

from cicd.policy import checkov as policy

REPO_ROOT = Path(__file__).resolve().parents[2]
HTTP_FAMILY = ("CKV2_AWS_20", "CKV_AWS_2", "CKV_AWS_103")  # pass outright once a certificate is set
TLS12_POLICIES = ("ELBSecurityPolicy-TLS13-", "ELBSecurityPolicy-TLS-1-2-", "ELBSecurityPolicy-FS-1-2-")


def _checkov_bin() -> str:
    configured = os.environ.get("CHECKOV_BIN")
    path = Path(configured) if configured else REPO_ROOT / ".nox" / "checkov" / "bin" / "checkov"
    if not (path.is_file() and os.access(str(path), os.X_OK)):
        pytest.fail(f"checkov not found at {path} ({'CHECKOV_BIN' if configured else 'default; set CHECKOV_BIN'}): "
                    "run the suite with `nox -s tests`, which builds .nox/checkov from requirements-policy.txt",
                    pytrace=False)
    return str(path)


def _out_dir(synth) -> Path:
    """The synth output folder (holding stacks/<region>/) a Synth's directory lives in."""
    return synth.directory.parent.parent


def _skips(stack) -> Dict[Tuple[str, str], Dict[str, str]]:
    """(type, logical id) -> {check id: reason} of every resource that declares skips."""
    found = {}
    for rtype, items in stack.doc.get("resource", {}).items():
        for name, body in items.items():
            skips = body.get("//", {}).get(policy.SKIP_KEY)
            if skips:
                found[(rtype, name)] = skips
    return found


def _gate(checkov: str, out: Path, regions) -> policy.Result:
    result = policy.evaluate(checkov, out)
    print(policy.report(result))  # shown with -s or on failure
    assert result.regions == tuple(sorted(regions))
    assert result.unsuppressed == [], policy.report(result)
    assert result.stale == [], policy.report(result)
    assert result.invalid == [], result.invalid
    assert len(result.suppressed_ids) <= policy.MAX_SUPPRESSED_IDS == 20, result.suppressed_ids
    assert result.failed == len(result.suppressed) and result.passed > 0
    assert result.ok
    return result


# --- the gate ----------------------------------------------------------------------------------------

def test_policy_gate_passes_on_every_region(synthesized):
    checkov = _checkov_bin()
    first = next(iter(synthesized.values()))
    result = _gate(checkov, _out_dir(first), synthesized)
    assert all(s.directory.parent == first.directory.parent for s in synthesized.values())
    declared = sum(len(skips) for s in synthesized.values() for skips in _skips(s).values())
    assert declared == len(result.suppressed)  # every skip in the stack suppressed exactly one failure


def test_policy_gate_passes_with_a_certificate_and_the_http_checks_are_not_skipped(with_certificate):
    from stack.policy import NO_CERTIFICATE

    result = _gate(_checkov_bin(), _out_dir(with_certificate), [with_certificate.region])
    assert not set(HTTP_FAMILY) & set(result.suppressed_ids)
    for skips in _skips(with_certificate).values():
        assert not set(HTTP_FAMILY) & set(skips)
        assert NO_CERTIFICATE not in skips.values()


def test_with_a_certificate_listeners_are_https_tls12_and_http_redirects(with_certificate):
    stack = with_certificate
    listeners = stack.bodies("aws_lb_listener")
    albs = stack.resources("aws_lb")
    assert len(albs) == 2 and len(listeners) == 3 * len(albs)
    for alb_name in albs:
        mine = [b for b in listeners if stack.refers_to(b["load_balancer_arn"], "aws_lb", alb_name)]
        by_port = {b["port"]: b for b in mine}
        assert set(by_port) == {443, 80, 8080}, alb_name
        for port in (443, 8080):  # production and the VPC-only test listener
            listener = by_port[port]
            assert listener["protocol"] == "HTTPS" and listener["certificate_arn"] == CERTIFICATE_ARN
            assert listener["ssl_policy"].startswith(TLS12_POLICIES), listener["ssl_policy"]
        redirect = by_port[80]
        assert redirect["protocol"] == "HTTP"
        assert redirect["default_action"] == [{"type": "redirect", "redirect": {
            "port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}]
    # port 80 stays open only for the redirect, and says so
    open_80 = [(n, b) for n, b in stack.resources("aws_vpc_security_group_ingress_rule").items()
               if b.get("from_port") == 80 and b.get("cidr_ipv4") == "0.0.0.0/0"]
    assert len(open_80) == 2
    for name, _ in open_80:
        assert "redirect to HTTPS" in _skips(stack)[("aws_vpc_security_group_ingress_rule", name)]["CKV_AWS_260"]


@pytest.mark.terraform
def test_with_a_certificate_terraform_validates(with_certificate, validation):
    assert validation.errors(f"certificate-{with_certificate.region}") == []


def test_without_a_certificate_the_http_checks_are_skipped_with_the_reason(stack):
    from stack.policy import NO_CERTIFICATE

    if stack.cfg.certificate_arn:
        pytest.skip(f"{stack.region} has a certificate: covered by the with_certificate tests")
    skips = _skips(stack)
    for name in stack.resources("aws_lb"):
        assert skips[("aws_lb", name)]["CKV2_AWS_20"] == NO_CERTIFICATE
    for name, listener in stack.resources("aws_lb_listener").items():
        assert listener["protocol"] == "HTTP"
        assert skips[("aws_lb_listener", name)]["CKV_AWS_2"] == NO_CERTIFICATE
        assert skips[("aws_lb_listener", name)]["CKV_AWS_103"] == NO_CERTIFICATE


# --- the skips themselves ----------------------------------------------------------------------------

def test_every_skip_names_a_check_and_gives_a_reason(stack):
    declared, invalid = policy.declared_skips(stack.region, stack.doc)
    assert declared and invalid == []
    for skip in declared:
        assert len(skip.reason.split()) >= 5, f"{skip.resource} {skip.check_id}: say why: {skip.reason!r}"


def test_production_alb_keeps_deletion_protection(stack):
    skips = _skips(stack)
    for name, alb in stack.resources("aws_lb").items():
        production = alb["enable_deletion_protection"] is True
        assert production == ("CKV_AWS_150" not in skips.get(("aws_lb", name), {})), alb["name"]
    assert sum(alb["enable_deletion_protection"] is True for alb in stack.bodies("aws_lb")) == 1


def test_log_retention_skip_only_where_retention_is_the_product_value(stack):
    skips = _skips(stack)
    for name, group in stack.resources("aws_cloudwatch_log_group").items():
        assert group["retention_in_days"] == 14
        assert "CKV_AWS_338" in skips[("aws_cloudwatch_log_group", name)], group["name"]


class _Recorder:
    def __init__(self):
        self.overrides: List[Tuple[str, object]] = []

    def add_override(self, path: str, value: object) -> None:
        self.overrides.append((path, value))


def test_skip_helper_writes_a_terraform_comment_and_rejects_bad_input():
    from stack.policy import skip

    resource = _Recorder()
    skip(resource, "CKV_AWS_338", "  fourteen   days\n by  design ")
    assert resource.overrides == [("//.checkov_skip.CKV_AWS_338", "fourteen days by design")]
    for check_id, reason in (("CKV_AWS_338", ""), ("CKV_AWS_338", "   "), ("retention", "why"),
                             ("CKV_AWS_338", "see ${var.x}")):
        with pytest.raises(ValueError):
            skip(_Recorder(), check_id, reason)


# --- fixed instead of skipped ------------------------------------------------------------------------

def test_health_lambda_reserves_no_concurrency_and_has_an_encrypted_dead_letter_queue(stack):
    # Any reservation must leave 10 unreserved executions: in a new account (quota 10) it fails to apply.
    from cicd.workspace import naming

    _, function = stack.the("aws_lambda_function", function_name=naming.health_function(stack.cfg))
    assert "reserved_concurrent_executions" not in function
    assert "no reserved concurrency" in function["//"]["checkov_skip"]["CKV_AWS_115"]
    queue_name, queue = stack.ref(function["dead_letter_config"]["target_arn"], "aws_sqs_queue", "arn")
    assert stack.is_kms_key(queue["kms_master_key_id"])
    assert queue["message_retention_seconds"] == 14 * 24 * 3600
    _, role = stack.ref(function["role"], "aws_iam_role", "arn")
    policies = [p for p in stack.bodies("aws_iam_role_policy") if p["name"] == f"{role['name']}-policy"]
    assert len(policies) == 1
    statements = json.loads(policies[0]["policy"])["Statement"]
    sqs = [s for s in statements if any(a.startswith("sqs:") for a in s["Action"])]
    assert sqs == [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [f"${{aws_sqs_queue.{queue_name}.arn}}"]}]
    kms = [s for s in statements if "kms:GenerateDataKey" in s["Action"]]
    assert kms and all(stack.is_kms_key(r) for s in kms for r in s["Resource"])


def test_waf_web_acl_protects_every_alb(stack):
    from stack.firewall import MANAGED_RULE_GROUPS, RATE_LIMIT

    acl_name, acl = stack.one("aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL" and acl["default_action"] == {"allow": {}}
    visibility = [acl["visibility_config"]] + [rule["visibility_config"] for rule in acl["rule"]]
    for config in visibility:
        assert config["cloudwatch_metrics_enabled"] is True and config["sampled_requests_enabled"] is True
    assert len({c["metric_name"] for c in visibility}) == len(visibility)
    managed = {r["statement"]["managed_rule_group_statement"]["name"]: r for r in acl["rule"]
               if "managed_rule_group_statement" in r["statement"]}
    assert set(managed) == set(MANAGED_RULE_GROUPS) == {"AWSManagedRulesCommonRuleSet",
                                                         "AWSManagedRulesKnownBadInputsRuleSet"}
    for rule in managed.values():
        assert rule["statement"]["managed_rule_group_statement"]["vendor_name"] == "AWS"
        assert rule["override_action"] == {"none": {}}  # the groups' own block actions apply
    rate = [r for r in acl["rule"] if "rate_based_statement" in r["statement"]]
    assert len(rate) == 1 and rate[0]["action"] == {"block": {}}
    assert rate[0]["statement"]["rate_based_statement"] == {"limit": RATE_LIMIT, "aggregate_key_type": "IP"}
    assert len({r["priority"] for r in acl["rule"]}) == len(acl["rule"]) == 3

    associated = set()
    for association in stack.bodies("aws_wafv2_web_acl_association"):
        assert stack.refers_to(association["web_acl_arn"], "aws_wafv2_web_acl", acl_name)
        associated.add(stack.ref(association["resource_arn"], "aws_lb", "arn")[0])
    assert associated == set(stack.resources("aws_lb"))

    _, logging = stack.one("aws_wafv2_web_acl_logging_configuration")
    assert stack.refers_to(logging["resource_arn"], "aws_wafv2_web_acl", acl_name)
    [destination] = logging["log_destination_configs"]
    _, group = stack.ref(destination, "aws_cloudwatch_log_group", "arn")
    assert group["name"].startswith("aws-waf-logs-") and stack.is_kms_key(group["kms_key_id"])
    assert {f["single_header"]["name"] for f in logging["redacted_fields"]} == {"authorization", "cookie"}
