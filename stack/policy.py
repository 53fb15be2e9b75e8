"""checkov suppressions, declared on the resource they apply to, with their reason.

checkov's terraform_json runner honours no `checkov:skip` comments, so `skip()` records the
suppression in the synthesized JSON as a Terraform comment (Terraform ignores properties named
"//"; cdktf keeps its own metadata beside it):

    "//": {"checkov_skip": {"CKV_AWS_338": "<reason>"}, "metadata": {...}}

`python -m cicd.policy.checkov` (`nox -s policy`) accepts a failed check only when its resource carries a
skip for that check id with a reason, and fails on skips that match no failure. Fix the stack
where that is sensible; skip only where the check does not fit, and say why.
"""
from __future__ import annotations

from cdktf import TerraformElement

from cicd.workspace.annotations import CHECK_ID, COMMENT_KEY, SKIP_KEY

# Reasons shared by several constructs.
LOG_RETENTION = ("the product requires 14-day retention on every log group (cicd.workspace.config.LOG_RETENTION_DAYS); "
                 "longer retention is a product decision, not a security fix")
NO_CERTIFICATE = ("no CERTIFICATE_ARN configured: the listener serves HTTP until one is set; "
                  "with it the stack serves HTTPS and redirects HTTP")


def skip(resource: TerraformElement, check_id: str, reason: str) -> None:
    """Suppress checkov `check_id` on `resource` (and nowhere else) for `reason`."""
    if not CHECK_ID.match(check_id):
        raise ValueError(f"{check_id!r} is not a checkov check id (e.g. CKV_AWS_338)")
    if not reason or not reason.strip():
        raise ValueError(f"skip of {check_id} needs a reason")
    if "${" in reason or "%{" in reason:
        raise ValueError(f"skip of {check_id}: the reason must not look like a Terraform expression")
    resource.add_override(f"{COMMENT_KEY}.{SKIP_KEY}.{check_id}", " ".join(reason.split()))
