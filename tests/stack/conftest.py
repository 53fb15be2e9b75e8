"""Fixtures for the CDKTF stack tests: one synth of every region per session, read as JSON.

`synthesized` builds one `App` with a `PipelineStack` per region (cicd.workspace.config.load_all()) and the
fixed DEPLOYMENT_ID, synthesizes it once into a temporary folder and keeps each region's parsed
cdk.tf.json. `stack` parametrizes a test over the regions. `resynthesized` is the one extra synth
(the primary region only, another deployment id) the determinism test compares against. Both
synths package the same snapshot of the health Lambda's sources (`lambda_snapshot`), so a
concurrent edit of lambda/ cannot make them differ.

Logical ids are hashed, so tests never name them: they find resources by their properties and
follow Terraform references (`${aws_x.name.attr}`) with the helpers on `Synth`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from json_walk import walk  # noqa: E402  (tests/stack is on sys.path, like conftest)

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
# jsii prints a Node end-of-life banner on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cicd.workspace.config import RegionConfig, load_all  # noqa: E402

DEPLOYMENT_ID = "20261127T102500Z"
OTHER_DEPLOYMENT_ID = "20261128T093000Z"

CONFIGS: Tuple[RegionConfig, ...] = load_all()  # cheap (no jsii): decides the parametrization
REGIONS: Tuple[str, ...] = tuple(c.region for c in CONFIGS)

# ${aws_type.name.attr} or ${data.aws_type.name.attr}; attr may continue (e.g. `.0.id`), kept whole.
_REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.\[\]]+)\}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "terraform: runs the terraform CLI (init -backend=false, validate) on the synthesized output")


@dataclass(frozen=True)
class Ref:
    kind: str  # "resource" or "data"
    type: str
    name: str
    attr: str


def parse_ref(value: Any) -> Optional[Ref]:
    """The reference `value` is, if it is exactly one `${...}` reference (else None)."""
    if not isinstance(value, str):
        return None
    match = _REF.fullmatch(value)
    if not match:
        return None
    data, rtype, name, attr = match.groups()
    return Ref("data" if data else "resource", rtype, name, attr)


class Synth:
    """One region's synthesized configuration with lookups that follow Terraform references."""

    def __init__(self, cfg: RegionConfig, directory: Path, doc: Dict[str, Any]):
        self.cfg = cfg
        self.region = cfg.region
        self.directory = directory
        self.doc = doc
        self.text = (directory / "cdk.tf.json").read_text()

    # --- lookups ------------------------------------------------------------------------------
    def resources(self, rtype: str) -> Dict[str, Dict[str, Any]]:
        """Every resource of a type: logical id -> body."""
        return self.doc.get("resource", {}).get(rtype, {})

    def bodies(self, rtype: str) -> List[Dict[str, Any]]:
        return list(self.resources(rtype).values())

    def one(self, rtype: str) -> Tuple[str, Dict[str, Any]]:
        items = self.resources(rtype)
        assert len(items) == 1, f"{self.region}: expected exactly one {rtype}, found {len(items)}"
        return next(iter(items.items()))

    def by(self, rtype: str, **literal: Any) -> List[Tuple[str, Dict[str, Any]]]:
        """Resources of a type whose attributes equal the given literal values."""
        return [(name, body) for name, body in self.resources(rtype).items()
                if all(body.get(k) == v for k, v in literal.items())]

    def the(self, rtype: str, **literal: Any) -> Tuple[str, Dict[str, Any]]:
        found = self.by(rtype, **literal)
        assert len(found) == 1, f"{self.region}: expected one {rtype} with {literal}, found {len(found)}"
        return found[0]

    # --- references ---------------------------------------------------------------------------
    def ref(self, value: Any, rtype: Optional[str] = None, attr: Optional[str] = None) -> Tuple[str, Dict[str, Any]]:
        """(logical id, body) of the resource `value` references; asserts its type and attribute."""
        ref = parse_ref(value)
        assert ref is not None and ref.kind == "resource", f"{self.region}: {value!r} is not a resource reference"
        if rtype is not None:
            assert ref.type == rtype, f"{self.region}: {value!r} references a {ref.type}, expected {rtype}"
        if attr is not None:
            assert ref.attr == attr, f"{self.region}: {value!r} references .{ref.attr}, expected .{attr}"
        body = self.resources(ref.type).get(ref.name)
        assert body is not None, f"{self.region}: {value!r} references a resource that is not in the stack"
        return ref.name, body

    def is_ref(self, value: Any, rtype: str, attr: Optional[str] = None) -> bool:
        ref = parse_ref(value)
        return (ref is not None and ref.kind == "resource" and ref.type == rtype
                and (attr is None or ref.attr == attr) and ref.name in self.resources(rtype))

    def refers_to(self, value: Any, rtype: str, name: str) -> bool:
        """Whether `value` is a reference (any attribute) to resource `rtype.name`."""
        ref = parse_ref(value)
        return ref is not None and ref.kind == "resource" and ref.type == rtype and ref.name == name

    def literal(self, value: Any) -> Any:
        """A reference to a literal attribute of a resource (e.g. its `name`) resolved; else `value`."""
        ref = parse_ref(value)
        if ref is None or ref.kind != "resource":
            return value
        body = self.resources(ref.type).get(ref.name, {})
        resolved = body.get(ref.attr)
        if isinstance(resolved, (str, int, float, bool)) and not (isinstance(resolved, str) and "${" in resolved):
            return resolved
        return value

    def expand(self, text: str) -> str:
        """Every reference inside `text` to a literal attribute replaced by its value."""
        return _REF.sub(lambda m: str(self.literal(m.group(0))), text)

    def account_token(self) -> str:
        """How the caller's account id appears in the configuration (a data source reference)."""
        sources = self.doc.get("data", {}).get("aws_caller_identity", {})
        assert len(sources) == 1, f"{self.region}: expected one aws_caller_identity data source"
        return "${data.aws_caller_identity.%s.account_id}" % next(iter(sources))

    def is_kms_key(self, value: Any) -> bool:
        return self.is_ref(value, "aws_kms_key", "arn")

    def targeting(self, rtype: str, attr: str, target_type: str, target_name: str) -> List[Tuple[str, Dict[str, Any]]]:
        """Resources of `rtype` whose `attr` references resource `target_type.target_name`."""
        return [(n, b) for n, b in self.resources(rtype).items() if self.refers_to(b.get(attr), target_type, target_name)]

    def __repr__(self) -> str:  # readable parametrized failure output
        return f"Synth({self.region})"


