"""The Parameter Store layout: `/pipeline/{stage}/{service}/{KEY}`.

`build` holds build-time values (read by the buildspec), `staging` and `production` runtime values
(injected into containers as ECS secrets). SecureString parameters are created with a placeholder
and their value is never managed by Terraform afterwards: operators set it with
`aws ssm put-parameter --overwrite`, so no secret ever passes through the repo or the synthesized JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, RegionConfig, Service, Stage

SECRET_PLACEHOLDER = "set-me-with-aws-ssm-put-parameter"
# A release marker's value (naming.release_marker) until the stage's first release: the stack keeps the
# service at 0 tasks while it holds this.
UNRELEASED = "none"


@dataclass(frozen=True)
class Parameter:
    stage: Stage
    service: Service
    key: str
    secure: bool
    value: Optional[str]  # None: filled in by the stack (a Terraform reference) or a secret placeholder
    description: str

    @property
    def name(self) -> str:
        return naming.parameter_path(self.stage, self.service) + self.key

    def arn(self, region: str, account_id: str, partition: str = "aws") -> str:
        return f"arn:{partition}:ssm:{region}:{account_id}:parameter{self.name}"


def build_parameters(cfg: RegionConfig, service: Service) -> Tuple[Parameter, ...]:
    return (
        Parameter(Stage.BUILD, service, "ECR_REPOSITORY_URI", False, None,
                  f"ECR repository the build pushes {service.name} to"),
    )


def runtime_parameters(cfg: RegionConfig, stage: Stage, service: Service) -> Tuple[Parameter, ...]:
    return (
        Parameter(stage, service, "LOG_LEVEL", False, "debug" if stage is Stage.STAGING else "info",
                  f"log level of {service.name} in {stage.value}"),
        Parameter(stage, service, "APP_SECRET", True, None,
                  f"application secret of {service.name} in {stage.value}; set out of band"),
    )


def all_parameters(cfg: RegionConfig) -> Tuple[Parameter, ...]:
    params = []
    for service in cfg.services:
        params.extend(build_parameters(cfg, service))
        for stage in DEPLOY_STAGES:
            params.extend(runtime_parameters(cfg, stage, service))
    return tuple(params)
