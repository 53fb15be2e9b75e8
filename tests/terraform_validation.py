"""One `terraform validate` of every synthesized variant of the run, shared by the xdist workers.

Each variant (both regions, the Git-host variant's two regions, the primary with a certificate) becomes a
child module of one root, so the provider's schema (the larger part of a validate's ~5 s of CPU) is
loaded once instead of five times. Terraform validates a child module as it does a root, but for its
backend block, which it ignores with a warning (`terraform validate` does not check a backend either).

A canary module, the primary region with one planted type error, rides along: the validate must report
that error, in the canary's file only, which shows that an error in one module is found and attributed
to it while the others are validated beside it. Loaded by tests/conftest.py.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import pytest
from synth_fixtures import shared
from synth_model import Synth

CANARY = "canary"
CANARY_TOPIC_NAME = ["a list", "where a string belongs"]


@dataclass(frozen=True)
class Validation:
    modules: List[str]  # the child modules `terraform init` installed
    report: Dict[str, Any]  # `terraform validate -json`

    def errors(self, module: str) -> List[Dict[str, Any]]:
        """Error diagnostics in `module`'s files, and those that name no file (they concern every module)."""
        assert module in self.modules, f"{module} was not validated: {self.modules}"
        return [d for d in self.report.get("diagnostics", []) if d.get("severity") == "error"
                and d.get("range", {}).get("filename", f"{module}/").startswith(f"{module}/")]


def _terraform(args: List[str], cwd: Path) -> subprocess.CompletedProcess:
    assert shutil.which("terraform"), "terraform is not on PATH; the stack tests need it (see README)"
    env = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
    return subprocess.run(["terraform", *args, "-no-color"], cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=600)


def _plant_canary(directory: Path) -> None:
    path = directory / "cdk.tf.json"
    doc = json.loads(path.read_text())
    topic = next(iter(doc["resource"]["aws_sns_topic"].values()))
    topic["name"] = copy.deepcopy(CANARY_TOPIC_NAME)
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="session")
def validation(tmp_path_factory: pytest.TempPathFactory, synthesized: Dict[str, Synth],
               git_host_synth: Dict[str, Synth], with_certificate: Synth) -> Validation:
    variants = {**{region: s.directory for region, s in synthesized.items()},
                **{f"git-host-{region}": s.directory for region, s in git_host_synth.items()},
                f"certificate-{with_certificate.region}": with_certificate.directory,
                CANARY: next(iter(synthesized.values())).directory}

    def build(folder: Path) -> None:
        for module, directory in variants.items():
            shutil.copytree(directory, folder / module)  # .terraform/ and the lock file stay out of the synths
        _plant_canary(folder / CANARY)
        (folder / "main.tf.json").write_text(json.dumps({"module": {m: {"source": f"./{m}"} for m in variants}}))
        init = _terraform(["init", "-backend=false", "-input=false"], folder)
        assert init.returncode == 0, f"terraform init failed:\n{init.stdout}\n{init.stderr}"
        (folder / "init.txt").write_text(init.stdout)
        validate = _terraform(["validate", "-json"], folder)
        json.loads(validate.stdout)  # a report, whatever it says
        (folder / "validate.json").write_text(validate.stdout)

    folder = shared(tmp_path_factory, "validate", build)
    installed = [line[2:].split(" in ")[0] for line in (folder / "init.txt").read_text().splitlines()
                 if line.startswith("- ") and " in " in line]
    return Validation(installed, json.loads((folder / "validate.json").read_text()))
