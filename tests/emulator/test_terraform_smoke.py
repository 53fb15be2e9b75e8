"""Terraform (hashicorp/aws 5.100.0) applies, re-plans with no changes, and destroys against the emulator.

The configuration (built in smoke_config.py) covers every resource that needed a moto patch (see
cicd/emulator/moto_patches/), wired the way the real stack wires them: CodeCommit -> CodeBuild -> CodeDeploy
blue/green to an ECS service behind an ALB with two target groups and two listeners.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List

import pytest

from .smoke_config import REGION, build_config, write_lambda_zip

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed"),
]


def _terraform(args: List[str], cwd: Path, env: Dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["terraform", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _fail(step: str, proc: subprocess.CompletedProcess) -> None:
    pytest.fail(f"terraform {step} exited {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n"
                f"--- stderr\n{proc.stderr[-6000:]}")


def test_apply_replan_destroy(emulator, tmp_path: Path) -> None:
    """apply -> plan -detailed-exitcode (0: no changes) -> destroy, all against the patched moto server."""
    workdir = tmp_path / "tf"
    workdir.mkdir()
    (workdir / "main.tf.json").write_text(json.dumps(build_config(REGION), indent=2))
    write_lambda_zip(workdir / "hook.zip")
    env = emulator.subprocess_env(region=REGION)
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})

    started = time.monotonic()
    proc = _terraform(["init", "-input=false", "-no-color"], workdir, env, 120)
    if proc.returncode != 0:
        _fail("init", proc)

    try:
        proc = _terraform(["apply", "-auto-approve", "-input=false", "-no-color"], workdir, env, 300)
        if proc.returncode != 0:
            _fail("apply", proc)

        proc = _terraform(["plan", "-detailed-exitcode", "-input=false", "-no-color"], workdir, env, 120)
        if proc.returncode != 0:
            _fail("plan (expected no changes)", proc)
    finally:
        destroy = _terraform(["destroy", "-auto-approve", "-input=false", "-no-color"], workdir, env, 300)
    if destroy.returncode != 0:
        _fail("destroy", destroy)
    state = json.loads((workdir / "terraform.tfstate").read_text())
    assert state.get("resources", []) == [], "destroy left resources in the state"
    elapsed = time.monotonic() - started
    print(f"terraform init/apply/plan/destroy took {elapsed:.0f}s")
