"""cicd.config's value checks: what each accepts and the exact "allowed" text a wrong value gets."""
from __future__ import annotations

import pytest

from cicd import config


def _refused(parse, raw: str) -> str:
    with pytest.raises(ValueError) as err:
        parse(raw)
    return str(err.value)


def test_fargate_memory_sizes_are_listed_or_given_as_a_range() -> None:
    assert {cpu: config._fargate_memory_options(cpu) for cpu in sorted(config.FARGATE_SIZES)} == {
        256: "512, 1024, 2048 MiB",
        512: "1024, 2048, 3072, 4096 MiB",
        1024: "2048-8192 MiB in steps of 1024",
        2048: "4096-16384 MiB in steps of 1024",
        4096: "8192-30720 MiB in steps of 1024",
        8192: "16384-61440 MiB in steps of 4096",
        16384: "32768-122880 MiB in steps of 8192",
    }


def test_vpc_cidr() -> None:
    assert config._cidr("10.10.0.0/16") == "10.10.0.0/16" and config._cidr("10.10.0.0/20") == "10.10.0.0/20"
    for raw in ("10.10.0.0/15", "10.10.0.0/21"):
        assert _refused(config._cidr, raw) == "allowed: a prefix from /16 to /20 (six subnets of 3 AZs are carved from it)"
    for raw in ("10.10.0.1/16", "ten", "fd00::/16"):  # host bits set (strict), not a network, not IPv4
        assert _refused(config._cidr, raw) == "allowed: an IPv4 network in CIDR form such as 10.10.0.0/16"


def test_region_role() -> None:
    assert config._role("dr") is config.Role("dr")
    assert _refused(config._role, "secondary") == "allowed: primary, dr"


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
    assert _refused(config._services, raw) == message


def test_services_parse_and_short_names() -> None:
    assert config._services(" api:1:/a , web-app:65535:/b/c") == (
        config.Service("api", 1, "/a"), config.Service("web-app", 65535, "/b/c"))
    assert config.service_short_name("notification-service") == "notificati"
    assert config.service_short_name("auth-serv-x") == "auth-serv"  # a trailing dash is dropped
    assert config.service_short_name("-api") == "-api"


def test_unknown_key_hint_suggests_the_one_closest_known_key() -> None:
    known = ", ".join(sorted(config.KNOWN_KEYS))
    assert config._unknown_key_hint("projekt_name") == f"unknown key; did you mean PROJECT_NAME? allowed keys: {known}"
    assert config._unknown_key_hint("STAGING_CPUS") == f"unknown key; did you mean STAGING_CPU? allowed keys: {known}"
    assert config._unknown_key_hint("COLOUR") == f"unknown key; allowed keys: {known}"
    # a weak likeness is no suggestion
    assert config._unknown_key_hint("PROJECT") == f"unknown key; allowed keys: {known}"
