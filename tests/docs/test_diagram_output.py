"""`cicd.docs.diagram`'s output around the flowchart: the same text for the same JSON, the overview tables,
the README section it keeps up to date, and the `python -m cicd.docs.diagram` command line.

Expectations are read from the synthesized JSON independently of `cicd.docs.diagram` (diagram_testkit).
Fixtures: conftest.py.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from diagram_testkit import REGIONS, REPO, load_model, pipeline_body, reference

from cicd.docs import diagram, pipeline_model

DEPLOYMENT_ID = "20261127T102500Z"
OTHER_DEPLOYMENT_ID = "20261128T093000Z"
UPDATE = "run nox -s diagram -- --update-readme"


# --- determinism ------------------------------------------------------------------------------------

def test_same_json_same_text(synth_out: Path, region: str) -> None:
    first = diagram.document(load_model(synth_out, region))
    assert first == diagram.document(load_model(synth_out, region))
    assert DEPLOYMENT_ID not in first


def test_deployment_id_and_asset_hash_do_not_change_the_output(synth_out: Path, tmp_path: Path, docs,
                                                               region: str) -> None:
    doc = docs[region]
    assert doc["output"]["deployment_id"]["value"] == DEPLOYMENT_ID
    # the hook and the probe run one package
    (asset_hash,) = {f["source_code_hash"] for f in doc["resource"]["aws_lambda_function"].values()}
    text = (synth_out / "stacks" / region / "cdk.tf.json").read_text()
    assert text.count(DEPLOYMENT_ID) > 1  # the output and the task definitions' tags
    other = text.replace(DEPLOYMENT_ID, OTHER_DEPLOYMENT_ID).replace(asset_hash, "0" * len(asset_hash))
    target = tmp_path / "out" / "stacks" / region / "cdk.tf.json"
    target.parent.mkdir(parents=True)
    target.write_text(other)
    again = pipeline_model.pipeline(pipeline_model.load(tmp_path / "out", region))
    assert diagram.document(again) == diagram.document(load_model(synth_out, region))


# --- the overview -----------------------------------------------------------------------------------

def test_overview_tables(synth_out: Path, docs, region: str) -> None:
    doc = docs[region]
    text = diagram.overview(load_model(synth_out, region))
    for rtype, items in doc["resource"].items():
        assert f"| `{rtype}` | {len(items)} |" in text
    for stage in pipeline_body(doc)["stage"]:
        (role,) = {a["role_arn"] for a in stage["action"]}
        name = reference(doc, role, "aws_iam_role")[0]["name"]
        assert re.search(rf"^\| {stage['name']} \| .* \| `{re.escape(name)}` \|$", text, re.M), stage["name"]
    endpoints = doc["output"]["service_endpoints"]["value"]
    albs = {k: v["name"] for k, v in doc["resource"]["aws_lb"].items()}
    for key, url in endpoints.items():
        stage, service = key.split("/")
        alb = re.search(r"\$\{aws_lb\.([^.]+)\.dns_name\}", url).group(1)
        shown = url.replace("${aws_lb.%s.dns_name}" % alb, f"<{albs[alb]} DNS>")
        (taskdef,) = [t for t in doc["resource"]["aws_ecs_task_definition"].values()
                      if t["family"].endswith(f"-{stage}-{service}")]
        row = f"| {service} | {stage.capitalize()} | {taskdef['cpu']} | {taskdef['memory']} | "
        assert any(line.startswith(row) and line.endswith(f"| `{shown}` |") for line in text.splitlines()), row
    if region == "us-east-1":
        assert "`http://<shop-stg-use1 DNS>/api-service/`" in text


# --- the README -------------------------------------------------------------------------------------

def test_readme_diagram_matches_the_current_code(synth_out: Path) -> None:
    generated = diagram.section(load_model(synth_out, diagram.README_REGION)).strip("\n")
    assert diagram.readme_section(REPO / "README.md") == generated, \
        f"README diagram is out of date: {UPDATE}"


def test_update_and_check_readme(synth_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n\n{diagram.START}\nold text\n{diagram.END}\n\nafter\n")
    assert diagram.main(["--out", str(synth_out), "--check-readme"], readme=readme) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"README diagram is out of date: {UPDATE}"
    assert diagram.main(["--out", str(synth_out), "--update-readme"], readme=readme) == 0
    text = readme.read_text()
    assert text.startswith(f"# title\n\nbefore\n\n{diagram.START}\n```mermaid\nflowchart TB\n")
    assert text.endswith(f"</details>\n{diagram.END}\n\nafter\n")
    assert diagram.main(["--out", str(synth_out), "--check-readme"], readme=readme) == 0
    assert diagram.main(["--out", str(synth_out), "--update-readme"], readme=readme) == 0
    assert readme.read_text() == text  # idempotent
    readme.write_text(text.replace("flowchart TB", "flowchart LR"))
    assert diagram.main(["--out", str(synth_out), "--check-readme"], readme=readme) == 1


def test_readme_without_markers_is_a_one_line_error(synth_out: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(diagram.UserError, match="needs exactly one"):
        diagram.main(["--out", str(synth_out), "--update-readme"], readme=readme)


# --- the CLI ----------------------------------------------------------------------------------------

def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cicd.docs.diagram", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_missing_synth_output_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _run("--out", str(tmp_path / "nothing"))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nox -s synth" in lines[0], result.stderr


def test_unknown_region_is_rejected(synth_out: Path) -> None:
    result = _run("--out", str(synth_out), "--region", "eu-north-9")
    assert result.returncode == 2 and "allowed: us-east-1, us-west-2" in result.stderr


def test_prints_every_region_and_never_imports_cdktf(synth_out: Path) -> None:
    probe = ("import runpy, sys\n"
             "sys.argv = ['cicd.docs.diagram', '--out', sys.argv[1]]\n"
             "try:\n    runpy.run_module('cicd.docs.diagram', run_name='__main__')\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('cdktf', 'jsii', 'constructs', 'cdktf_cdktf_provider_aws', 'stack'))\n"
             "print('IMPORTED', heavy)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(synth_out)], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("IMPORTED []"), result.stdout[-500:]
    for region in REGIONS:
        assert f"## {region}\n\n```mermaid\nflowchart TB\n" in result.stdout


def test_write_folder(synth_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "diagrams"
    assert diagram.main(["--out", str(synth_out), "--write", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{r}.md" for r in REGIONS)
    for region in REGIONS:
        assert (folder / f"{region}.md").read_text() == diagram.document(load_model(synth_out, region))
    assert "```mermaid" not in capsys.readouterr().out  # written, not printed


def test_reads_only_the_json(synth_out: Path, tmp_path: Path) -> None:
    """A copy of just the cdk.tf.json files is enough (no assets, no fingerprint, no manifest)."""
    copy = tmp_path / "out"
    for region in REGIONS:
        (copy / "stacks" / region).mkdir(parents=True)
        shutil.copy2(synth_out / "stacks" / region / "cdk.tf.json", copy / "stacks" / region / "cdk.tf.json")
        assert diagram.document(pipeline_model.pipeline(pipeline_model.load(copy, region))) == \
            diagram.document(load_model(synth_out, region))
