"""`python -m cicd.docs.preview`: renders, checks and tabulates every region x stage x service."""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cicd.docs import preview

from cicd.workspace import render, validate
from cicd.workspace.config import DEPLOY_STAGES, Stage, load_all
from cicd.workspace.errors import TemplateError, UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("us-east-1", "us-west-2")
STAGES = ("staging", "production")
SERVICES = ("api-service", "auth-service", "notification-service")
DEPLOYMENT_ID = "20261127T102500Z"


def run_main(args):
    """preview.main in-process with a fixed deployment id; returns stdout."""
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEPLOYMENT_ID", DEPLOYMENT_ID)
        with contextlib.redirect_stdout(buffer):
            assert preview.main(args) == 0
    return buffer.getvalue()


def table_rows(stdout):
    """(region, stage, service, cpu, memory, port, parameter path, image tag) of every table row."""
    lines = stdout.split("\n\n", 1)[0].splitlines()
    assert lines[0].split()[:3] == ["region", "stage", "service"] and set(lines[1]) <= {"-", " "}
    return [tuple(line.split()) for line in lines[2:]]


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("preview") / "out"
    return out, run_main(["--out", str(out)])


# --- a full run ------------------------------------------------------------------------------

def test_table_has_a_row_per_region_stage_service(full):
    _, stdout = full
    rows = table_rows(stdout)
    assert len(rows) == 12
    assert {r[:3] for r in rows} == set(itertools.product(REGIONS, STAGES, SERVICES))
    ports = {"api-service": "8080", "auth-service": "8081", "notification-service": "8082"}
    for region, stage, service, cpu, memory, port, path, tag in rows:
        assert (cpu, memory) == {"staging": ("256", "512"), "production": ("512", "1024")}[stage]
        assert port == ports[service]
        assert path == f"/pipeline/{stage}/{service}/"
        assert tag == f"{DEPLOYMENT_ID}-<commit>"


def test_renders_every_file_into_the_out_folder(full):
    out, stdout = full
    expected = {preview.MARKER}
    for region in REGIONS:
        expected |= {f"{region}/buildspecs/test.yml"} | {f"{region}/buildspecs/build-{s}.yml" for s in SERVICES}
        expected |= {f"{region}/{st}/{s}/{f}" for st in STAGES for s in SERVICES for f in ("taskdef.json", "appspec.yaml")}
    expected |= {"us-east-1/buildspecs/mirror.yml"}  # the primary mirrors its repository into us-west-2
    assert set(files_under(out)) == expected
    assert f"\n33 files rendered and checked into {out} in " in stdout
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".preview-")]  # no staging left


def test_rendered_files_are_the_checked_renderings(full):
    out, _ = full
    for cfg in load_all():
        for stage, service in itertools.product(DEPLOY_STAGES, cfg.services):
            folder = out / cfg.region / stage.value / service.name
            taskdef = json.loads((folder / "taskdef.json").read_text())
            validate.task_definition(str(folder), taskdef)
            assert taskdef == render.render_taskdef(cfg, stage, service, render.example_refs(cfg, stage, service),
                                                    DEPLOYMENT_ID)
            assert (folder / "appspec.yaml").read_text() == render.render_appspec(cfg, service)
        for service in cfg.services:
            text = (out / cfg.region / "buildspecs" / f"build-{service.name}.yml").read_text()
            assert yaml.safe_load(text)["artifacts"]["secondary-artifacts"]
            assert "${" not in text and "<IMAGE1_NAME>" in text


# --- filters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args,regions,stages,services", [
    (["--region", "us-west-2"], ["us-west-2"], STAGES, SERVICES),
    (["--stage", "production"], REGIONS, ["production"], SERVICES),
    (["--service", "auth-service"], REGIONS, STAGES, ["auth-service"]),
    (["--region", "us-east-1", "--stage", "staging", "--service", "notification-service"],
     ["us-east-1"], ["staging"], ["notification-service"]),
    (["--service", "api-service", "--service", "auth-service", "--stage", "staging"],
     REGIONS, ["staging"], ["api-service", "auth-service"]),
])
def test_filters(tmp_path, args, regions, stages, services):
    out = tmp_path / "p"
    rows = table_rows(run_main(args + ["--out", str(out)]))
    assert sorted(r[:3] for r in rows) == sorted(itertools.product(regions, stages, services))
    rendered = {tuple(f.split("/")[:3]) for f in files_under(out) if "/buildspecs/" not in f and "/" in f}
    assert rendered == set(itertools.product(regions, stages, services))


