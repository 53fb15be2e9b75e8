"""S3: the pipeline's artifact store (KMS, versioned, TLS-only, 30-day expiry) and a log bucket.

The log bucket receives the artifact bucket's access logs and the ALBs' access logs. ALB access
logging only supports SSE-S3, so that one bucket uses SSE-S3 instead of KMS.
"""
from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import S3BucketLifecycleConfiguration
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from constructs import Construct

from cicd.workspace.config import ARTIFACT_EXPIRATION_DAYS, DEPLOY_STAGES, Stage
from cicd.workspace.elb import elb_account
from stack.blocks import blocks
from stack.context import StackContext
from stack.encryption import Encryption
from stack.policy import skip

LOG_EXPIRATION_DAYS = 90


def alb_log_prefix(stage: Stage) -> str:
    """Where a stage's ALB writes its access logs in the log bucket (the bucket policy names each one)."""
    return f"alb/{stage.value}"


def _tls_only(bucket: S3Bucket) -> dict:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [bucket.arn, f"{bucket.arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


class Storage(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption):
        super().__init__(scope, id)
        cfg = ctx.cfg
        suffix = f"{ctx.account_id}-{cfg.region}"

        self.logs = S3Bucket(self, "logs", bucket=f"{cfg.project}-pipeline-logs-{suffix}", force_destroy=False)
        skip(self.logs, "CKV_AWS_145", "ALB access logging supports only SSE-S3 on its target bucket; this bucket "
                                       "holds only access logs and uses SSE-S3 (AES256)")
        skip(self.logs, "CKV_AWS_144", "this region's access logs stay in this region (90-day expiry); "
                                       "a replica would restore nothing on failover")
        skip(self.logs, "CKV2_AWS_62", "nothing consumes object events from the access-log bucket; "
                                       "logs are read on demand")
        self._harden(self.logs, "logs", kms_key_arn=None)
        S3BucketOwnershipControls(self, "logs-ownership", bucket=self.logs.id,
                                  rule={"object_ownership": "BucketOwnerEnforced"})
        S3BucketLifecycleConfiguration(self, "logs-lifecycle", bucket=self.logs.id, rule=blocks({
            "id": "expire-logs", "status": "Enabled", "filter": [{"prefix": ""}],
            "expiration": [{"days": LOG_EXPIRATION_DAYS}],
            "noncurrent_version_expiration": [{"noncurrent_days": 7}],
            "abort_incomplete_multipart_upload": [{"days_after_initiation": 1}],
        }))
        # ELB writes to <bucket>/<prefix>/AWSLogs/<account>/... and test-writes there when logging is
        # switched on: the policy must name each ALB's exact prefix, or creating the ALB fails.
        alb_logs = [f"{self.logs.arn}/{alb_log_prefix(stage)}/AWSLogs/{ctx.account_id}/*" for stage in DEPLOY_STAGES]
        self.logs_policy = S3BucketPolicy(self, "logs-policy", bucket=self.logs.id, policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                _tls_only(self.logs),
                {"Sid": "S3ServerAccessLogs", "Effect": "Allow",
                 "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                 "Resource": f"{self.logs.arn}/s3/*",
                 "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}}},
                {"Sid": "AlbAccessLogs", "Effect": "Allow",
                 "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}, "Action": "s3:PutObject",
                 "Resource": alb_logs},
                {"Sid": "AlbAccessLogsLegacyRegions", "Effect": "Allow",
                 "Principal": {"AWS": f"arn:{ctx.partition}:iam::{elb_account(cfg.region)}:root"},
                 "Action": "s3:PutObject", "Resource": alb_logs},
            ],
        }, sort_keys=True))

        self.artifacts = S3Bucket(self, "artifacts", bucket=f"{cfg.project}-pipeline-artifacts-{suffix}",
                                  force_destroy=False)
        skip(self.artifacts, "CKV_AWS_144", "pipeline artifacts are transient (30-day expiry) and each region "
                                            "runs its own pipeline from its own source: nothing to replicate")
        skip(self.artifacts, "CKV2_AWS_62", "nothing consumes object events: CodePipeline passes artifacts "
                                            "between its own stages")
        self._harden(self.artifacts, "artifacts", kms_key_arn=encryption.arn)
        # S3 checks at PutBucketLogging that the target bucket's policy lets the logging service write.
        S3BucketLoggingA(self, "artifacts-logging", bucket=self.artifacts.id, target_bucket=self.logs.id,
                         target_prefix="s3/artifacts/", depends_on=[self.logs_policy])
        S3BucketLifecycleConfiguration(self, "artifacts-lifecycle", bucket=self.artifacts.id, rule=blocks({
            "id": "expire-artifacts", "status": "Enabled", "filter": [{"prefix": ""}],
            "expiration": [{"days": ARTIFACT_EXPIRATION_DAYS}],
            "noncurrent_version_expiration": [{"noncurrent_days": ARTIFACT_EXPIRATION_DAYS}],
            "abort_incomplete_multipart_upload": [{"days_after_initiation": 1}],
        }))
        S3BucketPolicy(self, "artifacts-policy", bucket=self.artifacts.id, policy=json.dumps({
            "Version": "2012-10-17", "Statement": [_tls_only(self.artifacts)]}, sort_keys=True))

    def _harden(self, bucket: S3Bucket, name: str, kms_key_arn) -> None:
        S3BucketPublicAccessBlock(self, f"{name}-public-access", bucket=bucket.id, block_public_acls=True,
                                  block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)
        S3BucketVersioningA(self, f"{name}-versioning", bucket=bucket.id,
                            versioning_configuration={"status": "Enabled"})
        rule = ({"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                             "kms_master_key_id": kms_key_arn},
                 "bucket_key_enabled": True} if kms_key_arn else
                {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}})
        S3BucketServerSideEncryptionConfigurationA(self, f"{name}-sse", bucket=bucket.id, rule=blocks(rule))
