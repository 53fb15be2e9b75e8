"""No secrets in the synthesized JSON; names within AWS length limits."""
from __future__ import annotations

import copy
import json
import re

import pytest

from cicd.workspace.parameters import SECRET_PLACEHOLDER

SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b"),
    "AWS secret key setting": re.compile(r"aws_secret_access_key|secret_access_key|aws_session_token", re.I),
    "private key": re.compile(r"-----BEGIN ([A-Z]+ )*PRIVATE KEY( BLOCK)?-----"),
}
# A bare 40-character AWS secret access key: base64 alphabet with mixed case and digits.
SECRET_KEY_VALUE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
PROVIDER_CREDENTIALS = {"access_key", "secret_key", "token", "profile", "shared_credentials_files"}


def _secret_findings(stack, walk):
    findings = [name for name, pattern in SECRET_PATTERNS.items() if pattern.search(json.dumps(stack.doc))]
    for path, value in walk(stack.doc):
        if not isinstance(value, str):
            continue
        for candidate in SECRET_KEY_VALUE.findall(value):
            if re.search(r"[a-z]", candidate) and re.search(r"[A-Z]", candidate) and re.search(r"[0-9]", candidate):
                findings.append(f"secret-looking value at {'.'.join(map(str, path))}")
    for provider in stack.doc.get("provider", {}).get("aws", []):
        findings.extend(f"provider credential {k}" for k in PROVIDER_CREDENTIALS & set(provider))
    for parameter in stack.bodies("aws_ssm_parameter"):
        if parameter["type"] == "SecureString" and parameter.get("value") != SECRET_PLACEHOLDER:
            findings.append(f"SecureString {parameter['name']} holds a value")
    return findings


def test_no_secrets_in_the_synthesized_json(stack, helpers):
    assert stack.text  # the file on disk is the document under test
    assert json.loads(stack.text) == stack.doc
    assert _secret_findings(stack, helpers.walk) == []


@pytest.mark.parametrize("plant", [
    lambda doc: doc["provider"]["aws"][0].update(access_key="AKIAIOSFODNN7EXAMPLE"),
    lambda doc: doc["output"].update(leak={"value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}),
    lambda doc: doc["output"].update(leak={"value": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"}),
    lambda doc: next(p for p in doc["resource"]["aws_ssm_parameter"].values()
                     if p["type"] == "SecureString").update(value="hunter2"),
], ids=["access-key", "secret-key", "private-key", "secure-string"])
def test_secret_scan_finds_planted_secrets(synthesized, helpers, plant):
    original = next(iter(synthesized.values()))
    doc = copy.deepcopy(original.doc)
    plant(doc)
    assert _secret_findings(type(original)(original.cfg, original.directory, doc), helpers.walk)


def test_load_balancer_and_target_group_names_fit_32_characters(stack):
    names = [b["name"] for b in stack.bodies("aws_lb")] + [b["name"] for b in stack.bodies("aws_lb_target_group")]
    assert len(names) == 2 + 12
    valid = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
    for name in names:
        assert len(name) <= 32 and valid.match(name) and not name.startswith("internal-"), name
    assert len(set(names)) == len(names)


def test_iam_role_names_fit_64_characters(stack):
    names = [b["name"] for b in stack.bodies("aws_iam_role")]
    assert names
    for name in names:
        assert len(name) <= 64 and re.fullmatch(r"[\w+=,.@-]+", name), name
