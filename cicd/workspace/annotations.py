"""The comments the stack writes into its Terraform JSON and the policy gates read back.

Terraform ignores properties named "//", so a resource can carry why a check does not apply to it:

    "//": {"checkov_skip": {"CKV_AWS_338": "<reason>"}}          (stack/policy.py -> cicd/policy/checkov.py)
    "//": {"authz_exceptions": {"<Sid>": "<reason>"}}           (stack/iam.py -> cicd/policy/authz/grants.py)

One definition here, so the writer and the reader cannot drift apart.
"""
from __future__ import annotations

import re

COMMENT_KEY = "//"
SKIP_KEY = "checkov_skip"
EXCEPTIONS_KEY = "authz_exceptions"
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
