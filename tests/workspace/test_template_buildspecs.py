"""The build and test buildspec templates (templates/buildspecs/): their renderings valid for CodeBuild, the
task definitions and appspec embedded in each build buildspec exactly the rendered ones, and the validator."""
from __future__ import annotations

import json
import re

import pytest
import yaml
from template_testkit import API, CONFIGS, EAST, EXPECTED_APPSPEC, bare_taskdefs, build_buildspec

from cicd.workspace import render, validate
from cicd.workspace.config import DEPLOY_STAGES
from cicd.workspace.errors import TemplateError


def _heredoc_taskdefs(doc):
    """stage -> the JSON body of the `... > deploy/<stage>/taskdef.json <<'TASKDEF'` heredoc."""
    found = {}
    for command in doc["phases"]["post_build"]["commands"]:
        first, _, rest = command.partition("\n")
        match = re.search(r"> deploy/(\w+)/taskdef\.json <<'TASKDEF'$", first)
        if match:
            body, end, _ = rest.partition("\nTASKDEF")
            assert end, "heredoc not terminated"
            found[match.group(1)] = json.loads(body)
    return found


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c.region for c in CONFIGS])
def test_build_buildspecs_parse_and_carry_both_stages(cfg):
    for service in cfg.services:
        text = build_buildspec(cfg, service)
        doc = yaml.safe_load(text)
        assert doc["version"] == 0.2
        assert set(doc["phases"]) == {"pre_build", "build", "post_build"}
        assert all(isinstance(c, str) for phase in doc["phases"].values() for c in phase["commands"])
        underscored = service.name.replace("-", "_")
        secondary = doc["artifacts"]["secondary-artifacts"]
        assert set(secondary) == {f"{underscored}_staging", f"{underscored}_production"}
        for stage in DEPLOY_STAGES:
            artifact = secondary[f"{underscored}_{stage.value}"]
            assert re.fullmatch(r"[A-Za-z0-9_]+", f"{underscored}_{stage.value}")
            assert artifact["base-directory"] == f"deploy/{stage.value}"
            assert set(artifact["files"]) == {"taskdef.json", "appspec.yaml", "imageDetail.json"}
        store = doc["env"]["parameter-store"]
        assert store and all(name.startswith(f"/pipeline/build/{service.name}/") for name in store.values())
        assert doc["env"]["variables"]["SERVICE_NAME"] == service.name
        assert "${" not in text and "%{" not in text
        assert "<IMAGE1_NAME>" in text and "&lt;" not in text and "\\u003c" not in text
        validate.buildspec("build.yml", text)  # the project's own check agrees


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c.region for c in CONFIGS])
def test_buildspec_heredocs_hold_exactly_the_rendered_taskdefs(cfg):
    for service in cfg.services:
        bare = bare_taskdefs(cfg, service)
        embedded = _heredoc_taskdefs(yaml.safe_load(build_buildspec(cfg, service)))
        assert embedded == {stage.value: bare[stage] for stage in DEPLOY_STAGES}
        for stage_taskdef in embedded.values():
            validate.task_definition("embedded", stage_taskdef)
            assert stage_taskdef["containerDefinitions"][0]["image"] == "<IMAGE1_NAME>"


def test_buildspec_heredoc_appspec_is_the_rendered_appspec():
    doc = yaml.safe_load(build_buildspec(EAST, API))
    bodies = [c.partition("\n")[2].partition("\nAPPSPEC")[0] for c in doc["phases"]["post_build"]["commands"]
              if "/appspec.yaml <<'APPSPEC'" in c]
    assert bodies == [EXPECTED_APPSPEC.rstrip("\n")] * len(DEPLOY_STAGES)


def test_test_buildspec_runs_every_service():
    text = render.render_test_buildspec(EAST.services)
    doc = validate.buildspec("test.yml", text)
    assert doc["version"] == 0.2
    assert doc["env"]["variables"]["SERVICE_PATHS"].split() == [f"services/{s.name}" for s in EAST.services]
    assert "${" not in text and "%{" not in text


@pytest.mark.parametrize("old,new,problem", [
    ("version: 0.2", "version: 0.3", "version is 0.3"),
    ("      - docker push", "      - echo ${HOME}\n      - docker push", "contains '${'"),
    ("      - docker push", "      - echo %{x}\n      - docker push", "contains '%{'"),
    ("  pre_build:", "  prebuild:", "unknown phase 'prebuild'"),
])
def test_buildspec_validator_catches_problems(old, new, problem):
    text = build_buildspec(EAST, API)
    assert old in text
    with pytest.raises(TemplateError) as caught:
        validate.buildspec("build.yml", text.replace(old, new, 1))
    assert any(line.startswith("build.yml: ") and problem in line for line in caught.value.problems), \
        caught.value.problems
