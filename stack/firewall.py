"""WAF: one regional web ACL in front of every stage's internet-facing ALB.

AWS managed rule groups (the common rule set: OWASP-style request inspection; known bad inputs:
Log4j/Log4Shell, Java deserialization and similar exploit patterns) plus a rate-based rule that
blocks a client IP sending more than RATE_LIMIT requests in five minutes. Everything else is allowed.
Every rule and the ACL publish CloudWatch metrics and sampled requests, and the ACL logs to a
KMS-encrypted log group (`aws-waf-logs-` prefix, as WAF requires) with the Authorization and Cookie
headers redacted.
"""
from __future__ import annotations

import json
from typing import Dict

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.cloudwatch_log_resource_policy import CloudwatchLogResourcePolicy
from cdktf_cdktf_provider_aws.wafv2_web_acl import Wafv2WebAcl, Wafv2WebAclRule
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import Wafv2WebAclLoggingConfiguration
from constructs import Construct

from cicd.workspace.config import LOG_RETENTION_DAYS
from stack.blocks import blocks
from stack.context import StackContext
from stack.encryption import Encryption
from stack.load_balancing import LoadBalancing
from stack.policy import LOG_RETENTION, skip

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
RATE_LIMIT = 2000  # requests per client IP in any five-minute window
REDACTED_HEADERS = ("authorization", "cookie")


def _visibility(metric: str) -> Dict[str, object]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


class Firewall(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption,
                 traffic: LoadBalancing):
        super().__init__(scope, id)
        cfg = ctx.cfg
        name = f"{cfg.project}-alb"
        rules = [
            # `statement` is untyped in the bindings: it is written as Terraform's snake_case JSON.
            Wafv2WebAclRule(name=group, priority=10 * (index + 1), override_action={"none": {}},
                            statement={"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
                            visibility_config=_visibility(f"{name}-{group}"))
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(Wafv2WebAclRule(
            name="rate-limit-per-ip", priority=10 * (len(MANAGED_RULE_GROUPS) + 1), action={"block": {}},
            statement={"rate_based_statement": {"limit": RATE_LIMIT, "aggregate_key_type": "IP"}},
            visibility_config=_visibility(f"{name}-rate-limit")))
        self.web_acl = Wafv2WebAcl(
            self, "web-acl", name=name, scope="REGIONAL",
            description=f"{cfg.project}: managed rule groups and a per-IP rate limit in front of the ALBs",
            default_action={"allow": {}}, rule=rules, visibility_config=_visibility(name))
        for stage, stage_traffic in traffic.stages.items():
            Wafv2WebAclAssociation(self, f"{stage.value}-association", resource_arn=stage_traffic.alb.arn,
                                   web_acl_arn=self.web_acl.arn)
            skip(stage_traffic.alb, "CKV2_AWS_76",
                 "the ALB's web ACL has the Log4j AMR (AWSManagedRulesKnownBadInputsRuleSet, see CKV_AWS_192); this "
                 "check also demands AWSManagedRulesAnonymousIpList, which would block the services' clients behind "
                 "VPNs and on cloud hosts: a product decision, not part of the Log4j protection")

        self.log_group = CloudwatchLogGroup(self, "logs", name=f"aws-waf-logs-{name}",
                                            retention_in_days=LOG_RETENTION_DAYS, kms_key_id=encryption.arn)
        skip(self.log_group, "CKV_AWS_338", LOG_RETENTION)
        # WAF delivers through CloudWatch Logs' log delivery service; grant it this log group only,
        # instead of letting WAF add an unmanaged account-wide policy on first use.
        policy = CloudwatchLogResourcePolicy(self, "logs-delivery", policy_name=f"{name}-waf-logs",
                                             policy_document=json.dumps({
                                                 "Version": "2012-10-17",
                                                 "Statement": [{
                                                     "Sid": "WafLogDelivery", "Effect": "Allow",
                                                     "Principal": {"Service": "delivery.logs.amazonaws.com"},
                                                     "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                                     "Resource": f"{self.log_group.arn}:*",
                                                     "Condition": {
                                                         "StringEquals": {"aws:SourceAccount": ctx.account_id},
                                                         "ArnLike": {"aws:SourceArn": ctx.arn("logs", "*")}},
                                                 }],
                                             }, sort_keys=True))
        Wafv2WebAclLoggingConfiguration(
            self, "logging", resource_arn=self.web_acl.arn, log_destination_configs=[self.log_group.arn],
            redacted_fields=blocks(*({"single_header": {"name": header}} for header in REDACTED_HEADERS)),
            depends_on=[policy])
