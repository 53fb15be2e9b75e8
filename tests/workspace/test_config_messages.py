"""The value checks of a region's .env (cicd.workspace.fields, and cicd.workspace.config's own): what each accepts
and the exact "allowed" text a wrong value gets."""
from __future__ import annotations

import pytest

from cicd.workspace import config, fields


def _refused(parse, raw: str) -> str:
    with pytest.raises(ValueError) as err:
        parse(raw)
    return str(err.value)


def test_fargate_memory_sizes_are_listed_or_given_as_a_range() -> None:
    assert {cpu: fields.fargate_memory_options(cpu) for cpu in sorted(config.FARGATE_SIZES)} == {
        256: "512, 1024, 2048 MiB",
        512: "1024, 2048, 3072, 4096 MiB",
        1024: "2048-8192 MiB in steps of 1024",
        2048: "4096-16384 MiB in steps of 1024",
        4096: "8192-30720 MiB in steps of 1024",
        8192: "16384-61440 MiB in steps of 4096",
        16384: "32768-122880 MiB in steps of 8192",
    }


def test_vpc_cidr() -> None:
    assert fields.cidr("10.10.0.0/16") == "10.10.0.0/16" and fields.cidr("10.10.0.0/20") == "10.10.0.0/20"
    for raw in ("10.10.0.0/15", "10.10.0.0/21"):
        assert _refused(fields.cidr, raw) == "allowed: a prefix from /16 to /20 (six subnets of 3 AZs are carved from it)"
    for raw in ("10.10.0.1/16", "ten", "fd00::/16"):  # host bits set (strict), not a network, not IPv4
        assert _refused(fields.cidr, raw) == "allowed: an IPv4 network in CIDR form such as 10.10.0.0/16"


def test_region_role() -> None:
    assert fields.role("dr") is config.Role("dr")
    assert _refused(fields.role, "secondary") == "allowed: primary, dr"


ALLOWED = "comma-separated name:port:/health-path, name lowercase DNS-safe (a-z, 0-9, -), unique"


@pytest.mark.parametrize("raw, message", [
    ("api:8080", f"allowed: {ALLOWED}"),
    ("Api:8080:/health", f"service name 'Api' is not lowercase DNS-safe; allowed: {ALLOWED}"),
    ("api:8080:/health,api:8081:/health", f"service name 'api' is duplicated; allowed: {ALLOWED}"),
    ("notification-a:8080:/h,notification-b:8081:/h",
     "service names 'notification-a' and 'notification-b' share their first 10 characters, which name their "
     "target groups; allowed: names that differ within them"),
    ("api:0:/health", "port '0' of api; allowed: 1-65535"),
    ("api:65536:/health", "port '65536' of api; allowed: 1-65535"),
    ("api:http:/health", "port 'http' of api; allowed: 1-65535"),
    ("api:8080:health", "health path 'health' of api; allowed: an absolute URL path like /health"),
])
def test_services(raw: str, message: str) -> None:
    assert _refused(fields.services, raw) == message


def test_services_parse_and_short_names() -> None:
    assert fields.services(" api:1:/a , web-app:65535:/b/c") == (
        config.Service("api", 1, "/a"), config.Service("web-app", 65535, "/b/c"))
    assert fields.service_short_name("notification-service") == "notificati"
    assert fields.service_short_name("auth-serv-x") == "auth-serv"  # a trailing dash is dropped
    assert fields.service_short_name("-api") == "-api"


def test_unknown_key_hint_suggests_the_one_closest_known_key() -> None:
    known = ", ".join(sorted(config.KNOWN_KEYS))
    assert config._unknown_key_hint("projekt_name") == f"unknown key; did you mean PROJECT_NAME? allowed keys: {known}"
    assert config._unknown_key_hint("STAGING_CPUS") == f"unknown key; did you mean STAGING_CPU? allowed keys: {known}"
    assert config._unknown_key_hint("COLOUR") == f"unknown key; allowed keys: {known}"
    # a weak likeness is no suggestion
    assert config._unknown_key_hint("PROJECT") == f"unknown key; allowed keys: {known}"


# --- through load_region: the exact line a wrong value of each key gets --------------------------

def _only_problem(env_dir, **changes: str) -> str:
    root = env_dir(changes=changes)
    with pytest.raises(config.ConfigError) as err:
        config.load_region("us-east-1", environments_dir=root)
    [problem] = err.value.problems
    return problem


