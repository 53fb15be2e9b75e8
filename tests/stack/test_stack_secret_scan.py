"""Secret scan of everything the project generates: the synthesized JSON of every region and every
rendered template (buildspecs, task definitions, appspecs, rendered by cicd.docs.preview into a temporary
folder). Looks for AWS access keys and secret keys, private keys, well-known token formats,
passwords/tokens/API keys with a literal high-entropy value, and SecureString parameters holding
anything but cicd.workspace.parameters.SECRET_PLACEHOLDER. The planted-secret tests prove each rule fires.
"""
from __future__ import annotations

import copy
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from json_walk import walk  # noqa: E402  (tests/stack is on sys.path, like conftest)
import yaml

from cicd.docs import preview

from cicd.workspace import render
from cicd.workspace.config import DEPLOY_STAGES
from cicd.workspace.parameters import SECRET_PLACEHOLDER

PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    "AWS secret key setting": re.compile(r"aws_secret_access_key|secret_access_key|aws_session_token", re.I),
    "private key": re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----"),
    "GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
}
# A bare 40-character AWS secret access key: base64 alphabet with mixed case and digits.
SECRET_KEY_VALUE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
CREDENTIAL_WORD = r"(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
CREDENTIAL_NAME = re.compile(CREDENTIAL_WORD, re.I)
# NAME=value / NAME: value / "NAME": "value" inside text (shell commands, YAML, JSON-in-strings). The
# look-behind starts a name only where a run of name characters starts: the same matches, in linear time
# (without it each position of a long base64 run was tried, ~1 s per stack).
ASSIGNMENT = re.compile(r"""(?i)(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]*%s[A-Za-z0-9_.-]*)["']?\s*[:=]\s*["']?"""
                        r"""([^\s"',;}\]]+)""" % CREDENTIAL_WORD)
PROVIDER_CREDENTIALS = {"access_key", "secret_key", "token", "profile", "shared_credentials_files"}
MIN_LENGTH, MIN_ENTROPY = 8, 3.0  # bits per character


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def literal_secret(value: str) -> bool:
    """Whether a value given to a password/token/key name is a literal secret rather than a
    reference (Terraform `${...}`, shell `$VAR`, an ARN, a parameter path, a <placeholder>)."""
    value = value.strip()
    if len(value) < MIN_LENGTH or value == SECRET_PLACEHOLDER:
        return False
    if value.startswith(("$", "arn:", "/", "<", "{{", "%")) or "${" in value:
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return classes >= 2 and entropy(value) >= MIN_ENTROPY


def scan_text(where: str, text: str) -> List[str]:
    findings = [f"{where}: {name}" for name, pattern in PATTERNS.items() if pattern.search(text)]
    for candidate in SECRET_KEY_VALUE.findall(text):
        if re.search(r"[a-z]", candidate) and re.search(r"[A-Z]", candidate) and re.search(r"[0-9]", candidate):
            findings.append(f"{where}: secret-key-like value {candidate[:6]}...")
    for name, value in ASSIGNMENT.findall(text):
        if literal_secret(value):
            findings.append(f"{where}: {name} is set to a literal secret")
    return findings


def scan_document(where: str, doc: Any) -> List[str]:
    """Structured scan: every string leaf as text, and every value of a credential-named key."""
    findings = []
    for path, value in walk(doc):
        if not isinstance(value, str):
            continue
        location = f"{where}:{'.'.join(map(str, path))}"
        findings.extend(scan_text(location, value))
        key = next((p for p in reversed(path) if isinstance(p, str)), "")  # the name the value is given to
        if CREDENTIAL_NAME.search(key) and literal_secret(value):
            findings.append(f"{location}: literal secret under {key!r}")
        # {"name": "DB_PASSWORD", "value": "..."} (container environment, CodeBuild variables)
        if path and path[-1] == "value":
            parent = _get(doc, path[:-1])
            label = parent.get("name") if isinstance(parent, dict) else None
            if isinstance(label, str) and CREDENTIAL_NAME.search(label) and literal_secret(value):
                findings.append(f"{location}: literal secret in {label!r}")
    return findings


