"""Resource names, in one place, so templates, the stack and the Lambda agree.

Names are `{project}-{stage}-{service}` style. IAM role names are global to the account, so every
role name carries the region; ALB and target-group names must stay within 32 characters, so they
use short forms.
"""
from __future__ import annotations

from cicd.workspace.config import RegionConfig, Service, Stage
from cicd.workspace.fields import service_short_name

# Short forms for the 32-character ALB/target-group name limit.
_STAGE_SHORT = {Stage.STAGING: "stg", Stage.PRODUCTION: "prd", Stage.BUILD: "bld"}
_REGION_SHORT = {"us-east-1": "use1", "us-west-2": "usw2"}


# Compound directions keep two letters: ap-south-1 (aps1) and ap-southeast-1 (apse1) must not collide,
# since IAM role names are account-global and carry this short form.
_DIRECTION_SHORT = {"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def region_short(region: str) -> str:
    if region in _REGION_SHORT:
        return _REGION_SHORT[region]
    area, *directions, number = region.split("-")
    return area[:2] + "".join(_DIRECTION_SHORT.get(d, d[:1]) for d in directions) + number


def stage_short(stage: Stage) -> str:
    return _STAGE_SHORT[stage]


def deployment_group(cfg: RegionConfig, stage: Stage, service: Service) -> str:
    """Also the prefix of every alarm of that group (the Lambda relies on it)."""
    return f"{cfg.project}-{stage.value}-{service.name}"


def alarm(cfg: RegionConfig, stage: Stage, service: Service, kind: str) -> str:
    return f"{deployment_group(cfg, stage, service)}-{kind}"


def stage_alarm(cfg: RegionConfig, stage: Stage, kind: str) -> str:
    """A stage-wide (notify-only) alarm: `{project}-alb-{stage}-{kind}` starts with no deployment group's
    name (`{project}-{stage}-...`), so neither the hook nor the alarm path can take it for a service's."""
    return f"{cfg.project}-alb-{stage.value}-{kind}"


def release_marker(cfg: RegionConfig, stage: Stage, service: Service) -> str:
    """The String parameter that records a service's first release in a stage (`none` until then): the
    stack keeps the service at 0 tasks while it says `none` (stack/services.py, stack/activation.py)."""
    return f"/{cfg.project}/released/{stage.value}/{service.name}"


def test_probe(cfg: RegionConfig) -> str:
    """The pre-traffic test probe function (stack/probe.py)."""
    return f"{cfg.project}-test-probe"


def codedeploy_application(cfg: RegionConfig) -> str:
    return f"{cfg.project}-ecs"


def cluster(cfg: RegionConfig) -> str:
    return f"{cfg.project}-cluster"


def ecs_service(cfg: RegionConfig, stage: Stage, service: Service) -> str:
    return f"{cfg.project}-{stage.value}-{service.name}"


def task_family(cfg: RegionConfig, stage: Stage, service: Service) -> str:
    return f"{cfg.project}-{stage.value}-{service.name}"


def container(service: Service) -> str:
    return service.name


def service_log_group(cfg: RegionConfig, stage: Stage, service: Service) -> str:
    return f"/ecs/{cfg.project}/{stage.value}/{service.name}"


def build_project(cfg: RegionConfig, service: Service) -> str:
    return f"{cfg.project}-build-{service.name}"


def test_project(cfg: RegionConfig) -> str:
    return f"{cfg.project}-test"


def codebuild_log_group(project_name: str) -> str:
    return f"/aws/codebuild/{project_name}"


def pipeline(cfg: RegionConfig) -> str:
    return f"{cfg.project}-pipeline"


def source_connection(cfg: RegionConfig) -> str:
    """A CodeConnections connection name (32 characters at most; regional, so no region in it)."""
    return f"{cfg.project}-{cfg.source_provider.value}"[:32].rstrip("-")


def source_mirror_project(cfg: RegionConfig) -> str:
    return f"{cfg.project}-source-mirror"


def health_function(cfg: RegionConfig) -> str:
    return f"{cfg.project}-deployment-health"


def role(cfg: RegionConfig, purpose: str) -> str:
    """IAM names are account-global: the region keeps the two region stacks apart (64-char limit)."""
    name = f"{cfg.project}-{purpose}-{region_short(cfg.region)}"
    if len(name) > 64:
        raise ValueError(f"IAM role name {name!r} is longer than 64 characters")
    return name


def task_role(cfg: RegionConfig, stage: Stage, service: Service, kind: str) -> str:
    """kind: 'exec' (ECS pulls the image, reads secrets, writes logs) or 'task' (the app itself)."""
    return role(cfg, f"{stage_short(stage)}-{service.name}-{kind}")


def alb(cfg: RegionConfig, stage: Stage) -> str:
    return _limit32(f"{cfg.project}-{stage_short(stage)}-{region_short(cfg.region)}")


def target_group(cfg: RegionConfig, stage: Stage, service: Service, colour: str) -> str:
    return _limit32(f"{cfg.project}-{stage_short(stage)}-{service_short_name(service.name)}-{colour}")


def parameter_path(stage: Stage, service: Service) -> str:
    return f"/pipeline/{stage.value}/{service.name}/"


def ecr_repository(cfg: RegionConfig, service: Service) -> str:
    return f"{cfg.project}/{service.name}"


def ecr_registry(account_id: str, region: str) -> str:
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


def artifact_name(service: Service, stage: Stage) -> str:
    """CodePipeline artifact names allow letters, digits and underscores only."""
    return f"{service.name.replace('-', '_')}_{stage.value}"


def _limit32(name: str) -> str:
    if len(name) > 32:
        raise ValueError(f"load balancer / target group name {name!r} is longer than 32 characters")
    return name
