"""S3: PutBucketLogging's check of the target bucket policy (``bucket_policy_allows_log_delivery()``)."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from ._registry import _as_list, _patch, _replace


def bucket_policy_allows_log_delivery(policy_document: str, bucket_arn: str, target_prefix: str) -> bool:
    """True when a bucket policy lets logging.s3.amazonaws.com PutObject under ``target_prefix`` of the
    bucket: Principal/Service, Action and Resource may each be a string or a list, and Action/Resource
    match with IAM wildcards."""
    try:
        statements = _as_list(json.loads(policy_document).get("Statement"))
    except (ValueError, AttributeError):
        return False
    sample_object = f"{bucket_arn}/{target_prefix or ''}log-object"
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if not isinstance(principal, dict) or "logging.s3.amazonaws.com" not in _as_list(principal.get("Service")):
            continue
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase("s3:putobject", a) for a in actions):
            continue
        resources = _as_list(statement.get("Resource"))
        # moto 5.2.5 also accepts the bare bucket ARN; keep accepting whatever it accepted
        if any(r == bucket_arn or fnmatch.fnmatchcase(sample_object, r) for r in resources):
            return True
    return False


@_patch("s3_logging_target_policy_check")
def _s3_logging_target_policy_check() -> None:
    # moto 5.2.5, S3, PutBucketLogging: the check that the target bucket's policy lets
    # logging.s3.amazonaws.com write reads every statement's Principal as a dict, so a policy that also has
    # the common `"Principal": "*"` deny-insecure-transport statement raises AttributeError (HTTP 500, the
    # provider retries until it gives up); and it compares Resource as one exact string, so a statement
    # granting e.g. `logs-bucket/s3/*` for target prefix `s3/artifacts/` (or listing several resources) is
    # refused. AWS evaluates the policy as IAM does (strings or lists, wildcards). A target bucket whose
    # policy does not grant the logging service (and no ACL grant) is still refused.
    from moto.s3 import models

    def _log_permissions_enabled_policy(target_bucket: Any, target_prefix: str | None) -> bool:
        policy = target_bucket.policy
        if not policy:
            return False
        document = policy.decode() if isinstance(policy, bytes) else policy
        bucket_arn = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
        return bucket_policy_allows_log_delivery(document, bucket_arn, target_prefix or "")

    _replace(
        "s3_logging_target_policy_check",
        models.FakeBucket,
        "_log_permissions_enabled_policy",
        staticmethod(_log_permissions_enabled_policy),
    )


def _secure_transport_only(statement: Any) -> bool:
    """A statement whose only condition is `aws:SecureTransport` = false (the deny-plain-HTTP pattern)."""
    condition = statement.get("Condition") if isinstance(statement, dict) else None
    if not isinstance(condition, dict) or list(condition) != ["Bool"] or not isinstance(condition["Bool"], dict):
        return False
    values = condition["Bool"]
    return list(values) == ["aws:SecureTransport"] and [str(v).lower() for v in _as_list(values["aws:SecureTransport"])] == ["false"]


@_patch("s3_policy_secure_transport")
def _s3_policy_secure_transport() -> None:
    # moto 5.2.5, S3, every object operation on a bucket with a policy: FakeBucket.get_permission evaluates
    # the policy ignoring each statement's Condition, so the usual TLS-only statement (Deny s3:* when
    # aws:SecureTransport is false) denies every request, even over TLS: GetObject/HeadObject/PutObject
    # answer 403 (Terraform's S3 backend cannot read or write its state). AWS applies that Deny only to
    # requests that do not use TLS. The emulator is reached over loopback HTTP only because it is local;
    # it stands for AWS's HTTPS endpoints, which every SDK and Terraform use, so the condition is taken as
    # not met. Statements with any other condition are evaluated by moto as before.
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3 import models

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
        try:
            policy = json.loads(document)
            statements = [s for s in _as_list(policy.get("Statement")) if not _secure_transport_only(s)]
        except (ValueError, AttributeError):
            return IAMPolicy(document).is_action_permitted(action, resource)
        if not statements:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**policy, "Statement": statements})).is_action_permitted(action, resource)

    _replace("s3_policy_secure_transport", models.FakeBucket, "get_permission", get_permission)