def _synth_app(outdir: Path, configs, deployment_id: str) -> Dict[str, Synth]:
    from cdktf import App

    from stack.pipeline_stack import PipelineStack

    app = App(outdir=str(outdir))
    for cfg in configs:
        PipelineStack(app, cfg.region, cfg=cfg, deployment_id=deployment_id)
    app.synth()
    result = {}
    for cfg in configs:
        directory = outdir / "stacks" / cfg.region
        result[cfg.region] = Synth(cfg, directory, json.loads((directory / "cdk.tf.json").read_text()))
    return result


@pytest.fixture(scope="session")
def lambda_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The health Lambda's sources as they were when the session started, used by every synth.

    The Lambda is edited concurrently with the stack; both synths of a session must package the
    same code, or the determinism test would compare two different inputs.
    """
    import stack.health_lambda as health_lambda

    snapshot = tmp_path_factory.mktemp("lambda-src") / "health_check"
    snapshot.mkdir()
    for source in sorted(health_lambda.SOURCE_DIR.glob("*.py")):
        shutil.copy2(source, snapshot / source.name)
    patch = pytest.MonkeyPatch()
    patch.setattr(health_lambda, "SOURCE_DIR", snapshot)
    yield snapshot
    patch.undo()


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, lambda_snapshot: Path) -> Dict[str, Synth]:
    """Every region, synthesized once per session with DEPLOYMENT_ID: region -> Synth."""
    return _synth_app(tmp_path_factory.mktemp("cdktf") / "out", CONFIGS, DEPLOYMENT_ID)


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
    import subprocess

    primary = CONFIGS[0]
    outdir = tmp_path_factory.mktemp("cdktf-again") / "out"
    done = subprocess.run([sys.executable, "-c", _EAGER_SYNTH, str(REPO_ROOT), str(lambda_snapshot), str(outdir),
                           OTHER_DEPLOYMENT_ID], capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    directory = outdir / "stacks" / primary.region
    again = Synth(primary, directory, json.loads((directory / "cdk.tf.json").read_text()))
    again.loading = json.loads(done.stdout.strip().splitlines()[-1])
    return again


@pytest.fixture(params=REGIONS)
def stack(request: pytest.FixtureRequest, synthesized: Dict[str, Synth]) -> Synth:
    """One region's synthesized stack; tests using it run once per region."""
    return synthesized[request.param]


@pytest.fixture
def cfg(stack: Synth) -> RegionConfig:
    return stack.cfg


@pytest.fixture(scope="session")
def deployment_id() -> str:
    return DEPLOYMENT_ID


@pytest.fixture(scope="session")
def other_deployment_id() -> str:
    return OTHER_DEPLOYMENT_ID


@pytest.fixture(scope="session")
def helpers():
    """Module-level helpers for tests (test modules cannot import conftest reliably)."""
    class _Helpers:
        parse_ref = staticmethod(parse_ref)
        walk = staticmethod(walk)
    return _Helpers
