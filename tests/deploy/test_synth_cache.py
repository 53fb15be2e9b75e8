"""The no-op synth: any input that feeds the synthesized JSON invalidates the reuse; nothing else does.

The fingerprint tests hash a copy of the inputs. The decision tests drive the real `cicd.deploy.synth.main`
on that copy (its ROOT pointed at the copy) with only the jsii synthesis replaced by a recorder, so
they see exactly which regions the CLI would synthesize again and which it would reuse; one test runs
the CLI as a process in the copy. None of them starts jsii.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Sequence, Tuple

import pytest

from cicd.deploy import synth
from cicd.workspace.errors import UserError

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
REGIONS = ["us-east-1", "us-west-2"]
# One file of every kind of input that feeds the synthesized JSON.
INPUT_KINDS = [
    "environments/us-east-1/.env",
    "environments/us-west-2/.env",
    "templates/buildspecs/build.yml.j2",
    "templates/taskdefs/taskdef.json.j2",
    "stack/network.py",
    "cicd/workspace/render.py",
    "cicd/workspace/config.py",
    "lambda/health_check/handler.py",
    "requirements.txt",
    "cdktf.json",
]


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


@pytest.mark.parametrize("relative", INPUT_KINDS)
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
    code = ("import sys, cicd.deploy.synth as s; s.main(['--out', sys.argv[1]]); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('cdktf', 'jsii', 'constructs')]; "
            "print('IMPORTED', bad)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", code, str(out)], cwd=REPO, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("inputs unchanged, reusing") == 2
    assert "IMPORTED []" in result.stdout


Calls = List[Tuple[List[str], List[str]]]


@pytest.fixture
def synth_cli(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Calls]:
    """synth_cli(*args) runs `cicd.deploy.synth.main` on the copy `tree`; returns the (regions, promoted) it synthesized.

    Only `synthesize` (the jsii run) is replaced: it writes a marker per region, so reused output is visible.
    """
    monkeypatch.setattr(synth, "ROOT", tree)
    monkeypatch.delenv("DEPLOYMENT_ID", raising=False)
    calls: Calls = []

    def record(regions: Sequence[str], promote: Sequence[str], out: Path) -> None:
        calls.append((list(regions), list(promote)))
        for region in regions:
            (out / "stacks" / region).mkdir(parents=True, exist_ok=True)
            (out / "stacks" / region / "cdk.tf.json").write_text(f"run {len(calls)}\n")

    monkeypatch.setattr(synth, "synthesize", record)
    out = tmp_path / "out"

    def run(*args: str) -> Calls:
        calls.clear()
        assert synth.main(["--out", str(out), *args]) == 0
        return list(calls)

    run.out = out  # type: ignore[attr-defined]
    return run


def test_first_run_synthesizes_and_stores_then_unchanged_inputs_reuse(synth_cli, capsys) -> None:
    assert synth_cli() == [(REGIONS, [])]
    for region in REGIONS:
        stamp = synth_cli.out / "stacks" / region / synth.FINGERPRINT_FILE
        assert stamp.read_text().strip() == synth.fingerprint(region, False, {})
    capsys.readouterr()
    assert synth_cli() == []
    assert capsys.readouterr().out.count("inputs unchanged, reusing") == 2
    assert (synth_cli.out / "stacks" / REGION / "cdk.tf.json").read_text() == "run 1\n"


@pytest.mark.parametrize("relative", INPUT_KINDS)
def test_an_edited_input_of_each_kind_is_synthesized_again(synth_cli, tree: Path, relative: str) -> None:
    """The stale-output hole: after an edit, the CLI must not reuse what an earlier synth wrote."""
    synth_cli()
    path = tree / relative
    path.write_text(path.read_text() + "\n# changed\n")
    assert synth_cli() == [(REGIONS, [])], f"an edit of {relative} left stale output in place"
    assert synth_cli() == [], "the new fingerprint was not stored"


@pytest.mark.parametrize("change", ["added", "removed"])
def test_an_added_or_removed_input_file_is_synthesized_again(synth_cli, tree: Path, change: str) -> None:
    synth_cli()
    if change == "added":
        (tree / "stack" / "extra.py").write_text("X = 1\n")
    else:
        (tree / "templates" / "taskdefs" / "appspec.yaml.j2").unlink()
    assert synth_cli() == [(REGIONS, [])]


def test_edits_outside_the_inputs_reuse(synth_cli, tree: Path) -> None:
    synth_cli()
    (tree / "README.md").write_text("docs\n")
    (tree / "tests").mkdir()
    (tree / "tests" / "test_x.py").write_text("def test(): pass\n")
    assert synth_cli() == []


def test_a_region_without_its_own_stored_fingerprint_is_synthesized(synth_cli) -> None:
    """Another region's fingerprint, or a damaged one, never stands in for a region's own."""
    synth_cli()
    (synth_cli.out / "stacks" / "us-west-2" / synth.FINGERPRINT_FILE).unlink()
    assert synth_cli() == [(["us-west-2"], [])]
    (synth_cli.out / "stacks" / REGION / synth.FINGERPRINT_FILE).write_text("0" * 64 + "\n")
    assert synth_cli() == [([REGION], [])]


def test_promotion_deployment_id_and_force_synthesize_again(synth_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    synth_cli()
    assert synth_cli("--region", "us-west-2", "--promote", "us-west-2") == [(["us-west-2"], ["us-west-2"])]
    assert synth_cli("--region", "us-west-2", "--promote", "us-west-2") == []
    assert synth_cli() == [(["us-west-2"], [])], "output synthesized as primary was reused as DR"
    monkeypatch.setenv("DEPLOYMENT_ID", "20261127T102500Z")
    assert synth_cli("--region", REGION) == [([REGION], [])]
    assert synth_cli("--region", REGION) == []
    assert synth_cli("--region", REGION, "--force") == [([REGION], [])]


def test_unknown_region_is_a_one_line_error(synth_cli) -> None:
    with pytest.raises(UserError, match=r"--region/--promote eu-north-9: no environments/eu-north-9/.env; "
                                        r"allowed: us-east-1, us-west-2"):
        synth_cli("--promote", "eu-north-9")


def test_the_cli_process_synthesizes_after_an_env_edit(tree: Path, tmp_path: Path) -> None:
    """`python -m cicd.deploy.synth` itself, run in the copy: stored fingerprints, an edited .env, a new synth."""
    out = tmp_path / "out"
    for region in REGIONS:
        (out / "stacks" / region).mkdir(parents=True)
        (out / "stacks" / region / synth.FINGERPRINT_FILE).write_text(
            synth.fingerprint(region, False, {}, root=tree) + "\n")
    code = ("import sys, cicd.deploy.synth as s; "
            "s.synthesize = lambda regions, promote, out: print('JSII', list(regions)); "
            "sys.exit(s.main(['--out', sys.argv[1]]))")
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}

    def cli() -> str:
        result = subprocess.run([sys.executable, "-c", code, str(out)], cwd=tree, capture_output=True, text=True,
                                env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "JSII" not in cli()
    env_file = tree / "environments" / "us-west-2" / ".env"
    env_file.write_text(env_file.read_text() + "\n# changed\n")
    assert "JSII ['us-east-1', 'us-west-2']" in cli()


def test_what_the_cli_says(synth_cli, capsys) -> None:
    out = synth_cli.out
    synth_cli("--region", REGION)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        f"synthesizing {REGION} (starting jsii and the AWS provider bindings takes a few seconds) ...",
        f"{REGION}: synthesized into {out / 'stacks' / REGION}"]
    seconds = re.fullmatch(r"done in (\d+\.\d) s", lines[2])
    assert seconds and float(seconds.group(1)) < 60 and len(lines) == 3
    synth_cli()
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"{REGION}: inputs unchanged, reusing {out / 'stacks' / REGION} (--force to synthesize)",
        "synthesizing us-west-2 (starting jsii and the AWS provider bindings takes a few seconds) ..."]
    synth_cli("--force")
    assert capsys.readouterr().out.splitlines()[0] == (
        "synthesizing us-east-1, us-west-2 (starting jsii and the AWS provider bindings takes a few seconds) ...")


def test_the_output_folder_defaults_to_cdktf_outdir_then_the_workspace(tree: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth, "ROOT", tree)
    monkeypatch.delenv("DEPLOYMENT_ID", raising=False)
    written: List[Path] = []
    monkeypatch.setattr(synth, "synthesize", lambda regions, promote, out: written.append(out) or [
        (out / "stacks" / r).mkdir(parents=True, exist_ok=True) for r in regions])
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "elsewhere"))
    synth.main(["--region", REGION])
    monkeypatch.delenv("CDKTF_OUTDIR")
    synth.main(["--region", REGION])
    assert written == [tmp_path / "elsewhere", tree / "cdktf.out"]


def test_cli_help_documents_the_options(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        synth.main(["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith("usage: nox -s synth -- [-h] [--region REGION] [--promote PROMOTE] [--force] [--out OUT]")
    for fragment in (f"[--out OUT] {synth.__doc__.splitlines()[0]} ", "REGION only this region (repeatable) --promote",
                     "PROMOTE synthesize this region as primary (DR) --force",
                     "--force synthesize even when no input changed --out OUT"):
        assert fragment in text
    assert text.endswith("--out OUT")


def test_stale_regions_without_force_keeps_matching_output(tmp_path: Path) -> None:
    (tmp_path / "stacks" / REGION).mkdir(parents=True)
    (tmp_path / "stacks" / REGION / synth.FINGERPRINT_FILE).write_text("abc\n")
    assert synth.stale_regions([REGION, "us-west-2"], {REGION: "abc", "us-west-2": "abc"}, tmp_path) == ["us-west-2"]
    assert synth.stale_regions([REGION], {REGION: "abc"}, tmp_path, force=True) == [REGION]


def test_caches_among_the_templates_do_not_invalidate(tree: Path) -> None:
    before = _print(tree)
    (tree / "templates" / "__pycache__").mkdir()
    (tree / "templates" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert _print(tree) == before
