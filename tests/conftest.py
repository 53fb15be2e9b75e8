"""Shared pytest setup. Keep each section small and say who uses it."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

# --- general ---------------------------------------------------------------------------------
# Make the repository importable (`cicd`, `stack`) however pytest is started.
REPO_ROOT = Path(__file__).resolve().parent.parent
for _path in (REPO_ROOT, REPO_ROOT / "tests"):  # `cicd`, `stack`; the shared test modules below
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))



def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: deploys into the local emulator with the real terraform (minutes each): `nox -s e2e`, "
                   "not `nox -s tests`")


# The run's synthesized stacks (each input once, shared by every xdist worker): tests/synth_fixtures.py;
# one `terraform validate` of all of them: tests/terraform_validation.py; how xdist groups tests into units of
# work: tests/work_units.py.
pytest_plugins = ["synth_fixtures", "terraform_validation", "work_units"]


# --- workspace foundation: .env config, templates, preview -----------------------------------
# Used by tests/workspace/test_config.py, test_config_messages.py, test_config_source.py and
# tests/docs/test_preview.py.

@pytest.fixture
def env_dir(tmp_path: Path) -> Callable[..., Path]:
    """Build an environments/ folder in tmp_path from the real .env files, with edits.

    env_dir(region="us-east-1", changes={"KEY": "value"}, drop=("KEY",), append=("RAW LINE",))
    copies environments/<region>/.env, replaces (or adds) the `KEY=` lines in `changes`, removes the
    keys in `drop`, appends raw lines, and returns the environments folder to pass to
    `load_region(region, environments_dir=...)`. Call it again for another region.
    """
    root = tmp_path / "environments"

    def make(region: str = "us-east-1", changes: Optional[Dict[str, str]] = None, drop=(), append=(),
             source_region: Optional[str] = None) -> Path:
        source = REPO_ROOT / "environments" / (source_region or region) / ".env"
        lines = source.read_text().splitlines()
        edits = dict(changes or {})
        out = []
        for line in lines:
            key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
            if key in drop:
                continue
            if key in edits:
                out.append(f"{key}={edits.pop(key)}")
                continue
            out.append(line)
        out.extend(f"{k}={v}" for k, v in edits.items())
        out.extend(append)
        target = root / region / ".env"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(out) + "\n")
        return root

    return make


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the folders the preview needs (cicd/, templates/, environments/) to break freely
    and run `python -m cicd.docs.preview` in with cwd set to it."""
    target = tmp_path / "repo"
    for name in ("cicd", "templates", "environments"):
        shutil.copytree(REPO_ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


# --- end-to-end CLI runs ---------------------------------------------------------------------
# Used by tests/emulator/test_emulator_killed.py, test_deployed_region.py and tests/deploy/test_state_lock_emulator.py.

@pytest.fixture(scope="session")
def cli_synth_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CDKTF_OUTDIR for the end-to-end CLI runs: a region one of them synthesized is reused by the
    next when its inputs are the same (cicd.deploy.synth's fingerprint), instead of paying jsii again."""
    return tmp_path_factory.mktemp("cli-synth") / "out"


@pytest.fixture(scope="session")
def cli_env(cli_synth_out: Path) -> Callable[[Path], Dict[str, str]]:
    """cli_env(work): the environment of a CLI run in a test, with the run's synth cache and `work` as its
    own work folder (CICD_WORK_DIR)."""
    def make(work: Path) -> Dict[str, str]:
        return {**os.environ, "CDKTF_OUTDIR": str(cli_synth_out), "CICD_WORK_DIR": str(work),
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    return make