# --- --diff ----------------------------------------------------------------------------------

def test_diff_shows_differing_settings_and_files_in_plain_words(tmp_path):
    stdout = run_main(["--diff", "--out", str(tmp_path / "p")])
    settings = stdout.split("Settings that differ (us-east-1 vs us-west-2):\n", 1)[1].split("\n\n", 1)[0]
    assert "  role: us-east-1=primary  us-west-2=dr" in settings.splitlines()
    assert "  vpc_cidr: us-east-1=10.10.0.0/16  us-west-2=10.20.0.0/16" in settings.splitlines()
    assert "  production.desired_count: us-east-1=2  us-west-2=1" in settings.splitlines()
    assert "  replication_regions: us-east-1=us-west-2  us-west-2=(none)" in settings.splitlines()
    for noise in ("Role.", "StageSize(", "StateBackend(", "('", "project:", "services:"):
        assert noise not in settings  # no reprs; equal settings not listed
    files = stdout.split("Rendered files that differ:\n", 1)[1]
    assert "--- us-east-1/staging/api-service/taskdef.json\n+++ us-west-2/staging/api-service/taskdef.json" in files
    assert '-  "executionRoleArn": "arn:aws:iam::123456789012:role/shop-stg-api-service-exec-use1",' in files
    assert '+  "executionRoleArn": "arn:aws:iam::123456789012:role/shop-stg-api-service-exec-usw2",' in files
    assert "appspec.yaml" not in files and "test.yml" not in files  # identical in both regions
    assert not [line for line in files.splitlines() if line[:1] in "+-" and "family" in line]


def test_settings_diff_of_a_promoted_dr_region():
    east, west = load_all()
    lines = preview.settings_diff([east, west.promoted()]).splitlines()
    names = [line.split(":", 1)[0].strip() for line in lines]
    assert "role" not in names and "production.desired_count" not in names
    assert "vpc_cidr" in names


def test_diff_needs_two_regions_and_fails_before_rendering(tmp_path):
    with pytest.raises(UserError, match="--diff needs two regions"):
        preview.main(["--diff", "--region", "us-east-1", "--out", str(tmp_path / "p")])
    assert list(tmp_path.iterdir()) == []


# --- bad arguments and failures --------------------------------------------------------------

def test_unknown_region_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError) as caught:
        preview.main(["--region", "eu-west-9", "--out", str(tmp_path / "p")])
    assert caught.value.problems == ["--region eu-west-9: no environments/eu-west-9/.env; "
                                     "allowed: us-east-1, us-west-2"]
    assert list(tmp_path.iterdir()) == []


def test_unknown_service_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError) as caught:
        preview.main(["--service", "billing", "--out", str(tmp_path / "p")])
    (line,) = caught.value.problems
    assert "billing" in line and "api-service" in line