@pytest.mark.parametrize("key, value, allowed", [
    ("PROJECT_NAME", "Shop", "allowed: 2-10 lowercase letters and digits, starting with a letter (it prefixes names "
                             "limited to 32 characters)"),
    ("OWNER", "bad|owner", "allowed: 1-128 tag-safe characters"),
    ("SOURCE_REPOSITORY", "bad repo", "allowed: 1-100 letters, digits, '.', '_', '-' (a CodeCommit repository name)"),
    ("SOURCE_BRANCH", "bad branch", "allowed: a git branch name"),
    ("STATE_BUCKET", "Bad_Bucket", "allowed: an S3 bucket name: 3-63 lowercase letters, digits, '.', '-', starting "
                                   "and ending with a letter or digit, no '..', not an IP address, not starting with "
                                   "xn--/sthree-/amzn-s3-demo-, not ending with -s3alias/--ol-s3/.mrap/--x-s3/--table-s3"),
    ("STATE_KEY", "a key", "allowed: an S3 object key"),
    ("CERTIFICATE_ARN", "arn:aws:iam::123456789012:role/x", "allowed: an ACM certificate ARN or empty"),
    ("STAGING_DESIRED_COUNT", "101", "allowed: a whole number from 0 to 100"),
    ("STANDBY_PRODUCTION_DESIRED_COUNT", "101", "allowed: a whole number from 0 to 100"),
    ("STAGING_CPU", "1000001", "allowed: a whole number from 0 to 1000000"),
    ("STAGING_MEMORY", "1000001", "allowed: a whole number from 0 to 1000000"),
    ("ALARM_5XX_THRESHOLD", "10001", "allowed: a whole number from 1 to 10000"),
    ("ALARM_PERIOD_SECONDS", "86460", "allowed: 10, 30, 60 or a multiple of 60 seconds up to 86400"),
    ("ALARM_PERIOD_SECONDS", "20", "allowed: 10, 30, 60 or a multiple of 60 seconds up to 86400"),
    ("NOTIFICATION_EMAILS", "a@example.com, nope, also-bad", "malformed e-mail nope, also-bad; allowed: "
                                                             "comma-separated addresses"),
    ("NOTIFICATION_EMAILS", ",", "malformed e-mail (none given); allowed: comma-separated addresses"),
    ("ALARM_PERIOD_SECONDS", "1m", "allowed: 10, 30, 60 or a multiple of 60 seconds up to 86400"),
    ("AVAILABILITY_ZONES", "us-east-1a,us-east-1a,us-east-1b",
     "allowed: exactly 3 distinct availability zones, comma-separated"),
    ("AWS_REGION", "us-east-9", "not an AWS region; allowed: a region such as us-east-1, us-west-2"),
    ("STAGING_CPU", "300", "not a Fargate CPU size; allowed: 256, 512, 1024, 2048, 4096, 8192, 16384"),
])
def test_each_key_names_what_is_allowed(env_dir, key: str, value: str, allowed: str) -> None:
    env_file = env_dir() / "us-east-1" / ".env"
    assert _only_problem(env_dir, **{key: value}) == f"{env_file}: {key}={value}: {allowed}"


def test_boundaries_are_inclusive(env_dir) -> None:
    root = env_dir(changes={"ALARM_PERIOD_SECONDS": "86400", "ALARM_5XX_THRESHOLD": "10000", "STATE_KEY": "Cicd/State-1.tfstate",
                            "STANDBY_PRODUCTION_DESIRED_COUNT": "100", "ECR_REPLICATION_REGIONS": "us-west-2, eu-west-1"})
    cfg = config.load_region("us-east-1", environments_dir=root)
    assert (cfg.alarms.period_seconds, cfg.alarms.http_5xx_threshold, cfg.standby_production_count) == (86400, 10000, 100)
    assert cfg.replication_regions == ("us-west-2", "eu-west-1") and cfg.state.key == "Cicd/State-1.tfstate"


def test_the_real_settings_reach_the_config() -> None:
    cfg = config.load_region("us-east-1")
    assert (cfg.owner, cfg.source_repository, cfg.source_branch) == ("platform-team", "microservices", "main")
    assert (cfg.state.bucket, cfg.state.key, cfg.state.region) == (
        "shop-tfstate-us-east-1", "cicd-pipeline/us-east-1.tfstate", "us-east-1")


