"""IAM: AWS managed policies exist (moto loads them only on request)."""

from __future__ import annotations

from ._registry import _MISSING, _UNDO, _patch


@_patch("iam_aws_managed_policies")
def _iam_aws_managed_policies() -> None:
    # moto 5.2.5, IAM, AttachRolePolicy/GetPolicy: AWS managed policies (arn:aws:iam::aws:policy/...) do not
    # exist unless moto's `iam.load_aws_managed_policies` option is on (off by default), so attaching e.g.
    # AWSCodeDeployRoleForECS fails with NoSuchEntity. On AWS they always exist. This switches moto's own
    # option on (read whenever an account's IAM backend is created, including after a reset).
    from moto.core.config import default_user_config

    iam = default_user_config.setdefault("iam", {})
    previous = iam.get("load_aws_managed_policies", _MISSING)
    iam["load_aws_managed_policies"] = True

    def undo() -> None:
        if previous is _MISSING:
            iam.pop("load_aws_managed_policies", None)
        else:
            iam["load_aws_managed_policies"] = previous

    _UNDO.setdefault("iam_aws_managed_policies", []).append(undo)
