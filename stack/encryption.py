"""One customer-managed KMS key per region for everything that stores data at rest.

One key keeps the key policy readable; each AWS service may only use it through its own service
principal and, where the service supports it, with an encryption context naming this account.
"""
from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from stack.context import StackContext


class Encryption(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext):
        super().__init__(scope, id)
        cfg = ctx.cfg
        root = f"arn:{ctx.partition}:iam::{ctx.account_id}:root"
        # In a key policy "Resource": "*" means this key itself.
        statements = [
            {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": root},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "CloudWatchLogs", "Effect": "Allow",
             "Principal": {"Service": f"logs.{cfg.region}.amazonaws.com"},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
             "Resource": "*",
             "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                       f"arn:{ctx.partition}:logs:{cfg.region}:{ctx.account_id}:log-group:*"}}},
            {"Sid": "AlarmsPublishToEncryptedTopics", "Effect": "Allow",
             "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}}},
            # No aws:SourceAccount/aws:SourceArn here: EventBridge's KMS requests for an encrypted SNS
            # target carry neither (SNS guide, compatibility with AWS services), so such a condition
            # would drop every pipeline notification silently. The topic policy still limits
            # EventBridge to this account's rules.
            {"Sid": "EventsPublishToEncryptedTopics", "Effect": "Allow",
             "Principal": {"Service": "events.amazonaws.com"},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"},
        ]
        self.key = KmsKey(
            self, "key",
            description=f"{cfg.project} CI/CD pipeline data at rest in {cfg.region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        KmsAlias(self, "alias", name=f"alias/{cfg.project}-pipeline", target_key_id=self.key.key_id)
        self.arn = self.key.arn
