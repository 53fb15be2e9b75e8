"""Synthesized stacks for the whole test run: each input synthesized once, shared by every xdist worker.

A synth costs jsii several seconds of CPU, so each input is synthesized once per run (`shared`: the first
worker to ask builds the folder under a file lock, the others wait and read it):

- `synthesized`: both regions of the committed environments with the fixed DEPLOYMENT_ID;
- `git_host_synth`: both regions with SOURCE_PROVIDER=github (us-east-1 lets the stack create the
  connection, us-west-2 names an existing one), used by the stack and the emulator tests of that variant;
- `with_certificate`: the primary region with CERTIFICATE_ARN set (HTTPS listeners);
- `resynthesized`: the primary region again with OTHER_DEPLOYMENT_ID, in a fresh interpreter that imports
  the AWS provider package eagerly, for the determinism and provider-loading tests.

Every synth packages the same snapshot of the health Lambda's sources (`lambda_snapshot`), so a
concurrent edit of lambda/ cannot make two synths of one run differ. Loaded by tests/conftest.py.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, Tuple

import pytest
from synth_model import Synth

from cicd.workspace.config import RegionConfig, load_all

REPO_ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT_ID = "20261127T102500Z"
OTHER_DEPLOYMENT_ID = "20261128T093000Z"
CONFIGS: Tuple[RegionConfig, ...] = load_all()  # cheap (no jsii): decides the parametrization
REGIONS: Tuple[str, ...] = tuple(c.region for c in CONFIGS)
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
WEST_CONNECTION = "arn:aws:codestar-connections:us-west-2:123456789012:connection/0f9e8d7c-6b5a-4c3d-9e1f-2a3b4c5d6e7f"
GIT_HOST: Dict[str, Dict[str, str]] = {
    "us-east-1": {"SOURCE_PROVIDER": "github", "SOURCE_REPOSITORY": "my-org/microservices",
                  "SOURCE_CONNECTION_ARN": "", "SOURCE_MIRROR_REGIONS": ""},
    "us-west-2": {"SOURCE_PROVIDER": "github", "SOURCE_REPOSITORY": "my-org/microservices",
                  "SOURCE_CONNECTION_ARN": WEST_CONNECTION},
}
# jsii prints a Node end-of-life banner on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def shared(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `name`, built by `build(folder)` once per test run, whichever worker asks first.

    Under pytest-xdist every worker's basetemp lives in one folder of the run: the shared folders go
    there, each guarded by a lock file; a build that failed leaves no `.complete` marker and is redone."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / f"shared-{name}"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".complete").touch()
    return folder


def write_environments(root: Path, changes: Dict[str, Dict[str, str]]) -> Path:
    """A copy of environments/ with `KEY=value` lines replaced or added per region."""
    for region, edits in changes.items():
        lines = (REPO_ROOT / "environments" / region / ".env").read_text().splitlines()
        kept = [line for line in lines if line.split("=", 1)[0] not in edits]
        target = root / region / ".env"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(kept + [f"{k}={v}" for k, v in edits.items()]) + "\n")
    return root


def synth_app(outdir: Path, configs: Iterable[RegionConfig], deployment_id: str) -> Dict[str, Synth]:
    """Synthesize `configs` in this process into `outdir`: region -> Synth."""
    from cdktf import App

    from stack.pipeline_stack import PipelineStack

    configs = tuple(configs)
    app = App(outdir=str(outdir))
    for cfg in configs:
        PipelineStack(app, cfg.region, cfg=cfg, deployment_id=deployment_id)
    app.synth()
    return read_synth(outdir, configs)


def read_synth(outdir: Path, configs: Iterable[RegionConfig]) -> Dict[str, Synth]:
    result = {}
    for cfg in configs:
        directory = outdir / "stacks" / cfg.region
        result[cfg.region] = Synth(cfg, directory, json.loads((directory / "cdk.tf.json").read_text()))
    return result


@pytest.fixture(scope="session")
def lambda_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The health Lambda's sources as they were when the run started, packaged by every synth."""
    import stack.health_lambda as health_lambda

    def copy(folder: Path) -> None:
        for source in sorted(health_lambda.SOURCE_DIR.glob("*.py")):
            shutil.copy2(source, folder / source.name)

    snapshot = shared(tmp_path_factory, "lambda-src", copy)
    patch = pytest.MonkeyPatch()
    patch.setattr(health_lambda, "SOURCE_DIR", snapshot)
    yield snapshot
    patch.undo()


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, lambda_snapshot: Path) -> Dict[str, Synth]:
    """Every region, synthesized once per run with DEPLOYMENT_ID: region -> Synth."""
    folder = shared(tmp_path_factory, "synth", lambda f: synth_app(f / "out", CONFIGS, DEPLOYMENT_ID))
    return read_synth(folder / "out", CONFIGS)


