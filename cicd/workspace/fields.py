"""What each key of a region's .env accepts: one parser per kind of value, from raw text to the typed value.

Each parser returns the value or raises ValueError("allowed: ..."), whose text `cicd.workspace.config`
puts on the key's problem line. They live apart from config.py, which reads the files, applies defaults
and collects every problem of a file, so that each key's rules can be read and tested on their own.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Callable, List, Tuple

from cicd.workspace.model import FARGATE_SIZES, Role, Service, SmokeRequest

_DNS_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"allowed: a whole number from {lo} to {hi}") from None
        if not lo <= value <= hi:
            raise ValueError(f"allowed: a whole number from {lo} to {hi}")
        return value

    return parse


def positive_int(raw: str) -> int:
    return int_in(1, 10_000)(raw)


def match(pattern: "re.Pattern[str]", allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not pattern.match(raw):
            raise ValueError(f"allowed: {allowed}")
        return raw

    return parse


# Target-group names (32 characters at most) carry only this many leading characters of a service name.
SERVICE_SHORT_LENGTH = 10


def service_short_name(name: str) -> str:
    return name[:SERVICE_SHORT_LENGTH].rstrip("-")


def services(raw: str) -> Tuple[Service, ...]:
    allowed = "comma-separated name:port:/health-path, name lowercase DNS-safe (a-z, 0-9, -), unique"
    services: List[Service] = []
    for item in raw.split(","):
        parts = item.strip().split(":")
        if len(parts) != 3:
            raise ValueError(f"allowed: {allowed}")
        name, port, path = parts
        if not _DNS_NAME.match(name):
            raise ValueError(f"service name {name!r} is not lowercase DNS-safe; allowed: {allowed}")
        if any(s.name == name for s in services):
            raise ValueError(f"service name {name!r} is duplicated; allowed: {allowed}")
        clash = [s.name for s in services if service_short_name(s.name) == service_short_name(name)]
        if clash:
            raise ValueError(f"service names {clash[0]!r} and {name!r} share their first {SERVICE_SHORT_LENGTH} "
                             "characters, which name their target groups; allowed: names that differ within them")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"port {port!r} of {name}; allowed: 1-65535")
        if not _HEALTH_PATH.match(path):
            raise ValueError(f"health path {path!r} of {name}; allowed: an absolute URL path like /health")
        services.append(Service(name=name, port=int(port), health_path=path))
    return tuple(services)


_SMOKE_ALLOWED = ("whitespace-separated service:/path:status[:body-regex], e.g. "
                  "api-service:/api-service/items:200:^\\[ (a service of SERVICES, an absolute path, "
                  "a status 100-599, a regular expression without spaces)")


def smoke_requests(services: Tuple[Service, ...]) -> Callable[[str], Tuple[SmokeRequest, ...]]:
    def parse(raw: str) -> Tuple[SmokeRequest, ...]:
        found: List[SmokeRequest] = []
        for item in raw.split():
            parts = item.split(":", 3)
            if len(parts) < 3:
                raise ValueError(f"{item!r}; allowed: {_SMOKE_ALLOWED}")
            name, path, status = parts[:3]
            body = parts[3] if len(parts) == 4 and parts[3] else None
            if name not in {s.name for s in services}:
                raise ValueError(f"{item!r}: {name!r} is not a service of SERVICES; allowed: {_SMOKE_ALLOWED}")
            if not _HEALTH_PATH.match(path):
                raise ValueError(f"{item!r}: path {path!r}; allowed: {_SMOKE_ALLOWED}")
            if not status.isdigit() or not 100 <= int(status) <= 599:
                raise ValueError(f"{item!r}: status {status!r}; allowed: {_SMOKE_ALLOWED}")
            if body is not None:
                try:
                    re.compile(body)
                except re.error as err:
                    raise ValueError(f"{item!r}: body pattern {body!r} ({err}); allowed: {_SMOKE_ALLOWED}") from None
            found.append(SmokeRequest(name, path, int(status), body))
        return tuple(found)

    return parse


# S3's bucket naming rules beyond the character set (general purpose buckets; AWS S3 User Guide,
# "General purpose bucket naming rules"): AWS refuses these names at CreateBucket.
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name(raw: str) -> str:
    allowed = ("an S3 bucket name: 3-63 lowercase letters, digits, '.', '-', starting and ending with a "
               "letter or digit, no '..', not an IP address, not starting with xn--/sthree-/amzn-s3-demo-, "
               "not ending with -s3alias/--ol-s3/.mrap/--x-s3/--table-s3")
    if (not _BUCKET.match(raw) or ".." in raw or re.match(r"^\d+\.\d+\.\d+\.\d+$", raw)
            or raw.startswith(_BUCKET_RESERVED_PREFIXES) or raw.endswith(_BUCKET_RESERVED_SUFFIXES)):
        raise ValueError(f"allowed: {allowed}")
    return raw


def cidr(raw: str) -> str:
    try:
        net = ipaddress.IPv4Network(raw, strict=True)
    except ValueError:
        raise ValueError("allowed: an IPv4 network in CIDR form such as 10.10.0.0/16") from None
    if not 16 <= net.prefixlen <= 20:
        raise ValueError("allowed: a prefix from /16 to /20 (six subnets of 3 AZs are carved from it)")
    return str(net)


def emails(raw: str) -> Tuple[str, ...]:
    emails = tuple(e.strip() for e in raw.split(",") if e.strip())
    bad = [e for e in emails if not _EMAIL.match(e)]
    if not emails or bad:
        raise ValueError(f"malformed e-mail {', '.join(bad) or '(none given)'}; allowed: comma-separated addresses")
    return emails


def alarm_period(raw: str) -> int:
    allowed = "allowed: 10, 30, 60 or a multiple of 60 seconds up to 86400"
    if not raw.isdigit():
        raise ValueError(allowed)
    value = int(raw)
    if value not in (10, 30) and not (value % 60 == 0 and 60 <= value <= 86400):
        raise ValueError(allowed)
    return value


def fargate_memory_options(cpu: int) -> str:
    """The memory sizes allowed with `cpu`, as a short readable list or range."""
    options = FARGATE_SIZES[cpu]
    steps = {b - a for a, b in zip(options, options[1:])}
    if len(options) <= 4 or len(steps) != 1:
        return ", ".join(map(str, options)) + " MiB"
    return f"{options[0]}-{options[-1]} MiB in steps of {steps.pop()}"


def role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise ValueError("allowed: primary, dr") from None
