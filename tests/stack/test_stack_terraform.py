"""`terraform init -backend=false` and `terraform validate` on each synthesized region.

Runs the terraform CLI found on PATH with the environment's own CLI configuration (provider
mirror, plugin cache); each region is copied to a temporary folder first so `.terraform/` and the
lock file never land in the shared synth output.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.terraform


def _terraform(args, cwd, env):
    return subprocess.run(["terraform", *args], cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=600)


def test_terraform_validate(stack, tmp_path):
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not on PATH; the stack tests need it (see README)"
    workdir = tmp_path / stack.region
    shutil.copytree(stack.directory, workdir)
    env = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")

    init = _terraform(["init", "-backend=false", "-input=false", "-no-color"], workdir, env)
    assert init.returncode == 0, f"terraform init failed:\n{init.stdout}\n{init.stderr}"

    validate = _terraform(["validate", "-json", "-no-color"], workdir, env)
    report = json.loads(validate.stdout)
    errors = [d for d in report.get("diagnostics", []) if d.get("severity") == "error"]
    assert report["valid"] is True and report["error_count"] == 0, json.dumps(errors, indent=2)
    assert validate.returncode == 0
