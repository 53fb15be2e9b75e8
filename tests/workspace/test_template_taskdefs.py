"""The task definition and appspec templates (templates/taskdefs/): their renderings valid for ECS and
CodeDeploy, exact for one service, and the validator refusing broken ones."""
from __future__ import annotations

import copy

import pytest
from template_testkit import API, CONFIGS, DEPLOYMENT_ID, EAST, EXPECTED_APPSPEC, taskdef

from cicd.workspace import render, validate
from cicd.workspace.config import DEPLOY_STAGES, Stage
from cicd.workspace.errors import TemplateError

ALL = [(cfg, stage, service) for cfg in CONFIGS for stage in DEPLOY_STAGES for service in cfg.services]
ALL_IDS = [f"{cfg.region}-{stage.value}-{service.name}" for cfg, stage, service in ALL]


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
