"""The region's Terraform state bucket (STATE_BUCKET in its .env): checked before every deploy, created once.

The stack's S3 backend needs the bucket before `terraform init`. `ensure` creates it in the region,
versioned (every state version is kept, so state can be rolled back), encrypted with SSE-KMS (the
AWS-managed `aws/s3` key: nothing to create or pay for), all public access blocked and a bucket policy
that refuses plain HTTP. Run again, it changes nothing and says so. A bucket of that name that is
owned by another account, lives in another region or keeps no versions is refused with one line:
state must never land where it could be read by others or lost.

Against the emulator the same code creates the same bucket in the emulator's S3.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from cicd.workspace.errors import UserError

TLS_SID = "DenyInsecureTransport"
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                       "RestrictPublicBuckets": True}


@dataclass(frozen=True)
class StateBucket:
    """What the bootstrap needs to know: the bucket, the region it must be in, who must own it."""

    name: str
    region: str
    account: str
    env_file: Path  # named in every error, so the user knows where STATE_BUCKET comes from

    def problem(self, text: str) -> UserError:
        return UserError(f"{self.env_file}: STATE_BUCKET={self.name}: {text}")


def tls_only_statement(bucket: str) -> Dict[str, Any]:
    return {"Sid": TLS_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def _code(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _status(err: Any) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def locate(s3: Any, bucket: StateBucket) -> Optional[str]:
    """The bucket's region, or None when no bucket of that name exists; refuses one owned by someone else."""
    from botocore.exceptions import ClientError

    try:
        # ExpectedBucketOwner: AWS answers 403 when another account owns the bucket.
        answer = s3.head_bucket(Bucket=bucket.name, ExpectedBucketOwner=bucket.account)
    except ClientError as err:
        headers = err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if _status(err) == 404 or _code(err) in ("404", "NoSuchBucket"):
            return None
        if _status(err) == 403:
            raise bucket.problem(f"exists but is owned by another AWS account (or this account, "
                                 f"{bucket.account}, may not read it); choose another name") from None
        if headers.get("x-amz-bucket-region"):  # 301/400: the bucket lives in another region
            return headers["x-amz-bucket-region"]
        raise bucket.problem(f"cannot be checked: {_code(err) or _status(err)}") from None
    # head_bucket succeeds for another account's bucket that grants access, and the emulator ignores
    # ExpectedBucketOwner: the account's own bucket list is the ownership test both answer truly.
    owned = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket.name not in owned:
        raise bucket.problem(f"exists but is owned by another AWS account (not {bucket.account}); "
                             "choose another name")
    return (answer.get("BucketRegion") or answer["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region")
            or s3.get_bucket_location(Bucket=bucket.name).get("LocationConstraint") or "us-east-1")


def check(s3: Any, bucket: StateBucket) -> Optional[List[str]]:
    """None when the bucket is missing; else the hardening settings it lacks (refusing a wrong bucket)."""
    from botocore.exceptions import ClientError

    region = locate(s3, bucket)
    if region is None:
        return None
    if region != bucket.region:
        raise bucket.problem(f"exists in {region}, not in {bucket.region}; each region keeps its state in "
                             "its own region, choose another name")
    if s3.get_bucket_versioning(Bucket=bucket.name).get("Status") != "Enabled":
        raise bucket.problem(
            "exists without versioning, so an overwritten state could not be recovered; enable it "
            f"(aws s3api put-bucket-versioning --bucket {bucket.name} --versioning-configuration "
            "Status=Enabled) or choose another name")
    missing: List[str] = []
    try:
        s3.get_bucket_encryption(Bucket=bucket.name)
    except ClientError as err:
        if _code(err) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        missing.append("encryption")
    try:
        block = s3.get_public_access_block(Bucket=bucket.name)["PublicAccessBlockConfiguration"]
    except ClientError as err:
        if _code(err) != "NoSuchPublicAccessBlockConfiguration":
            raise
        block = {}
    if any(not block.get(k) for k in PUBLIC_ACCESS_BLOCK):
        missing.append("public access block")
    if not any(s.get("Sid") == TLS_SID for s in _policy(s3, bucket.name).get("Statement", [])):
        missing.append("TLS-only policy")
    return missing


def _policy(s3: Any, name: str) -> Dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        return json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except ClientError as err:
        if _code(err) != "NoSuchBucketPolicy":
            raise
        return {}


def _harden(s3: Any, name: str, missing: List[str]) -> None:
    if "encryption" in missing:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
    if "public access block" in missing:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
    if "TLS-only policy" in missing:
        # Keep whatever the bucket's owner already granted; add the one statement.
        policy = _policy(s3, name) or {"Version": "2012-10-17", "Statement": []}
        policy["Statement"] = list(policy.get("Statement", [])) + [tls_only_statement(name)]
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


def create(s3: Any, bucket: StateBucket) -> None:
    """Create the bucket in its region, versioned first (nothing may be written to it unversioned)."""
    from botocore.exceptions import ClientError

    extra = {} if bucket.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": bucket.region}}
    try:
        s3.create_bucket(Bucket=bucket.name, ObjectOwnership="BucketOwnerEnforced", **extra)
    except ClientError as err:
        if _code(err) == "BucketAlreadyExists":  # someone else created the name meanwhile
            raise bucket.problem("was just taken by another AWS account; choose another name") from None
        if _code(err) == "InvalidBucketName":
            raise bucket.problem("refused by S3 as an invalid bucket name") from None
        if _code(err) != "BucketAlreadyOwnedByYou":
            raise
    s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
    _harden(s3, bucket.name, ["encryption", "public access block", "TLS-only policy"])


def ensure(s3: Any, bucket: StateBucket) -> str:
    """Make the state bucket exist and be hardened; return one line saying what was done (or nothing)."""
    missing = check(s3, bucket)
    where = f"s3://{bucket.name} ({bucket.region})"
    if missing is None:
        create(s3, bucket)
        return (f"state bucket {where}: created, versioned, encrypted (SSE-KMS), public access blocked, "
                "TLS-only policy")
    if missing:
        _harden(s3, bucket.name, missing)
        return f"state bucket {where}: already there and versioned; added {', '.join(missing)}"
    return (f"state bucket {where}: already bootstrapped (versioned, encrypted, public access blocked, "
            "TLS only); nothing changed")


def s3_client(region: str, env: Dict[str, str]) -> Any:
    """An S3 client for the region: AWS by the usual credential chain, or the emulator named in ``env``."""
    import boto3

    if env.get("AWS_ENDPOINT_URL"):
        session = boto3.session.Session(region_name=region, aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
                                        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"))
        return session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    return boto3.session.Session(region_name=region).client("s3")