def test_a_missing_required_key_and_a_missing_file(env_dir, tmp_path) -> None:
    root = env_dir(drop=("SOURCE_BRANCH",))
    with pytest.raises(config.ConfigError) as err:
        config.load_region("us-east-1", environments_dir=root)
    assert err.value.problems == [f"{root / 'us-east-1' / '.env'}: SOURCE_BRANCH=: missing; this key is required"]
    env_dir(region="us-west-2")
    with pytest.raises(config.ConfigError) as err:
        config.load_region("eu-west-1", environments_dir=root)
    assert err.value.problems == [
        f"{root / 'eu-west-1' / '.env'}: file not found; regions with a .env: us-east-1, us-west-2"]
    with pytest.raises(config.ConfigError) as err:
        config.load_region("eu-west-1", environments_dir=tmp_path / "nothing")
    assert err.value.problems == [
        f"{tmp_path / 'nothing' / 'eu-west-1' / '.env'}: file not found; regions with a .env: none"]


def test_syntax_and_repeated_keys_are_named_by_line(env_dir) -> None:
    root = env_dir(append=("this is not an assignment", "OWNER=a", "OWNER=b"))
    env_file = root / "us-east-1" / ".env"
    count = len(env_file.read_text().splitlines())
    first = next(i for i, line in enumerate(env_file.read_text().splitlines(), 1) if line.startswith("OWNER="))
    with pytest.raises(config.ConfigError) as err:
        config.load_region("us-east-1", environments_dir=root)
    assert err.value.problems == [
        f"{env_file}:{count - 2}: this is not an assignment: not a KEY=VALUE line; "
        "allowed: KEY=VALUE, # comments and blank lines",
        f"{env_file}: OWNER=b: set on lines {first}, {count - 1}, {count}; allowed: one assignment per key"]


def _problems(root) -> list:
    with pytest.raises(config.ConfigError) as err:
        config.load_region("us-east-1", environments_dir=root)
    return err.value.problems


def test_a_key_without_a_value_is_empty_not_its_default(env_dir) -> None:
    # python-dotenv reads a bare `OWNER` line as a key without a value: it must not fall back to the default.
    root = env_dir(drop=("OWNER",), append=("OWNER",))
    assert _problems(root) == [f"{root / 'us-east-1' / '.env'}: OWNER=: allowed: 1-128 tag-safe characters"]


def test_smoke_requests_are_judged_only_once_services_are_valid(env_dir) -> None:
    root = env_dir(changes={"SERVICES": "api-service:8080", "SMOKE_REQUESTS": "api-service:/items:200"})
    assert _problems(root) == [f"{root / 'us-east-1' / '.env'}: SERVICES=api-service:8080: allowed: {ALLOWED}"]


def test_each_parsed_value_reaches_the_config(env_dir) -> None:
    root = env_dir(changes={"OWNER": "Platform Team/Ops", "AVAILABILITY_ZONES": "us-east-1c, us-east-1a,us-east-1b",
                            "ALARM_EVALUATION_PERIODS": "3", "ALARM_5XX_THRESHOLD": "7", "ALARM_PERIOD_SECONDS": "120"})
    cfg = config.load_region("us-east-1", environments_dir=root)
    assert cfg.owner == "Platform Team/Ops"  # upper case is tag-safe
    assert cfg.availability_zones == ("us-east-1c", "us-east-1a", "us-east-1b")
    assert cfg.alarms == config.Alarms(http_5xx_threshold=7, evaluation_periods=3, period_seconds=120)


def test_smoke_request_statuses_and_bodies() -> None:
    parse = fields.smoke_requests((config.Service("api", 8080, "/health"),))
    assert parse('api:/a:100 api:/b:599 api:/c:200:"status":"ok"') == (
        config.SmokeRequest("api", "/a", 100, None), config.SmokeRequest("api", "/b", 599, None),
        config.SmokeRequest("api", "/c", 200, '"status":"ok"'))  # the body pattern may hold colons
    for status in ("99", "600"):
        assert _refused(parse, f"api:/a:{status}").startswith(f"'api:/a:{status}': status '{status}'; allowed: ")
