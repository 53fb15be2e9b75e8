"""Run-time flows of log delivery by AWS services, and CloudWatch Logs' use of the stack's key.

ALB access logs (as ELB's log-delivery principal, and as ELB's own account in regions older than
August 2022), S3 server access logs, WAF logs through the log-delivery service, VPC flow logs through
their role, and CloudWatch Logs encrypting the groups with the stack's KMS key.
"""
from __future__ import annotations

from typing import Any, Dict, List

from cicd.policy.authz.builder import Builder
from cicd.workspace.elb import elb_account, has_elb_account


def log_delivery(b: Builder) -> None:
    s = b.stack
    for lb_name, lb in s.items("aws_lb"):
        logs = lb.get("access_logs") or {}
        if not logs.get("enabled"):
            continue
        bucket, prefix = s.value(logs["bucket"]), s.value(logs.get("prefix", ""))
        base = f"{prefix}/AWSLogs/{s.account}" if prefix else f"AWSLogs/{s.account}"
        suffix = s.attr("aws_lb", lb_name, "arn_suffix").replace("/", ".")
        keys = [f"{base}/ELBAccessLogTestFile",
                f"{base}/elasticloadbalancing/{s.region}/2026/11/29/{s.account}_elasticloadbalancing_{s.region}_"
                f"{suffix}_20261129T0000Z_10.0.0.1_abc.log.gz"]
        principals = ["logdelivery.elasticloadbalancing.amazonaws.com"]
        if has_elb_account(s.region):  # regions older than August 2022 deliver as ELB's own account
            principals.append(f"arn:aws:iam::{elb_account(s.region)}:root")
        for principal in principals:
            for key in keys:
                allow_sender = ({"name": "elb", "policy": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}}
                    if principal.startswith("arn:") else None)  # ELB's account permits its own writer
                b.add(f"ALB {s.value(lb['name'])} delivers access logs as {principal}", "alb-logs", principal,
                      "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", identity=allow_sender and allow_sender["policy"],
                      resource_policy=s.bucket_policy(bucket), aws_SecureTransport="true")
    for _, logging in s.items("aws_s3_bucket_logging"):
        source, target = s.value(logging["bucket"]), s.value(logging["target_bucket"])
        key = f"{s.value(logging.get('target_prefix', ''))}2026-11-29-00-00-00-ABCDEF0123456789"
        b.add(f"S3 delivers {source}'s access logs", "s3-logs", "logging.s3.amazonaws.com", "s3:PutObject",
              f"arn:aws:s3:::{target}/{key}", resource_policy=s.bucket_policy(target), aws_SecureTransport="true",
              aws_SourceAccount=s.account, aws_SourceArn=f"arn:aws:s3:::{source}")
    for _, waf in s.items("aws_wafv2_web_acl_logging_configuration"):
        for destination in waf["log_destination_configs"]:
            group = s.value(destination).split(":log-group:", 1)[1].rstrip(":*")
            stream = s.arn("logs", f"log-group:{group}:log-stream:us-east-1_shop-alb_0")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                b.add(f"WAF delivers logs to {group}", "waf-logs", "delivery.logs.amazonaws.com", action, stream,
                      resource_policy=_merged(s.log_resource_policies()), aws_SourceAccount=s.account,
                      aws_SourceArn=s.arn("logs", "*"))
    for _, flow_log in s.items("aws_flow_log"):
        role = s.value(flow_log["iam_role_arn"])
        group_arn = s.value(flow_log["log_destination"])
        b.assume(role, "vpc-flow-logs.amazonaws.com", "flow logs")
        b.log_stream("flow logs deliver", "flow-logs", role, group_arn.split(":log-group:", 1)[1])
        b.as_role("flow logs check the group", "flow-logs", role, "logs:DescribeLogGroups", "*")
        b.as_role("flow logs check the streams", "flow-logs", role, "logs:DescribeLogStreams", group_arn)


def _merged(policies: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [st for p in policies for st in p.get("Statement", [])]}


def log_encryption(b: Builder) -> None:
    s = b.stack
    for _, group in s.items("aws_cloudwatch_log_group"):
        if not group.get("kms_key_id"):
            continue
        arn = s.arn("logs", f"log-group:{s.value(group['name'])}")
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            b.add(f"CloudWatch Logs encrypts {s.value(group['name'])}", "logs-kms",
                  f"logs.{s.region}.amazonaws.com", action, s.key_arn(), resource_policy=s.key_policy(),
                  **{"kms:EncryptionContext:aws:logs:arn": arn})
