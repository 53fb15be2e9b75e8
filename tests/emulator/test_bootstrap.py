"""The state bucket bootstrap (cicd/deploy/bootstrap.py) against the patched emulator: what it creates, that a second
run changes nothing, and the one-line refusals of a bucket in another region, of another account or
without versioning."""
from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from cicd.deploy import bootstrap
from cicd.emulator.endpoint import ACCOUNT_ID
from cicd.workspace.errors import UserError

from .helpers import unique

ENV_FILE = Path("environments/us-east-1/.env")


def _bucket(name: str, region: str = "us-east-1") -> bootstrap.StateBucket:
    return bootstrap.StateBucket(name=name, region=region, account=ACCOUNT_ID, env_file=ENV_FILE)


def _settings(s3, name: str) -> dict:
    return {"versioning": s3.get_bucket_versioning(Bucket=name).get("Status"),
            "encryption": s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"],
            "public": s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
            "policy": json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]),
            "location": s3.get_bucket_location(Bucket=name).get("LocationConstraint")}


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_creates_a_hardened_bucket_in_its_region_and_a_second_run_changes_nothing(aws, region: str) -> None:
    s3 = aws("s3", region=region)
    name = unique("tfstate")
    line = bootstrap.ensure(s3, _bucket(name, region))
    assert line.startswith(f"state bucket s3://{name} ({region}): created, versioned")
    first = _settings(s3, name)
    assert first["versioning"] == "Enabled"
    assert first["location"] == (None if region == "us-east-1" else region)
    assert first["encryption"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(first["public"][key] for key in bootstrap.PUBLIC_ACCESS_BLOCK)
    [statement] = first["policy"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert f"arn:aws:s3:::{name}/*" in statement["Resource"]

    again = bootstrap.ensure(s3, _bucket(name, region))
    assert again.endswith("nothing changed") and "created" not in again
    assert _settings(s3, name) == first


def test_a_versioned_bucket_missing_hardening_gets_it_and_keeps_its_policy(aws) -> None:
    s3 = aws("s3", region="us-east-1")
    name = unique("tfstate")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    grant = {"Sid": "ReadForAudit", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant]}))
    line = bootstrap.ensure(s3, _bucket(name))
    assert "already there and versioned; added" in line and "public access block" in line and "TLS-only" in line
    statements = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["ReadForAudit", bootstrap.TLS_SID]


def _refused(s3, bucket: bootstrap.StateBucket) -> str:
    with pytest.raises(UserError) as exc:
        bootstrap.ensure(s3, bucket)
    [problem] = exc.value.problems
    assert "\n" not in problem and problem.startswith(f"{ENV_FILE}: STATE_BUCKET={bucket.name}: ")
    return problem


def test_a_bucket_in_another_region_is_refused(aws) -> None:
    name = unique("tfstate")
    aws("s3", region="us-west-2").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    problem = _refused(aws("s3", region="us-east-1"), _bucket(name, "us-east-1"))
    assert "exists in us-west-2, not in us-east-1" in problem


def test_a_bucket_without_versioning_is_refused_and_left_alone(aws) -> None:
    s3 = aws("s3", region="us-east-1")
    name = unique("tfstate")
    s3.create_bucket(Bucket=name)
    problem = _refused(s3, _bucket(name))
    assert "without versioning" in problem and "put-bucket-versioning" in problem
    assert s3.get_bucket_versioning(Bucket=name).get("Status") is None


def test_another_accounts_bucket_is_refused(aws, emulator) -> None:
    credentials = aws("sts").assume_role(RoleArn="arn:aws:iam::111111111111:role/other-team",
                                         RoleSessionName="other")["Credentials"]
    other = boto3.client("s3", region_name="us-east-1", endpoint_url=emulator.endpoint,
                         aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"])
    name = unique("tfstate")
    other.create_bucket(Bucket=name)
    other.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    problem = _refused(aws("s3", region="us-east-1"), _bucket(name))
    assert "owned by another AWS account" in problem