def test_failed_render_keeps_the_previous_preview_and_leaves_no_staging(tmp_path, monkeypatch):
    out = tmp_path / "p"
    run_main(["--out", str(out)])
    before = {f: (out / f).read_text() for f in files_under(out)}
    real = render.render_appspec

    def fail_in_dr(cfg, service, renderer=None):
        if cfg.region == "us-west-2":
            raise TemplateError("templates/taskdefs/appspec.yaml.j2: boom")
        return real(cfg, service, renderer)

    monkeypatch.setattr(render, "render_appspec", fail_in_dr)
    with pytest.raises(TemplateError, match="boom"):
        preview.main(["--out", str(out)])
    assert {f: (out / f).read_text() for f in files_under(out)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_a_new_preview_replaces_the_previous_one(tmp_path):
    out = tmp_path / "p"
    run_main(["--out", str(out)])
    run_main(["--region", "us-east-1", "--out", str(out)])
    assert not (out / "us-west-2").exists() and (out / "us-east-1").is_dir()
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask  # the umask's mode, not mkdtemp's private 0700


def test_never_replaces_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not a preview folder"):
        preview.main(["--out", str(out)])
    assert files_under(out) == ["notes.txt"]


def test_embedded_taskdef_must_match_the_rendered_one():
    cfg = load_all()[0]
    service = cfg.services[0]
    bare = {st: render.render_taskdef(cfg, st, service, render.example_refs(cfg, st, service), None)
            for st in DEPLOY_STAGES}
    doc = yaml.safe_load(render.render_build_buildspec(cfg, service, bare))
    preview._check_embedded("build.yml", doc, bare)  # consistent: passes
    changed = {**bare, Stage.PRODUCTION: dict(bare[Stage.PRODUCTION], cpu="1024")}
    with pytest.raises(UserError, match="embedded production task definition differs"):
        preview._check_embedded("build.yml", doc, changed)
    doc["phases"]["post_build"]["commands"] = ["echo no heredoc"]
    with pytest.raises(TemplateError, match="no heredoc writing deploy/staging/taskdef.json"):
        preview._check_embedded("build.yml", doc, bare)


# --- the real entry point, in a subprocess ---------------------------------------------------

def run_cli(cwd, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DEPLOYMENT_ID")}
    return subprocess.run([sys.executable, "-m", "cicd.docs.preview", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def assert_clean_failure(result, cwd):
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    assert not [p.name for p in cwd.iterdir() if p.name.startswith(".preview")]  # nothing half-written
    return lines


def test_cli_broken_environment_exits_2_with_every_problem(repo_copy):
    env_file = repo_copy / "environments" / "us-east-1" / ".env"
    text = env_file.read_text()
    for old, new in (("STAGING_CPU=256", "STAGING_CPUU=256"), ("VPC_CIDR=10.10.0.0/16", "VPC_CIDR=10.10.0.0/99"),
                     ("NOTIFICATION_EMAILS=platform-alerts@example.com", "NOTIFICATION_EMAILS=alerts@")):
        assert old in text
        text = text.replace(old, new)
    env_file.write_text(text)
    lines = assert_clean_failure(run_cli(repo_copy), repo_copy)
    assert len(lines) == 3, lines
    assert all(line.startswith("error: environments/us-east-1/.env: ") for line in lines)
    for fragment in ("STAGING_CPUU=256", "VPC_CIDR=10.10.0.0/99", "NOTIFICATION_EMAILS=alerts@"):
        assert sum(fragment in line for line in lines) == 1


def test_cli_undefined_template_variable_exits_2_naming_template_and_variable(repo_copy):
    template = repo_copy / "templates" / "taskdefs" / "taskdef.json.j2"
    text = template.read_text()
    assert '  "networkMode": "awsvpc",\n' in text
    template.write_text(text.replace('  "networkMode": "awsvpc",\n',
                                     '  "networkMode": "awsvpc",\n  "x": {{ undefined_thing | tojson }},\n'))
    lines = assert_clean_failure(run_cli(repo_copy), repo_copy)
    assert lines == ["error: templates/taskdefs/taskdef.json.j2: undefined variable: 'undefined_thing' is undefined"]


def test_cli_unknown_region_is_one_line(repo_copy):
    lines = assert_clean_failure(run_cli(repo_copy, "--region", "mars-1"), repo_copy)
    assert lines == ["error: --region mars-1: no environments/mars-1/.env; allowed: us-east-1, us-west-2"]


NO_CDKTF = r"""
import importlib.abc, sys
WATCHED = ("cdktf", "constructs", "jsii", "cdktf_cdktf_provider_aws", "imports", "stack", "cicd_probe_module")
attempts = []

class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in WATCHED:
            attempts.append(name)
        return None

sys.meta_path.insert(0, Spy())
from cicd.docs import preview
code = preview.main(["--diff", "--out", sys.argv[1]])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in WATCHED)
try:
    import cicd_probe_module  # positive control: the spy sees imports
except ImportError:
    pass
print("RESULT", code, attempts, loaded)
"""


def test_preview_never_imports_cdktf(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    result = subprocess.run([sys.executable, "-c", NO_CDKTF, str(tmp_path / "p")], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "RESULT 0 ['cicd_probe_module'] []"
    assert len(table_rows(result.stdout)) == 12
