"""The no-op synth: any input that feeds the synthesized JSON invalidates the reuse; nothing else does.

These tests use `cicd.synth.fingerprint` on a copy of the inputs, so they need no jsii; the reuse
path itself (`main` with a stored fingerprint) is checked in-process without cdktf being imported.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cicd import synth

REPO = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in ("environments", "templates", "stack", "cicd", "lambda"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("requirements.txt", "cdktf.json"):
        shutil.copy2(REPO / name, root / name)
    return root


def _print(root: Path, **kw) -> str:
    return synth.fingerprint(REGION, kw.get("promoted", False), kw.get("environ", {}), root=root)


@pytest.mark.parametrize("relative", [
    "environments/us-east-1/.env",
    "templates/buildspecs/build.yml.j2",
    "templates/taskdefs/taskdef.json.j2",
    "stack/network.py",
    "cicd/render.py",
    "lambda/health_check/handler.py",
    "requirements.txt",
    "cdktf.json",
])
def test_each_input_kind_invalidates(tree: Path, relative: str) -> None:
    before = _print(tree)
    path = tree / relative
    path.write_text(path.read_text() + "\n# changed\n")
    assert _print(tree) != before, f"a change to {relative} must invalidate the reused output"


def test_a_new_input_file_invalidates(tree: Path) -> None:
    before = _print(tree)
    (tree / "stack" / "extra.py").write_text("X = 1\n")
    assert _print(tree) != before


def test_promotion_and_deployment_id_override_invalidate(tree: Path) -> None:
    base = _print(tree)
    assert _print(tree, promoted=True) != base
    assert _print(tree, environ={"DEPLOYMENT_ID": "20261127T102500Z"}) != base
    assert _print(tree, environ={"DEPLOYMENT_ID": "20261127T102501Z"}) != \
        _print(tree, environ={"DEPLOYMENT_ID": "20261127T102500Z"})


def test_unrelated_files_and_caches_do_not_invalidate(tree: Path) -> None:
    before = _print(tree)
    (tree / "README.md").write_text("docs\n")
    (tree / "tests").mkdir()
    (tree / "tests" / "test_x.py").write_text("def test(): pass\n")
    cache = tree / "stack" / "__pycache__"
    cache.mkdir()
    (cache / "network.cpython-311.pyc").write_bytes(b"\0")
    assert _print(tree) == before


def test_regions_have_distinct_fingerprints(tree: Path) -> None:
    assert synth.fingerprint("us-east-1", False, {}, root=tree) != synth.fingerprint("us-west-2", False, {}, root=tree)


def test_unchanged_inputs_reuse_output_without_importing_cdktf(tmp_path: Path) -> None:
    """The reuse path answers from the stored fingerprints and never starts jsii."""
    out = tmp_path / "out"
    for region in ("us-east-1", "us-west-2"):
        (out / "stacks" / region).mkdir(parents=True)
        (out / "stacks" / region / synth.FINGERPRINT_FILE).write_text(synth.fingerprint(region, False, {}) + "\n")
    code = ("import sys, cicd.synth as s; s.main(['--out', sys.argv[1]]); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('cdktf', 'jsii', 'constructs')]; "
            "print('IMPORTED', bad)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", code, str(out)], cwd=REPO, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("inputs unchanged, reusing") == 2
    assert "IMPORTED []" in result.stdout


def test_changed_input_is_not_reused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "stacks" / REGION).mkdir(parents=True)
    (out / "stacks" / REGION / synth.FINGERPRINT_FILE).write_text("0" * 64 + "\n")
    stale = [r for r in [REGION] if synth._stored(out, r) != synth.fingerprint(r, False, {})]
    assert stale == [REGION]
