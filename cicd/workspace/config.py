"""Typed, validated per-region configuration: the only place `.env` files are read.

`load_region(region)` reads `environments/<region>/.env` with python-dotenv's parser (never reading
from or writing to `os.environ`), validates every key and returns a frozen `RegionConfig`. All
problems of a file are collected and raised together as one `ConfigError`, each problem a single
line naming the file, the key, the bad value and what is allowed.
"""
from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Tuple

from dotenv.parser import parse_stream

from cicd.workspace import fields, source_config
from cicd.workspace.errors import ConfigError
from cicd.workspace.model import (  # noqa: F401  (re-exported: the configuration API everyone imports)
    ARTIFACT_EXPIRATION_DAYS, DEPLOY_STAGES, ENVIRONMENTS_DIR, FARGATE_SIZES, LOG_RETENTION_DAYS, ROOT,
    UNTAGGED_IMAGE_EXPIRY_DAYS, Alarms, RegionConfig, Role, Service, SmokeRequest, SourceProvider, Stage, StageSize,
    StateBackend,
)

# The patterns of keys whose parser is built here (fields.match) rather than one of fields' own.
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,100}$")
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")


@functools.lru_cache(maxsize=1)
def aws_regions() -> frozenset:
    """Real commercial AWS regions, from botocore's own endpoint data (no network).

    Read straight from the file: creating a botocore session for it costs ~0.25 s on every command.
    """
    import json

    import botocore

    endpoints = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    partition = next(p for p in endpoints["partitions"] if p["partition"] == "aws")
    return frozenset(partition["regions"])


# Keys every .env must set, and optional keys with their defaults.
REQUIRED = (
    "PROJECT_NAME", "AWS_REGION", "REGION_ROLE", "SERVICES", "VPC_CIDR", "AVAILABILITY_ZONES",
    "NOTIFICATION_EMAILS", "SOURCE_REPOSITORY", "SOURCE_BRANCH", "STATE_BUCKET", "STATE_KEY",
)
DEFAULTS = {
    "OWNER": "platform-team",
    "STAGING_CPU": "256",
    "STAGING_MEMORY": "512",
    "STAGING_DESIRED_COUNT": "1",
    "PRODUCTION_CPU": "512",
    "PRODUCTION_MEMORY": "1024",
    "PRODUCTION_DESIRED_COUNT": "2",
    "STANDBY_PRODUCTION_DESIRED_COUNT": "1",
    "ALARM_5XX_THRESHOLD": "5",
    "ALARM_EVALUATION_PERIODS": "2",
    "ALARM_PERIOD_SECONDS": "60",
    "CERTIFICATE_ARN": "",
    "ECR_REPLICATION_REGIONS": "",
    "STATE_REGION": "",
    "SOURCE_PROVIDER": SourceProvider.CODECOMMIT.value,
    "SOURCE_CONNECTION_ARN": "",
    "SOURCE_MIRROR_REGIONS": "",
    "SMOKE_REQUESTS": "",
}
KNOWN_KEYS = frozenset(REQUIRED) | frozenset(DEFAULTS)


