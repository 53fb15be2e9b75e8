"""Jinja templates: strict, and their renderings valid for the services that consume them."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from cicd.workspace import render, validate
from cicd.workspace.config import DEPLOY_STAGES, Stage, load_all
from cicd.workspace.errors import TemplateError

CONFIGS = load_all()
EAST = next(c for c in CONFIGS if c.region == "us-east-1")
API = EAST.services[0]
DEPLOYMENT_ID = "20261127T102500Z"


def taskdef(cfg, stage, service, deployment_id=None):
    return render.render_taskdef(cfg, stage, service, render.example_refs(cfg, stage, service), deployment_id)


def bare_taskdefs(cfg, service):
    return {stage: taskdef(cfg, stage, service) for stage in DEPLOY_STAGES}


def build_buildspec(cfg, service):
    return render.render_build_buildspec(cfg, service, bare_taskdefs(cfg, service))


ALL = [(cfg, stage, service) for cfg in CONFIGS for stage in DEPLOY_STAGES for service in cfg.services]
ALL_IDS = [f"{cfg.region}-{stage.value}-{service.name}" for cfg, stage, service in ALL]


# --- strictness ------------------------------------------------------------------------------

def test_undefined_variable_names_template_and_variable(tmp_path):
    (tmp_path / "t.j2").write_text("ok {{ defined }} then {{ not_defined_anywhere }}\n")
    with pytest.raises(TemplateError) as caught:
        render.Renderer(tmp_path).render("t.j2", {"defined": 1})
    message = str(caught.value)
    assert f"{tmp_path.name}/t.j2" in message and "not_defined_anywhere" in message and "\n" not in message


def test_undefined_in_a_condition_or_attribute_also_fails(tmp_path):
    # Lenient Undefined would treat these as false / empty: StrictUndefined must not.
    (tmp_path / "if.j2").write_text("{% if missing_flag %}x{% endif %}")
    (tmp_path / "attr.j2").write_text("{{ item.missing_attr }}")
    with pytest.raises(TemplateError, match="missing_flag"):
        render.Renderer(tmp_path).render("if.j2", {})
    with pytest.raises(TemplateError, match="missing_attr"):
        render.Renderer(tmp_path).render("attr.j2", {"item": {}})


def test_real_taskdef_template_with_a_missing_value_fails_by_name():
    context = render.taskdef_context(EAST, Stage.STAGING, API, render.example_refs(EAST, Stage.STAGING, API), None)
    del context["log_group"]
    with pytest.raises(TemplateError) as caught:
        render.Renderer().render_json(render.TASKDEF, context)
    assert "templates/taskdefs/taskdef.json.j2" in str(caught.value) and "log_group" in str(caught.value)


class _Recorder(render.Renderer):
    """Remembers the context every real template was rendered with."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def render(self, name, context):
        self.calls.append((name, dict(context)))
        return super().render(name, context)


def _real_template_contexts():
    recorder = _Recorder()
    render.render_taskdef(EAST, Stage.STAGING, API, render.example_refs(EAST, Stage.STAGING, API), None, recorder)
    render.render_build_buildspec(EAST, API, bare_taskdefs(EAST, API), recorder)  # also renders the appspec
    render.render_test_buildspec(EAST.services, recorder)
    contexts = {}
    for name, context in recorder.calls:
        contexts.setdefault(name, context)
    assert set(contexts) == {render.TASKDEF, render.APPSPEC, render.BUILD_BUILDSPEC, render.TEST_BUILDSPEC}
    return [(name, key, context) for name, context in sorted(contexts.items()) for key in sorted(context)]


@pytest.mark.parametrize("name,key,context", _real_template_contexts(),
                         ids=[f"{n}-{k}" for n, k, _ in _real_template_contexts()])
def test_every_variable_of_every_real_template_is_required(name, key, context):
    reduced = {k: v for k, v in context.items() if k != key}
    with pytest.raises(TemplateError) as caught:
        render.Renderer().render(name, reduced)
    assert caught.value.problems == [f"templates/{name}: undefined variable: '{key}' is undefined"]


def test_syntax_error_names_template_and_line(tmp_path):
    (tmp_path / "bad.j2").write_text("line one\n{% for x in %}\n")
    with pytest.raises(TemplateError, match=rf"{tmp_path.name}/bad.j2:2: template syntax error"):
        render.Renderer(tmp_path).render("bad.j2", {})


def test_missing_template_and_non_json_output_are_template_errors(tmp_path):
    (tmp_path / "notjson.j2").write_text("{ not json")
    with pytest.raises(TemplateError, match="nothere.j2: template not found"):
        render.Renderer(tmp_path).render("nothere.j2", {})
    with pytest.raises(TemplateError, match="notjson.j2: rendered output is not JSON"):
        render.Renderer(tmp_path).render_json("notjson.j2", {})


# --- task definitions ------------------------------------------------------------------------

@pytest.mark.parametrize("cfg,stage,service", ALL, ids=ALL_IDS)
def test_every_taskdef_is_a_valid_register_task_definition_input(cfg, stage, service):
    td = taskdef(cfg, stage, service, DEPLOYMENT_ID)
    validate.task_definition("test", td)
    container = td["containerDefinitions"][0]
    assert td["family"] == f"{cfg.project}-{stage.value}-{service.name}"
    assert container["name"] == service.name and container["portMappings"][0]["containerPort"] == service.port
    assert container["image"] == "<IMAGE1_NAME>"
    assert {t["key"]: t["value"] for t in td["tags"]} == {"stage": stage.value, "service": service.name,
                                                          "deployment-id": DEPLOYMENT_ID}
    # Secrets come from this stage's and service's Parameter Store path, in this region.
    assert container["secrets"], "no secrets"
    for secret in container["secrets"]:
        assert secret["valueFrom"] == (f"arn:aws:ssm:{cfg.region}:123456789012:parameter"
                                       f"/pipeline/{stage.value}/{service.name}/{secret['name']}")
    # One log group per stage and service, in this region.
    options = container["logConfiguration"]["options"]
    assert options["awslogs-group"] == f"/ecs/{cfg.project}/{stage.value}/{service.name}"
    assert options["awslogs-region"] == cfg.region
    assert ":role/" in td["executionRoleArn"] and td["executionRoleArn"] != td["taskRoleArn"]


