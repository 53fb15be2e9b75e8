"""The typed configuration of one region: frozen dataclasses and enums, no parsing.

`cicd.workspace.config` builds these from `environments/<region>/.env`; everything else receives them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS_DIR = ROOT / "environments"

# Fixed by the product, not by configuration (see README "What the stack provisions").
LOG_RETENTION_DAYS = 14
ARTIFACT_EXPIRATION_DAYS = 30
UNTAGGED_IMAGE_EXPIRY_DAYS = 7

# Fargate CPU units -> allowed memory (MiB), from the AWS Fargate task-size table.
FARGATE_SIZES: Dict[int, Tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

class Stage(str, enum.Enum):
    """Pipeline stages that own runtime configuration and parameters."""

    BUILD = "build"
    STAGING = "staging"
    PRODUCTION = "production"


DEPLOY_STAGES = (Stage.STAGING, Stage.PRODUCTION)


class SourceProvider(str, enum.Enum):
    """Where the monorepo lives: CodeCommit, or a Git host reached through AWS CodeConnections."""

    CODECOMMIT = "codecommit"
    GITHUB = "github"
    GITHUB_ENTERPRISE_SERVER = "github-enterprise-server"
    GITLAB = "gitlab"
    BITBUCKET = "bitbucket"

    @property
    def is_git_host(self) -> bool:
        return self is not SourceProvider.CODECOMMIT

    @property
    def connection_type(self) -> str:
        """CodeConnections' ProviderType for this host."""
        return _CONNECTION_TYPES[self]


_CONNECTION_TYPES = {
    SourceProvider.GITHUB: "GitHub",
    SourceProvider.GITHUB_ENTERPRISE_SERVER: "GitHubEnterpriseServer",
    SourceProvider.GITLAB: "GitLab",
    SourceProvider.BITBUCKET: "Bitbucket",
}


class Role(str, enum.Enum):
    """A region's part in the disaster-recovery pair."""

    PRIMARY = "primary"
    DR = "dr"


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    health_path: str


@dataclass(frozen=True)
class SmokeRequest:
    """A request the pre-traffic test sends a replacement of `service` through the test listener."""

    service: str
    path: str
    status: int
    body: Optional[str] = None  # a regular expression the response body must contain a match of


@dataclass(frozen=True)
class StageSize:
    cpu: int
    memory: int
    desired_count: int


@dataclass(frozen=True)
class Alarms:
    http_5xx_threshold: int
    evaluation_periods: int
    period_seconds: int


@dataclass(frozen=True)
class StateBackend:
    bucket: str
    key: str
    region: str


@dataclass(frozen=True)
class RegionConfig:
    """Everything one region's stack needs, validated."""

    env_file: Path
    project: str
    region: str
    role: Role
    owner: str
    services: Tuple[Service, ...]
    sizes: Mapping[Stage, StageSize]
    standby_production_count: int
    vpc_cidr: str
    availability_zones: Tuple[str, str, str]
    notification_emails: Tuple[str, ...]
    alarms: Alarms
    source_repository: str
    source_branch: str
    state: StateBackend
    certificate_arn: Optional[str]
    replication_regions: Tuple[str, ...]
    # The source (cicd.workspace.config: SOURCE_PROVIDER, SOURCE_CONNECTION_ARN, SOURCE_MIRROR_REGIONS). With a Git
    # host, source_repository is `owner/name`; no connection ARN means the stack creates the connection.
    source_provider: SourceProvider = SourceProvider.CODECOMMIT
    source_connection_arn: Optional[str] = None
    source_mirror_regions: Tuple[str, ...] = ()
    smoke_requests: Tuple[SmokeRequest, ...] = ()

    def smoke_checks(self, service: Service) -> Tuple[SmokeRequest, ...]:
        """What the pre-traffic test requests of a replacement through the test listener, which routes
        `/<service>/...` to it: its health path under that prefix (200), then its declared smoke requests."""
        return (SmokeRequest(service.name, f"/{service.name}{service.health_path}", 200),
                *(r for r in self.smoke_requests if r.service == service.name))

    @property
    def is_primary(self) -> bool:
        return self.role is Role.PRIMARY

    def size(self, stage: Stage) -> StageSize:
        """CPU/memory/count for a stage; the DR standby runs production at its reduced count."""
        size = self.sizes[stage]
        if stage is Stage.PRODUCTION and not self.is_primary:
            return replace(size, desired_count=self.standby_production_count)
        return size

    def promoted(self) -> "RegionConfig":
        """This region taking over as primary (disaster-recovery failover)."""
        return replace(self, role=Role.PRIMARY, replication_regions=(), source_mirror_regions=())