@pytest.fixture(scope="session")
def git_host_synth(tmp_path_factory: pytest.TempPathFactory, lambda_snapshot: Path) -> Dict[str, Synth]:
    """Both regions of the Git-host variant, synthesized once per run: region -> Synth (`.cfg` is the
    variant's config; the synth output folder is `directory.parent.parent`)."""
    def build(folder: Path) -> None:
        synth_app(folder / "out", load_all(write_environments(folder / "environments", GIT_HOST)), DEPLOYMENT_ID)

    folder = shared(tmp_path_factory, "git-host", build)
    return read_synth(folder / "out", load_all(folder / "environments"))


@pytest.fixture(scope="session")
def with_certificate(tmp_path_factory: pytest.TempPathFactory, lambda_snapshot: Path) -> Synth:
    """The primary region with CERTIFICATE_ARN set (HTTPS listeners), synthesized once per run."""
    primary = dataclasses.replace(CONFIGS[0], certificate_arn=CERTIFICATE_ARN)
    folder = shared(tmp_path_factory, "certificate", lambda f: synth_app(f / "out", [primary], DEPLOYMENT_ID))
    return read_synth(folder / "out", [primary])[primary.region]


# The extra synth runs in a fresh interpreter that imports the AWS provider package the usual way
# (its __init__ loads every resource module) before the stack: the determinism test then also proves
# that loading only the modules the stack uses (stack.load_provider_modules_on_demand) changes nothing.
_EAGER_SYNTH = """
import json, sys
from pathlib import Path
repo, snapshot, outdir, deployment_id = sys.argv[1:5]
sys.path.insert(0, repo)
import cdktf_cdktf_provider_aws  # noqa: F401  the package's own __init__: every resource module
import stack
import stack.health_lambda as health_lambda
from cdktf import App
from cicd.workspace.config import load_all
from stack.pipeline_stack import PipelineStack
health_lambda.SOURCE_DIR = Path(snapshot)
primary = load_all()[0]
app = App(outdir=outdir)
PipelineStack(app, primary.region, cfg=primary, deployment_id=deployment_id)
app.synth()
print(json.dumps({"lazy": stack.load_provider_modules_on_demand(),
                  "modules": sum(m.startswith(stack.PROVIDER_PACKAGE + ".") for m in sys.modules)}))
"""


@pytest.fixture(scope="session")
def resynthesized(tmp_path_factory: pytest.TempPathFactory, synthesized: Dict[str, Synth],
                  lambda_snapshot: Path) -> Synth:
    """The single extra synth: the primary region again, with OTHER_DEPLOYMENT_ID, in a fresh interpreter
    with the provider package imported eagerly. `.loading` tells how that interpreter loaded it."""
    primary = CONFIGS[0]

    def build(folder: Path) -> None:
        done = subprocess.run([sys.executable, "-c", _EAGER_SYNTH, str(REPO_ROOT), str(lambda_snapshot),
                               str(folder / "out"), OTHER_DEPLOYMENT_ID], capture_output=True, text=True, timeout=600,
                              cwd=REPO_ROOT)
        assert done.returncode == 0, done.stderr[-3000:]
        (folder / "loading.json").write_text(done.stdout.strip().splitlines()[-1])

    folder = shared(tmp_path_factory, "resynth", build)
    directory = folder / "out" / "stacks" / primary.region
    again = Synth(primary, directory, json.loads((directory / "cdk.tf.json").read_text()))
    again.loading = json.loads((folder / "loading.json").read_text())
    return again


@pytest.fixture(scope="session")
def deployment_id() -> str:
    return DEPLOYMENT_ID


@pytest.fixture(scope="session")
def other_deployment_id() -> str:
    return OTHER_DEPLOYMENT_ID
