"""The policy evaluation engine: @cloud-copilot/iam-simulate, run by Node in one batch.

Why this engine: it evaluates identity and resource policies together as AWS does (explicit deny,
same- vs cross-account rules, the KMS key-policy and role trust-policy special cases) with every
condition operator, and validates each request against AWS's action and resource-type data; it is
maintained (2026 releases) and needs only Node, which CDKTF already requires. moto's evaluator
(moto.iam.access_control) knows one condition operator, ignores the others and ignores principals
other than "*", so it would pass flows AWS refuses. The package is installed by nox
(`.nox/authz-node`, pinned by simulator/package-lock.json); it is AGPL-licensed and only run, never
shipped with the stack.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Sequence

from cicd.workspace.errors import UserError

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).resolve().parent / "simulator" / "simulate.js"
DEFAULT_MODULES = ROOT / ".nox" / "authz-node" / "node_modules"
TIMEOUT_SECONDS = 300


def node_modules() -> Path:
    path = Path(os.environ.get("AUTHZ_NODE_MODULES", str(DEFAULT_MODULES)))
    if not (path / "@cloud-copilot" / "iam-simulate").is_dir():
        raise UserError(f"the policy evaluator is not installed at {path}: run `nox -s policy` "
                        f"(it installs cicd/policy/authz/simulator/package.json), or set AUTHZ_NODE_MODULES")
    return path


# The engine (0.1.173) recognises variable context keys only in the `prefix/name` form (aws:ResourceTag/x)
# and silently drops KMS's colon-form `kms:EncryptionContext:<key>` as unknown, so every key-policy
# condition on an encryption context would fail for want of the key. The bridge renames that key, in
# the policies and in the request alike, to the `/` form of a global key the engine knows; the
# operator and the values are still compared by the engine, unchanged.
_ENCRYPTION_CONTEXT = re.compile(r"^kms:EncryptionContext:(.+)$", re.IGNORECASE)


def _renamed(key: str) -> str:
    match = _ENCRYPTION_CONTEXT.match(key)
    return f"aws:PrincipalTag/kms-encryption-context-{match.group(1)}" if match else key


def _translate(simulation: Dict[str, Any]) -> Dict[str, Any]:
    simulation = copy.deepcopy(simulation)
    policies = [p["policy"] for p in simulation.get("identityPolicies", [])]
    if simulation.get("resourcePolicy"):
        policies.append(simulation["resourcePolicy"])
    for policy in policies:
        statements = policy.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            for operator, clauses in (statement.get("Condition") or {}).items():
                statement["Condition"][operator] = {_renamed(k): v for k, v in clauses.items()}
    request = simulation["request"]
    request["contextVariables"] = {_renamed(k): v for k, v in request.get("contextVariables", {}).items()}
    return simulation


def evaluate(simulations: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One {"result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error", ...} per simulation."""
    if not simulations:
        return []
    node = shutil.which("node")
    if not node:
        raise UserError("node is not on PATH: the authorization gate runs its policy evaluator with Node.js")
    env = {**os.environ, "NODE_PATH": str(node_modules())}
    # Principals that share a policy ask the same questions (a third of a region's requests are
    # repeats): the engine evaluates each distinct request once, and every copy gets its answer.
    requests = [json.dumps(_translate(s), sort_keys=True) for s in simulations]
    distinct = list(dict.fromkeys(requests))
    try:
        proc = subprocess.run([node, str(SCRIPT)], input="[" + ",".join(distinct) + "]", capture_output=True,
                              text=True, env=env, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise UserError(f"the policy evaluator did not finish within {TIMEOUT_SECONDS} s") from None
    if proc.returncode != 0:
        last = next((line for line in reversed(proc.stderr.splitlines()) if line.strip()), "no error output")
        raise UserError(f"the policy evaluator failed (exit {proc.returncode}): {last}")
    results = json.loads(proc.stdout)
    if len(results) != len(distinct):
        raise UserError("the policy evaluator answered a different number of requests than it was asked")
    answers = dict(zip(distinct, results))
    return [copy.deepcopy(answers[request]) for request in requests]