def test_default_sizes_staging_256_512_production_512_1024():
    for cfg in CONFIGS:
        sizes = {stage: (taskdef(cfg, stage, API)["cpu"], taskdef(cfg, stage, API)["memory"]) for stage in DEPLOY_STAGES}
        assert sizes == {Stage.STAGING: ("256", "512"), Stage.PRODUCTION: ("512", "1024")}


def test_log_groups_and_families_are_distinct_per_stage_and_service():
    for cfg in CONFIGS:
        groups = {taskdef(cfg, st, sv)["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"]
                  for st in DEPLOY_STAGES for sv in cfg.services}
        assert len(groups) == len(DEPLOY_STAGES) * len(cfg.services)


def test_exact_taskdef_for_one_service():
    assert taskdef(EAST, Stage.STAGING, API, DEPLOYMENT_ID) == {
        "family": "shop-staging-api-service",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": "arn:aws:iam::123456789012:role/shop-stg-api-service-exec-use1",
        "taskRoleArn": "arn:aws:iam::123456789012:role/shop-stg-api-service-task-use1",
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        "containerDefinitions": [{
            "name": "api-service",
            "image": "<IMAGE1_NAME>",
            "essential": True,
            "readonlyRootFilesystem": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "SERVICE_NAME", "value": "api-service"},
                            {"name": "STAGE", "value": "staging"},
                            {"name": "PORT", "value": "8080"}],
            "secrets": [
                {"name": "LOG_LEVEL",
                 "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/pipeline/staging/api-service/LOG_LEVEL"},
                {"name": "APP_SECRET",
                 "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/pipeline/staging/api-service/APP_SECRET"},
            ],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/shop/staging/api-service",
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "api-service"}},
            "healthCheck": {"command": ["CMD-SHELL", "curl -fs http://localhost:8080/health || exit 1"],
                            "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 60},
        }],
        "tags": [{"key": "stage", "value": "staging"}, {"key": "service", "value": "api-service"},
                 {"key": "deployment-id", "value": DEPLOYMENT_ID}],
    }


def test_no_deployment_id_means_no_deployment_id_tag():
    assert "deployment-id" not in {t["key"] for t in taskdef(EAST, Stage.PRODUCTION, API)["tags"]}


def _broken(change):
    td = copy.deepcopy(taskdef(EAST, Stage.STAGING, API))
    change(td)
    return td


BROKEN = {
    "cpu-as-int": lambda td: td.update(cpu=256),
    "no-family": lambda td: td.pop("family"),
    "no-container-name": lambda td: td["containerDefinitions"][0].pop("name"),
    "no-container-image": lambda td: td["containerDefinitions"][0].pop("image"),
    "port-as-string": lambda td: td["containerDefinitions"][0]["portMappings"][0].update(containerPort="8080"),
    "unknown-field": lambda td: td.update(cpuUnits="256"),
    "fargate-bridge-network": lambda td: td.update(networkMode="bridge"),
    "fargate-bad-size": lambda td: td.update(cpu="256", memory="4096"),
    "duplicate-container": lambda td: td["containerDefinitions"].append(dict(td["containerDefinitions"][0])),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_taskdef_is_rejected(name):
    with pytest.raises(TemplateError) as caught:
        validate.task_definition("taskdef.json (broken)", _broken(BROKEN[name]))
    assert all(line.startswith("taskdef.json (broken): ") for line in caught.value.problems)


# --- appspec ---------------------------------------------------------------------------------

EXPECTED_APPSPEC = """\
# ECS AppSpec for CodeDeploy blue/green. CodePipeline's CodeDeployToECS action replaces
# <TASK_DEFINITION> with the task definition it registers from taskdef.json.
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "<TASK_DEFINITION>"
        LoadBalancerInfo:
          ContainerName: "api-service"
          ContainerPort: 8080
        PlatformVersion: "LATEST"
Hooks:
  - AfterAllowTestTraffic: "shop-deployment-health"
"""


def test_exact_appspec_for_one_service():
    assert render.render_appspec(EAST, API) == EXPECTED_APPSPEC


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c.region for c in CONFIGS])
def test_every_appspec_is_an_ecs_appspec(cfg):
    for service in cfg.services:
        doc = validate.appspec("appspec", render.render_appspec(cfg, service))
        info = doc["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]
        assert info == {"ContainerName": service.name, "ContainerPort": service.port}


def test_appspec_validator_rejects_a_wrong_placeholder():
    with pytest.raises(TemplateError, match="not an ECS AppSpec"):
        validate.appspec("appspec", EXPECTED_APPSPEC.replace('"<TASK_DEFINITION>"', '"taskdef:1"'))


# --- buildspecs ------------------------------------------------------------------------------

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


def test_templates_never_contain_terraform_interpolation():
    for path in Path(render.TEMPLATES_DIR).rglob("*.j2"):
        text = path.read_text()
        assert "${" not in text and "%{" not in text, path
