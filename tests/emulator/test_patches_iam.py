"""The IAM patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/iam.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import error_code, make_role, trust_policy, unique


def test_iam_aws_managed_policies(aws) -> None:
    """Gap: moto does not know AWS managed policies unless asked to (AttachRolePolicy -> NoSuchEntity)."""
    iam = aws("iam")
    role = unique("cd")
    make_role(iam, role, trust_policy("codedeploy.amazonaws.com"))
    arn = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [arn]
    # an unknown managed policy is still refused
    with pytest.raises(ClientError) as exc:
        iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAnywhere")
    assert error_code(exc) == "NoSuchEntity"
