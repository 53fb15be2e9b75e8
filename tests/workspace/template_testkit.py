"""Helpers for the template tests (test_template_*.py): the real regions' configuration, the task definitions
and build buildspec rendered from it, and the exact appspec of one service.

The task definition and the appspec are also embedded in each build buildspec, so the taskdef and the
buildspec tests share them. A plain module, not conftest: test modules import it directly.
"""
from __future__ import annotations

from cicd.workspace import render
from cicd.workspace.config import DEPLOY_STAGES, load_all

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