class _Collector:
    """Parses keys one by one and remembers every problem instead of stopping at the first."""

    def __init__(self, env_file: Path, values: Mapping[str, str]):
        self.env_file = env_file
        self.values = values
        self.problems: List[str] = []

    def problem(self, key: str, value: object, allowed: str) -> None:
        self.problems.append(f"{self.env_file}: {key}={value!s}: {allowed}")

    def get(self, key: str, parse: Callable[[str], object]):
        raw = self.values.get(key)
        if raw is None:
            raw = DEFAULTS.get(key)
        if raw is None or (key in REQUIRED and not raw.strip()):
            return None  # already reported as missing
        try:
            return parse(raw.strip())
        except ValueError as err:
            self.problem(key, raw, str(err))
            return None


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _read_env(env_file: Path, shown: Path) -> Tuple[Dict[str, str], List[str]]:
    """Parse a .env with python-dotenv's parser: values (never interpolated from, nor written to,
    os.environ) and the lines it could not parse or that set a key twice, which python-dotenv
    itself would skip or overwrite silently."""
    values: Dict[str, str] = {}
    lines: Dict[str, List[int]] = {}
    problems: List[str] = []
    with open(env_file, encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            line = binding.original.line
            if binding.error:
                statement = binding.original.string.strip().splitlines()[0]
                problems.append(f"{shown}:{line}: {statement}: not a KEY=VALUE line; "
                                "allowed: KEY=VALUE, # comments and blank lines")
            elif binding.key is not None:
                values[binding.key] = binding.value if binding.value is not None else ""
                lines.setdefault(binding.key, []).append(line)
    for key, where in lines.items():
        if len(where) > 1:
            problems.append(f"{shown}: {key}={values[key]}: set on lines {', '.join(map(str, where))}; "
                            "allowed: one assignment per key")
    return values, problems


def _unknown_key_hint(key: str) -> str:
    close = difflib.get_close_matches(key.upper(), sorted(KNOWN_KEYS), n=1, cutoff=0.75)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown key; {hint}allowed keys: {', '.join(sorted(KNOWN_KEYS))}"


def load_region(region: str, environments_dir: Path = ENVIRONMENTS_DIR) -> RegionConfig:
    """Read and validate `environments/<region>/.env`; raise ConfigError listing every problem."""
    env_file = environments_dir / region / ".env"
    shown = _relative(env_file)
    if not env_file.is_file():
        folders = regions(environments_dir)
        raise ConfigError([f"{shown}: file not found; regions with a .env: {', '.join(folders) or 'none'}"])
    raw, syntax_problems = _read_env(env_file, shown)
    c = _Collector(shown, raw)
    c.problems.extend(syntax_problems)

    for key in sorted(set(raw) - KNOWN_KEYS):
        c.problem(key, raw[key], _unknown_key_hint(key))
    for key in REQUIRED:
        if not raw.get(key, "").strip():
            c.problem(key, "", "missing; this key is required")

    real_regions = aws_regions()
    project = c.get("PROJECT_NAME", fields.match(re.compile(r"^[a-z][a-z0-9]{1,9}$"),
                                                  "2-10 lowercase letters and digits, starting with a letter"
                                                  " (it prefixes names limited to 32 characters)"))
    aws_region = c.get("AWS_REGION", lambda v: v)
    if aws_region is not None and aws_region not in real_regions:
        c.problem("AWS_REGION", aws_region, "not an AWS region; allowed: a region such as us-east-1, us-west-2")
    elif aws_region is not None and aws_region != region:
        c.problem("AWS_REGION", aws_region, f"does not match its folder; allowed: {region} (the folder name)")

    def _zones(value: str) -> Tuple[str, str, str]:
        zones = tuple(z.strip() for z in value.split(","))
        if len(zones) != 3 or len(set(zones)) != 3:
            raise ValueError("allowed: exactly 3 distinct availability zones, comma-separated")
        for zone in zones:
            if not re.match(rf"^{re.escape(region)}[a-z]$", zone):
                raise ValueError(f"zone {zone!r} is not in {region}; allowed: e.g. {region}a,{region}b,{region}c")
        return zones  # type: ignore[return-value]

    def _regions(value: str) -> Tuple[str, ...]:
        names = tuple(r.strip() for r in value.split(",") if r.strip())
        for name in names:
            if name not in real_regions or name == region:
                raise ValueError(f"{name!r}; allowed: other AWS regions, comma-separated, or empty")
        return names

    provider = c.get("SOURCE_PROVIDER", source_config.source_provider)
    connection_arn, mirror_regions = source_config.source_extras(c, region, provider, _regions)

    sizes: Dict[Stage, StageSize] = {}
    for stage in DEPLOY_STAGES:
        prefix = stage.value.upper()
        cpu = c.get(f"{prefix}_CPU", fields.int_in(0, 1_000_000))
        memory = c.get(f"{prefix}_MEMORY", fields.int_in(0, 1_000_000))
        count = c.get(f"{prefix}_DESIRED_COUNT", fields.int_in(0, 100))
        if cpu is not None and memory is not None:
            if cpu not in FARGATE_SIZES:
                c.problem(f"{prefix}_CPU", cpu, f"not a Fargate CPU size; allowed: {', '.join(map(str, FARGATE_SIZES))}")
            elif memory not in FARGATE_SIZES[cpu]:
                c.problem(f"{prefix}_MEMORY", memory,
                          f"not valid with {prefix}_CPU={cpu} on Fargate; allowed: {fields.fargate_memory_options(cpu)}")
            elif count is not None:
                sizes[stage] = StageSize(cpu=cpu, memory=memory, desired_count=count)

    config = dict(
        project=project,
        region=aws_region,
        role=c.get("REGION_ROLE", fields.role),
        owner=c.get("OWNER", fields.match(re.compile(r"^[A-Za-z0-9 ._:/=+@-]{1,128}$"), "1-128 tag-safe characters")),
        services=c.get("SERVICES", fields.services),
        standby_production_count=c.get("STANDBY_PRODUCTION_DESIRED_COUNT", fields.int_in(0, 100)),
        vpc_cidr=c.get("VPC_CIDR", fields.cidr),
        availability_zones=c.get("AVAILABILITY_ZONES", _zones),
        notification_emails=c.get("NOTIFICATION_EMAILS", fields.emails),
        alarms_5xx=c.get("ALARM_5XX_THRESHOLD", fields.positive_int),
        alarms_periods=c.get("ALARM_EVALUATION_PERIODS", fields.positive_int),
        alarms_seconds=c.get("ALARM_PERIOD_SECONDS", fields.alarm_period),
        source_repository=c.get("SOURCE_REPOSITORY", source_config.repository_parser(provider)),
        source_branch=c.get("SOURCE_BRANCH", fields.match(_BRANCH, "a git branch name")),
        state_bucket=c.get("STATE_BUCKET", fields.bucket_name),
        state_key=c.get("STATE_KEY", fields.match(re.compile(r"^[A-Za-z0-9!_.*'()/-]{1,1024}$"), "an S3 object key")),
        state_region=c.get("STATE_REGION", lambda v: v or region),
        certificate_arn=c.get("CERTIFICATE_ARN", lambda v: fields.match(_CERT_ARN, "an ACM certificate ARN or empty")(v)
                              if v else None),
        replication_regions=c.get("ECR_REPLICATION_REGIONS", _regions),
    )
    # Smoke requests name services: judged only once SERVICES itself is valid.
    config["smoke_requests"] = (c.get("SMOKE_REQUESTS", fields.smoke_requests(config["services"]))
                                if config["services"] else ())
    if config["state_region"] is not None and config["state_region"] != region:
        # The DR region must not depend on another region's state bucket (see README, Disaster recovery).
        c.problem("STATE_REGION", config["state_region"], f"must be this region ({region}) so regions never share state")
    if c.problems:
        raise ConfigError(c.problems)
    return RegionConfig(
        env_file=env_file,
        project=config["project"],
        region=config["region"],
        role=config["role"],
        owner=config["owner"],
        services=config["services"],
        sizes=sizes,
        standby_production_count=config["standby_production_count"],
        vpc_cidr=config["vpc_cidr"],
        availability_zones=config["availability_zones"],
        notification_emails=config["notification_emails"],
        alarms=Alarms(int(config["alarms_5xx"]), int(config["alarms_periods"]), int(config["alarms_seconds"])),
        source_repository=config["source_repository"],
        source_branch=config["source_branch"],
        state=StateBackend(bucket=config["state_bucket"], key=config["state_key"], region=config["state_region"]),
        certificate_arn=config["certificate_arn"],
        replication_regions=config["replication_regions"],
        source_provider=provider,
        source_connection_arn=connection_arn,
        source_mirror_regions=mirror_regions,
        smoke_requests=config["smoke_requests"] or (),
    )


def regions(environments_dir: Path = ENVIRONMENTS_DIR) -> Tuple[str, ...]:
    """Every region folder that has a .env, sorted by name (load_all puts the primary first)."""
    if not environments_dir.is_dir():
        return ()
    return tuple(sorted(p.name for p in environments_dir.iterdir() if (p / ".env").is_file()))


def load_all(environments_dir: Path = ENVIRONMENTS_DIR) -> Tuple[RegionConfig, ...]:
    """Load every region; problems of all files are reported together."""
    configs: List[RegionConfig] = []
    problems: List[str] = []
    found = regions(environments_dir)
    if not found:
        raise ConfigError(f"{_relative(environments_dir)}: no <region>/.env files found")
    for region in found:
        try:
            configs.append(load_region(region, environments_dir))
        except ConfigError as err:
            problems.extend(err.problems)
    problems.extend(source_config.check_mirrors(configs, _relative))
    if problems:
        raise ConfigError(problems)
    return tuple(sorted(configs, key=lambda c: (not c.is_primary, c.region)))
