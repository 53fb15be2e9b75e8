"""SNS topics, e-mail subscriptions and the EventBridge rules that feed them.

Two KMS-encrypted topics: `notifications` for people (pipeline failures, state changes, approvals,
rollback reports) and `alarms` for CloudWatch alarm actions (the health Lambda and people subscribe).
Separate topics keep the Lambda from being triggered by its own reports.
EventBridge rules are used instead of CodeStar Notifications: they are the native event path and
need no extra service.
"""
from __future__ import annotations

import json
from typing import Dict

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from cicd.workspace import naming
from stack.context import StackContext
from stack.encryption import Encryption


def pipeline_event_rules(pipeline_name: str) -> Dict[str, dict]:
    """Event patterns (name -> pattern) for the pipeline's notifications."""
    source = {"source": ["aws.codepipeline"], "detail": {"pipeline": [pipeline_name]}}
    return {
        "failures": {**source, "detail-type": ["CodePipeline Pipeline Execution State Change"],
                     "detail": {**source["detail"], "state": ["FAILED"]}},
        "state-changes": {**source, "detail-type": ["CodePipeline Pipeline Execution State Change",
                                                    "CodePipeline Stage Execution State Change"],
                          "detail": {**source["detail"], "state": ["STARTED", "SUCCEEDED", "STOPPED", "SUPERSEDED",
                                                                   "RESUMED", "CANCELED"]}},
        "approvals": {**source, "detail-type": ["CodePipeline Action Execution State Change"],
                      "detail": {**source["detail"], "type": {"category": ["Approval"]},
                                 "state": ["STARTED", "SUCCEEDED", "FAILED"]}},
    }


class Notifications(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.topic = SnsTopic(self, "notifications", name=f"{cfg.project}-pipeline-notifications",
                              kms_master_key_id=encryption.arn)
        self.alarm_topic = SnsTopic(self, "alarms", name=f"{cfg.project}-pipeline-alarms",
                                    kms_master_key_id=encryption.arn)
        for topic, publisher, name in ((self.topic, "events.amazonaws.com", "notifications"),
                                       (self.alarm_topic, "cloudwatch.amazonaws.com", "alarms")):
            SnsTopicPolicy(self, f"{name}-policy", arn=topic.arn, policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "OwnerManages", "Effect": "Allow",
                     "Principal": {"AWS": f"arn:{ctx.partition}:iam::{ctx.account_id}:root"},
                     "Action": ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:SetTopicAttributes",
                                "sns:ListSubscriptionsByTopic"], "Resource": topic.arn},
                    {"Sid": "ServicePublishes", "Effect": "Allow", "Principal": {"Service": publisher},
                     "Action": "sns:Publish", "Resource": topic.arn,
                     "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}}},
                ],
            }, sort_keys=True))
            for i, email in enumerate(cfg.notification_emails):
                # E-mail subscriptions stay pending until the recipient confirms them.
                SnsTopicSubscription(self, f"{name}-email-{i}", topic_arn=topic.arn, protocol="email",
                                     endpoint=email)

        for rule_name, pattern in pipeline_event_rules(naming.pipeline(cfg)).items():
            rule = CloudwatchEventRule(self, f"rule-{rule_name}", name=f"{cfg.project}-pipeline-{rule_name}",
                                       description=f"CodePipeline {rule_name} of {naming.pipeline(cfg)} to SNS",
                                       event_pattern=json.dumps(pattern, sort_keys=True))
            CloudwatchEventTarget(self, f"target-{rule_name}", rule=rule.name, target_id="sns",
                                  arn=self.topic.arn)
