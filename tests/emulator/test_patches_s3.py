"""The S3 patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/s3.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from cicd.emulator import moto_patches

from .helpers import error_code, unique


_DENY_INSECURE = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def _bucket(s3) -> str:
    name = unique("bkt")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return name


def _log_grant(resource, **changes):
    grant = {
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": resource,
    }
    grant.update(changes)
    return grant


def test_s3_logging_target_policy_check(aws) -> None:
    """Gap: PutBucketLogging's check of the target bucket policy crashes (HTTP 500) on a `"Principal": "*"`
    statement and compares Resource as one exact string, so a wildcard grant such as logs/s3/* is refused."""
    s3 = aws("s3")
    source = _bucket(s3)

    def enable_logging(target_statements) -> None:
        target = _bucket(s3)
        statements = [
            {k: (v.format(bucket=target) if isinstance(v, str) else
                 [x.format(bucket=target) for x in v] if k == "Resource" and isinstance(v, list) else v)
             for k, v in st.items()}
            for st in target_statements
        ]
        s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        s3.put_bucket_logging(
            Bucket=source,
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "s3/artifacts/"}},
        )

    enable_logging([_DENY_INSECURE, _log_grant(["arn:aws:s3:::{bucket}/s3/*"])])
    assert s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetPrefix"] == "s3/artifacts/"

    refused = {
        "grant does not cover the prefix": [_DENY_INSECURE, _log_grant("arn:aws:s3:::{bucket}/alb/*")],
        "grant to another service": [
            _log_grant("arn:aws:s3:::{bucket}/*", Principal={"Service": "delivery.logs.amazonaws.com"})
        ],
        "deny": [_log_grant("arn:aws:s3:::{bucket}/*", Effect="Deny")],
        "only the deny-insecure statement": [_DENY_INSECURE],
    }
    for label, statements in refused.items():
        with pytest.raises(ClientError) as exc:
            enable_logging(statements)
        assert error_code(exc) == "InvalidTargetBucketForLogging", label


def test_s3_logging_policy_parser() -> None:
    """The policy evaluation itself (strings or lists, IAM wildcards, moto's bare-bucket acceptance kept)."""
    allows = moto_patches.bucket_policy_allows_log_delivery
    arn = "arn:aws:s3:::logs"

    def policy(**statement):
        base = {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject"}
        return json.dumps({"Statement": [{**base, **statement}]})

    assert allows(policy(Resource="arn:aws:s3:::logs/*"), arn, "s3/x/")
    assert allows(policy(Resource=["arn:aws:s3:::other/*", "arn:aws:s3:::logs/s3/*"]), arn, "s3/x/")
    assert allows(policy(Resource="arn:aws:s3:::logs", Action=["s3:*"]), arn, "")
    assert allows(policy(Resource="arn:aws:s3:::logs/*", Principal={"Service": ["a.amazonaws.com",
                                                                               "logging.s3.amazonaws.com"]}), arn, "")
    assert not allows(policy(Resource="arn:aws:s3:::logs/alb/*"), arn, "s3/x/")
    assert not allows(policy(Resource="arn:aws:s3:::logs/*", Action="s3:GetObject"), arn, "")
    assert not allows(policy(Resource="arn:aws:s3:::logs/*", Principal="*"), arn, "")


def test_s3_policy_secure_transport(aws) -> None:
    """moto 5.2.5 ignores a bucket policy statement's Condition, so the TLS-only Deny denied every object
    call (Terraform's S3 backend could not read its state). Patched: that condition is taken as not met
    (the emulator stands for AWS's HTTPS endpoints); any other Deny still denies."""
    assert "s3_policy_secure_transport" in moto_patches.PATCHES
    s3 = aws("s3")
    bucket = _bucket(s3)
    arn = f"arn:aws:s3:::{bucket}"
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {**_DENY_INSECURE, "Resource": [arn, f"{arn}/*"]}]}))
    s3.put_object(Bucket=bucket, Key="state", Body=b"{}")
    assert s3.get_object(Bucket=bucket, Key="state")["Body"].read() == b"{}"
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {**_DENY_INSECURE, "Resource": [arn, f"{arn}/*"]},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{arn}/secret"}]}))
    s3.put_object(Bucket=bucket, Key="secret", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert s3.get_object(Bucket=bucket, Key="state")["Body"].read() == b"{}"