def _get(doc: Any, path: Tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def scan_stack(stack) -> List[str]:
    where = f"{stack.region}/cdk.tf.json"
    findings = scan_text(where, json.dumps(stack.doc)) + scan_document(where, stack.doc)
    for provider in stack.doc.get("provider", {}).get("aws", []):
        findings.extend(f"{where}: provider credential {k}" for k in PROVIDER_CREDENTIALS & set(provider))
    for name, parameter in stack.resources("aws_ssm_parameter").items():
        if parameter["type"] == "SecureString":
            if parameter.get("value") != SECRET_PLACEHOLDER:
                findings.append(f"{where}: SecureString {parameter['name']} holds a value")
            if "value" not in (parameter.get("lifecycle") or {}).get("ignore_changes", []):
                findings.append(f"{where}: SecureString {parameter['name']} value is managed by Terraform")
        elif CREDENTIAL_NAME.search(parameter["name"]):
            findings.append(f"{where}: {parameter['name']} looks secret but is a {parameter['type']}")
    return findings


def scan_file(path: Path, root: Path) -> List[str]:
    where = str(path.relative_to(root))
    text = path.read_text()
    findings = scan_text(where, text)
    if path.suffix == ".json":
        findings.extend(scan_document(where, json.loads(text)))
    elif path.suffix in (".yml", ".yaml"):
        findings.extend(scan_document(where, yaml.safe_load(text)))
    return findings


def scan_tree(root: Path) -> List[str]:
    return [f for path in sorted(root.rglob("*")) if path.is_file() and path.name != preview.MARKER
            for f in scan_file(path, root)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, synthesized, deployment_id) -> Path:
    """Every template of every region rendered (and checked) by the preview into a temporary folder."""
    out = tmp_path_factory.mktemp("rendered")
    renderer = render.Renderer()
    for synth in synthesized.values():
        preview.render_region(synth.cfg, deployment_id, DEPLOY_STAGES, [], out, renderer)
    return out


# --- the real output ---------------------------------------------------------------------------------

def test_no_secrets_in_the_synthesized_json(stack):
    assert json.loads(stack.text) == stack.doc  # the file on disk is what is scanned
    assert stack.bodies("aws_ssm_parameter"), "expected parameters to check"
    assert scan_stack(stack) == []


def test_no_secrets_in_the_rendered_templates(rendered, synthesized):
    files = [p for p in rendered.rglob("*") if p.is_file() and p.name != preview.MARKER]
    per_region = 1 + 3 * (1 + 2 * len(DEPLOY_STAGES))  # test buildspec; per service a build + 2 files per stage
    mirrors = sum(1 for s in synthesized.values() if s.cfg.source_mirror_regions)  # the source mirror's buildspec
    assert len(files) == per_region * len(synthesized) + mirrors
    assert scan_tree(rendered) == []


def test_references_and_placeholders_are_not_secrets():
    for value in ("$DB_PASSWORD", "${aws_ssm_parameter.x.value}", "arn:aws:ssm:us-east-1:1:parameter/p/APP_SECRET",
                  "/pipeline/staging/api-service/APP_SECRET", SECRET_PLACEHOLDER, "<IMAGE1_NAME>", "CODEBUILD"):
        assert not literal_secret(value), value
    assert scan_text("x", "aws ecr get-login-password | docker login --username AWS --password-stdin $REG") == []


# --- planted secrets: each rule fires ------------------------------------------------------------------

STACK_PLANTS = {
    "access-key-in-provider": lambda doc: doc["provider"]["aws"][0].update(access_key="AKIAIOSFODNN7EXAMPLE"),
    "secret-key-in-output": lambda doc: doc["output"].update(leak={"value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}),
    "private-key-in-output": lambda doc: doc["output"].update(leak={"value": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"}),
    "token-in-lambda-env": lambda doc: next(f for f in doc["resource"]["aws_lambda_function"].values()
                                            if f.get("environment"))[
        "environment"]["variables"].update(API_TOKEN="q8Zr2LmX0vB7nK4w"),
    "github-token": lambda doc: doc["output"].update(leak={"value": "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"}),
    "secure-string-value": lambda doc: next(p for p in doc["resource"]["aws_ssm_parameter"].values()
                                            if p["type"] == "SecureString").update(value="hunter2"),
    "secret-as-string-parameter": lambda doc: next(p for p in doc["resource"]["aws_ssm_parameter"].values()
                                                   if p["type"] == "SecureString").update(type="String"),
    "password-in-buildspec": lambda doc: next(iter(doc["resource"]["aws_codebuild_project"].values()))[
        "source"].update(buildspec="phases:\n  build:\n    commands:\n      - DB_PASSWORD=Zx9kQ2pL7vR4tY8w ./run\n"),
}


@pytest.mark.parametrize("plant", sorted(STACK_PLANTS))
def test_scan_finds_secrets_planted_in_the_synthesized_json(synthesized, plant):
    original = next(iter(synthesized.values()))
    doc = copy.deepcopy(original.doc)
    STACK_PLANTS[plant](doc)
    assert scan_stack(type(original)(original.cfg, original.directory, doc)), plant


def _first(root: Path, pattern: str) -> Path:
    return sorted(root.rglob(pattern))[0]


def _append_command(path: Path, line: str) -> None:
    doc = yaml.safe_load(path.read_text())
    doc["phases"]["build"]["commands"].append(line)
    path.write_text(yaml.safe_dump(doc))


def _taskdef_env(path: Path, name: str, value: str) -> None:
    doc = json.loads(path.read_text())
    doc["containerDefinitions"][0]["environment"].append({"name": name, "value": value})
    path.write_text(json.dumps(doc, indent=2))


FILE_PLANTS: Dict[str, Any] = {
    "access-key-in-buildspec": lambda root: _append_command(
        _first(root, "build-*.yml"), "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
    "password-in-buildspec": lambda root: _append_command(
        _first(root, "test.yml"), "curl -u admin --data password=Zx9kQ2pL7vR4tY8w https://example.com"),
    "secret-key-in-taskdef": lambda root: _taskdef_env(
        _first(root, "taskdef.json"), "SIGNING", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "token-in-taskdef": lambda root: _taskdef_env(_first(root, "taskdef.json"), "SERVICE_TOKEN", "q8Zr2LmX0vB7nK4w"),
    "private-key-in-appspec": lambda root: _first(root, "appspec.yaml").write_text(
        _first(root, "appspec.yaml").read_text() + "# -----BEGIN OPENSSH PRIVATE KEY-----\n"),
}


@pytest.mark.parametrize("plant", sorted(FILE_PLANTS))
def test_scan_finds_secrets_planted_in_rendered_templates(rendered, tmp_path, plant):
    import shutil

    copy_root = tmp_path / "rendered"
    shutil.copytree(rendered, copy_root)
    assert scan_tree(copy_root) == []
    FILE_PLANTS[plant](copy_root)
    assert scan_tree(copy_root), plant
