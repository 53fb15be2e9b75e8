"""environments/<region>/.env -> RegionConfig: every problem named, all at once, no os.environ."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from cicd.workspace import naming
from cicd.workspace.config import (FARGATE_SIZES, KNOWN_KEYS, REQUIRED, Role, Stage, aws_regions, load_all,
                         load_region)
from cicd.workspace.errors import ConfigError, UserError


def problems_of(environments: Path, region: str = "us-east-1"):
    with pytest.raises(ConfigError) as caught:
        load_region(region, environments_dir=environments)
    return caught.value.problems


def assert_one_problem(problems, env_file: Path, key: str, value: str, *allowed: str):
    """Exactly one problem, a single line naming the file, the key, the value and what is allowed."""
    assert len(problems) == 1, problems
    line = problems[0]
    assert "\n" not in line
    assert str(env_file) in line
    assert f"{key}={value}" in line
    for fragment in allowed:
        assert fragment in line, (fragment, line)
    return line


# --- the real files --------------------------------------------------------------------------

def test_real_environments_load():
    east, west = load_all()  # primary first
    assert (east.region, east.role, west.region, west.role) == ("us-east-1", Role.PRIMARY, "us-west-2", Role.DR)
    for cfg in (east, west):
        assert [s.name for s in cfg.services] == ["api-service", "auth-service", "notification-service"]
        assert (cfg.size(Stage.STAGING).cpu, cfg.size(Stage.STAGING).memory) == (256, 512)
        assert (cfg.size(Stage.PRODUCTION).cpu, cfg.size(Stage.PRODUCTION).memory) == (512, 1024)
    # The DR standby runs production at its reduced count until promoted.
    assert east.size(Stage.PRODUCTION).desired_count == 2
    assert west.size(Stage.PRODUCTION).desired_count == 1
    assert west.promoted().size(Stage.PRODUCTION).desired_count == 2
    assert west.state.region == "us-west-2" and east.state.region == "us-east-1"


def test_copied_env_is_valid_baseline(env_dir):
    # Every negative test below alters one line of this copy: the copy itself must load.
    cfg = load_region("us-east-1", environments_dir=env_dir())
    assert cfg.region == "us-east-1" and cfg.vpc_cidr == "10.10.0.0/16"


def test_dotenv_does_not_touch_os_environ(env_dir, monkeypatch):
    for key in ("PROJECT_NAME", "VPC_CIDR", "STATE_BUCKET", "SERVICES"):
        monkeypatch.delenv(key, raising=False)
    cfg = load_region("us-east-1", environments_dir=env_dir())
    assert cfg.project == "shop"  # the keys were read...
    for key in ("PROJECT_NAME", "VPC_CIDR", "STATE_BUCKET", "SERVICES"):
        assert key not in os.environ  # ...but not exported


def test_os_environ_does_not_leak_into_config(env_dir, monkeypatch):
    # python-dotenv would expand ${VAR} from os.environ: the config must not depend on the shell.
    monkeypatch.setenv("CICD_TEST_OWNER", "leaked-team")
    root = env_dir(changes={"OWNER": "${CICD_TEST_OWNER}"})
    problems = problems_of(root)
    line = assert_one_problem(problems, root / "us-east-1" / ".env", "OWNER", "${CICD_TEST_OWNER}")
    assert "leaked-team" not in line


# --- one problem per bad line ----------------------------------------------------------------

BAD_VALUES = [
    # (key, bad value, fragments of "what is allowed")
    # S3's bucket naming rules, each refused by CreateBucket (the state bucket is created from this value)
    ("STATE_BUCKET", "Shop-TFState", "an S3 bucket name", "lowercase"),
    ("STATE_BUCKET", "ab", "3-63"),
    ("STATE_BUCKET", "shop..tfstate", "no '..'"),
    ("STATE_BUCKET", "192.168.10.20", "not an IP address"),
    ("STATE_BUCKET", "xn--shop-tfstate", "xn--"),
    ("STATE_BUCKET", "shop-tfstate-s3alias", "-s3alias"),
    ("STATE_BUCKET", "shop-tfstate-", "ending with a letter or digit"),
    ("AWS_REGION", "us-west-2", "allowed: us-east-1"),  # real region, wrong folder
    ("AWS_REGION", "us-east-9", "not an AWS region"),
    ("AWS_REGION", "US-EAST-1", "not an AWS region"),
    ("NOTIFICATION_EMAILS", "ops@@example.com", "malformed e-mail", "allowed"),
    ("NOTIFICATION_EMAILS", "ops.example.com", "malformed e-mail"),
    ("NOTIFICATION_EMAILS", "ok@example.com,bad@example", "malformed e-mail bad@example"),
    ("SERVICES", "Api-Service:8080:/health", "not lowercase DNS-safe", "allowed"),
    ("SERVICES", "api_service:8080:/health", "not lowercase DNS-safe"),
    ("SERVICES", "api-service:8080:/health,api-service:8081:/health", "duplicated"),
    ("SERVICES", "api-service:80800:/health", "allowed: 1-65535"),
    ("VPC_CIDR", "10.10.0.0/33", "allowed: an IPv4 network in CIDR form"),
    ("VPC_CIDR", "10.10.0.1/16", "allowed: an IPv4 network in CIDR form"),  # host bits set
    ("VPC_CIDR", "not-a-cidr", "allowed: an IPv4 network in CIDR form"),
    ("VPC_CIDR", "10.0.0.0/8", "allowed: a prefix from /16 to /20"),
    ("ALARM_5XX_THRESHOLD", "0", "allowed: a whole number from 1"),
    ("ALARM_5XX_THRESHOLD", "-3", "allowed: a whole number from 1"),
    ("ALARM_EVALUATION_PERIODS", "0", "allowed: a whole number from 1"),
    ("ALARM_PERIOD_SECONDS", "20", "allowed: 10, 30, 60 or a multiple of 60"),
    ("ALARM_PERIOD_SECONDS", "90", "allowed: 10, 30, 60 or a multiple of 60"),
    ("REGION_ROLE", "secondary", "allowed: primary, dr"),
    ("AVAILABILITY_ZONES", "us-west-2a,us-west-2b,us-west-2c", "not in us-east-1"),
    ("AVAILABILITY_ZONES", "us-east-1a,us-east-1a,us-east-1b", "exactly 3 distinct"),
    ("PROJECT_NAME", "Shop", "lowercase"),
    ("STATE_REGION", "us-west-2", "must be this region (us-east-1)"),
    ("ECR_REPLICATION_REGIONS", "us-east-1", "allowed: other AWS regions"),
    ("STAGING_DESIRED_COUNT", "many", "allowed: a whole number from 0 to 100"),
    ("SMOKE_REQUESTS", "web:/x:200", "'web' is not a service of SERVICES", "allowed"),
    ("SMOKE_REQUESTS", "api-service:items:200", "path 'items'", "allowed"),
    ("SMOKE_REQUESTS", "api-service:/items:99", "status '99'", "allowed"),
    ("SMOKE_REQUESTS", "api-service:/items", "allowed: whitespace-separated service:/path:status"),
    ("SMOKE_REQUESTS", "api-service:/items:200:(", "body pattern '('", "allowed"),
]


@pytest.mark.parametrize("key,value,allowed", [(k, v, a) for k, v, *a in BAD_VALUES],
                         ids=[f"{k}={v}" for k, v, *_ in BAD_VALUES])
def test_bad_value_is_one_clear_line(env_dir, key, value, allowed):
    root = env_dir(changes={key: value})
    assert_one_problem(problems_of(root), root / "us-east-1" / ".env", key, value, *allowed)


@pytest.mark.parametrize("key,value,read,expected", [
    ("ALARM_PERIOD_SECONDS", "10", lambda c: c.alarms.period_seconds, 10),
    ("ALARM_PERIOD_SECONDS", "30", lambda c: c.alarms.period_seconds, 30),
    ("ALARM_PERIOD_SECONDS", "300", lambda c: c.alarms.period_seconds, 300),
    ("ALARM_5XX_THRESHOLD", "1", lambda c: c.alarms.http_5xx_threshold, 1),
    ("VPC_CIDR", "10.30.0.0/20", lambda c: c.vpc_cidr, "10.30.0.0/20"),
    ("NOTIFICATION_EMAILS", "a@example.com, b.c+ops@example.co.uk", lambda c: c.notification_emails,
     ("a@example.com", "b.c+ops@example.co.uk")),
    ("SERVICES", "web:80:/,worker-2:9000:/healthz", lambda c: [(s.name, s.port, s.health_path) for s in c.services],
     [("web", 80, "/"), ("worker-2", 9000, "/healthz")]),
    ("CERTIFICATE_ARN", "arn:aws:acm:us-east-1:123456789012:certificate/abc-123", lambda c: c.certificate_arn,
     "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"),
    ("SMOKE_REQUESTS", "api-service:/api-service/items:200:^\\[ auth-service:/auth-service/login:401",
     lambda c: [(r.service, r.path, r.status, r.body) for r in c.smoke_requests],
     [("api-service", "/api-service/items", 200, "^\\["), ("auth-service", "/auth-service/login", 401, None)]),
    ("SMOKE_REQUESTS", "auth-service:/auth-service/login:401",
     lambda c: [(r.path, r.status) for r in c.smoke_checks(c.services[1])],
     [("/auth-service/health", 200), ("/auth-service/login", 401)]),
])
def test_good_values_load(env_dir, key, value, read, expected):
    assert read(load_region("us-east-1", environments_dir=env_dir(changes={key: value}))) == expected


def test_region_folder_that_is_not_an_aws_region(env_dir):
    root = env_dir(region="us-moon-1", source_region="us-east-1",
                   changes={"AWS_REGION": "us-moon-1", "STATE_REGION": "",
                            "AVAILABILITY_ZONES": "us-moon-1a,us-moon-1b,us-moon-1c"})
    problems = problems_of(root, "us-moon-1")
    assert_one_problem(problems, root / "us-moon-1" / ".env", "AWS_REGION", "us-moon-1", "not an AWS region")


def test_missing_key(env_dir):
    root = env_dir(drop=("VPC_CIDR",))
    assert_one_problem(problems_of(root), root / "us-east-1" / ".env", "VPC_CIDR", "", "missing", "required")


def test_empty_required_key_is_reported_once(env_dir):
    root = env_dir(changes={"PROJECT_NAME": ""})
    assert_one_problem(problems_of(root), root / "us-east-1" / ".env", "PROJECT_NAME", "", "missing")


@pytest.mark.parametrize("key", sorted(REQUIRED))
def test_every_required_key_is_required(env_dir, key):
    problems = problems_of(env_dir(drop=(key,)))
    assert [p for p in problems if f" {key}=" in p and "missing" in p], problems


def test_unknown_key_typo_is_caught(env_dir):
    root = env_dir(drop=("STAGING_CPU",), append=("STAGING_CPUU=256",))
    line = assert_one_problem(problems_of(root), root / "us-east-1" / ".env", "STAGING_CPUU", "256",
                              "unknown key", "did you mean STAGING_CPU?")
    assert all(k in line for k in KNOWN_KEYS)  # what is allowed


def test_unparsable_line_is_reported_not_skipped(env_dir):
    # python-dotenv alone would skip this line with a logged warning and use the default size.
    root = env_dir(drop=("STAGING_CPU",), append=("STAGING CPU=1024",))
    problems = problems_of(root)
    assert len(problems) == 1, problems
    assert f"{root / 'us-east-1' / '.env'}:" in problems[0]
    assert "STAGING CPU=1024" in problems[0] and "KEY=VALUE" in problems[0]


def test_key_set_twice_is_reported(env_dir):
    root = env_dir(append=("STAGING_DESIRED_COUNT=3",))
    line = assert_one_problem(problems_of(root), root / "us-east-1" / ".env", "STAGING_DESIRED_COUNT", "3",
                              "one assignment per key")
    assert "lines" in line


# --- Fargate task sizes ----------------------------------------------------------------------

@pytest.mark.parametrize("cpu,memory", [(256, 512), (256, 2048), (512, 1024), (512, 4096), (1024, 8192),
                                        (2048, 16384), (4096, 30720), (8192, 20480), (16384, 40960)])
def test_valid_fargate_pairs(env_dir, cpu, memory):
    cfg = load_region("us-east-1", environments_dir=env_dir(changes={"STAGING_CPU": str(cpu),
                                                                     "STAGING_MEMORY": str(memory)}))
    assert (cfg.size(Stage.STAGING).cpu, cfg.size(Stage.STAGING).memory) == (cpu, memory)


@pytest.mark.parametrize("cpu,memory,key,value", [
    (256, 4096, "STAGING_MEMORY", "4096"),
    (256, 1536, "STAGING_MEMORY", "1536"),  # between 1024 and 2048: not a 256-CPU size
    (1024, 1024, "STAGING_MEMORY", "1024"),
    (512, 5120, "STAGING_MEMORY", "5120"),
    (8192, 18432, "STAGING_MEMORY", "18432"),  # 8192 CPU goes in 4 GiB steps
    (300, 512, "STAGING_CPU", "300"),
    (0, 512, "STAGING_CPU", "0"),
])
def test_invalid_fargate_pairs(env_dir, cpu, memory, key, value):
    root = env_dir(changes={"STAGING_CPU": str(cpu), "STAGING_MEMORY": str(memory)})
    line = assert_one_problem(problems_of(root), root / "us-east-1" / ".env", key, value, "Fargate", "allowed")
    if key == "STAGING_MEMORY":
        assert f"STAGING_CPU={cpu}" in line
    else:
        assert all(str(c) in line for c in FARGATE_SIZES)


def test_memory_message_lists_exactly_the_allowed_sizes(env_dir):
    root = env_dir(changes={"PRODUCTION_CPU": "256", "PRODUCTION_MEMORY": "4096"})
    line = assert_one_problem(problems_of(root), root / "us-east-1" / ".env", "PRODUCTION_MEMORY", "4096")
    assert "allowed: 512, 1024, 2048 MiB" in line  # not "512-2048 in steps of 512": 1536 is not allowed


# --- everything at once ----------------------------------------------------------------------

def test_all_problems_of_a_file_are_reported_together(env_dir):
    root = env_dir(changes={"NOTIFICATION_EMAILS": "not-an-email", "VPC_CIDR": "10.10.0.0/99",
                            "STAGING_MEMORY": "4096"})
    problems = problems_of(root)
    assert len(problems) == 3, problems
    for key in ("NOTIFICATION_EMAILS", "VPC_CIDR", "STAGING_MEMORY"):
        assert sum(f" {key}=" in p for p in problems) == 1, (key, problems)
    assert all(p.startswith(str(root / "us-east-1" / ".env")) and "\n" not in p for p in problems)
    assert str(ConfigError(problems)).count("\n") == 2


def test_load_all_reports_problems_of_every_file(env_dir):
    env_dir(region="us-east-1", changes={"VPC_CIDR": "bad"})
    root = env_dir(region="us-west-2", changes={"ALARM_5XX_THRESHOLD": "0"})
    with pytest.raises(ConfigError) as caught:
        load_all(root)
    files = [p.split(":", 1)[0] for p in caught.value.problems]
    assert files == [str(root / "us-east-1" / ".env"), str(root / "us-west-2" / ".env")]


def test_missing_file_and_missing_folder_are_user_errors(tmp_path, env_dir):
    root = env_dir()
    with pytest.raises(ConfigError, match=r"eu-west-1/\.env: file not found; regions with a \.env: us-east-1"):
        load_region("eu-west-1", environments_dir=root)
    with pytest.raises(ConfigError, match="file not found"):
        load_region("us-east-1", environments_dir=tmp_path / "nowhere")
    with pytest.raises(UserError, match="no <region>/.env files"):
        load_all(tmp_path / "nowhere")


# --- names derived from regions --------------------------------------------------------------

def test_region_short_names_are_unique_across_aws_regions():
    # IAM role names are account-global and carry this short form: two regions must never share one.
    shorts = {}
    for region in sorted(aws_regions()):
        shorts.setdefault(naming.region_short(region), []).append(region)
    assert {s: r for s, r in shorts.items() if len(r) > 1} == {}
    assert naming.region_short("us-east-1") == "use1" and naming.region_short("us-west-2") == "usw2"


def test_service_names_must_differ_within_the_target_group_prefix(env_dir) -> None:
    """Target-group names keep 10 characters of a service name: two names equal there would clash at apply."""
    root = env_dir(changes={"SERVICES": "notification-service:8080:/health,notification-worker:8081:/health"})
    with pytest.raises(ConfigError) as err:
        load_region("us-east-1", environments_dir=root)
    (line,) = err.value.problems
    assert "SERVICES=" in line and "notification-service" in line and "notification-worker" in line
