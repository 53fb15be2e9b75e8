"""Environment configuration of the health-check Lambda, validated in one place.

Every variable is checked and all problems are reported together, so a broken deployment of the
stack shows every wrong value in one log line instead of one per invocation.

| Variable                 | Required | Default | Allowed                                              |
|--------------------------|----------|---------|------------------------------------------------------|
| CODEDEPLOY_APPLICATION   | yes      |         | 1-100 chars of [A-Za-z0-9._+=,@-]                     |
| NOTIFICATION_TOPIC_ARN   | yes      |         | an SNS topic ARN                                     |
| PROJECT_NAME             | yes      |         | [a-z0-9][a-z0-9-]* , at most 32 chars                |
| MAX_ATTEMPTS             | no       | 3       | integer 1..10 (AWS calls and HTTP probe attempts)    |
| PROBE_TIMEOUT_SECONDS    | no       | 5       | number 0.5..20 (per HTTP probe attempt)              |
| TEST_ENDPOINTS           | no       | {}      | JSON object: deployment group name -> http(s) URL    |
| SMOKE_CHECKS             | no       | {}      | JSON object: group -> [{path, status, body?}]        |
| PROBE_FUNCTION           | no       |         | name of the probe function inside the VPC           |
| TEST_LISTENERS           | no       | {}      | JSON object: group -> {alb, port, scheme}            |

With PROBE_FUNCTION and a group's TEST_LISTENERS entry (the ALB's `app/<name>/<id>`, the test
listener's port and http/https), the group's SMOKE_CHECKS are sent by the probe function through the
test listener (hc_remote); TEST_ENDPOINTS (direct requests from this function) is for local runs.

SMOKE_CHECKS are the requests sent through a group's test endpoint (path appended to its URL): each
must answer `status` exactly and, when `body` (a regular expression) is given, a body it matches. A
group with a test endpoint but no checks is probed at its URL and must answer 2xx.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlparse

STAGES = ("staging", "production")

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_PROBE_TIMEOUT_SECONDS = 5.0
MAX_ATTEMPTS_RANGE = (1, 10)
PROBE_TIMEOUT_RANGE = (0.5, 20.0)

_APPLICATION = re.compile(r"^[A-Za-z0-9._+=,@-]{1,100}$")
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_FUNCTION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ALB_SUFFIX = re.compile(r"^app/[A-Za-z0-9-]{1,32}/[0-9a-f]{1,32}$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


class ConfigError(ValueError):
    """One or more environment variables are missing or invalid."""


@dataclass(frozen=True)
class Settings:
    application: str
    topic_arn: str
    project: str
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT_SECONDS
    test_endpoints: Mapping[str, str] = field(default_factory=dict)
    smoke_checks: Mapping[str, Tuple[Mapping[str, object], ...]] = field(default_factory=dict)
    probe_function: str = ""
    test_listeners: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


def load(environ: Optional[Mapping[str, str]] = None) -> Settings:
    env = os.environ if environ is None else environ
    problems: List[str] = []

    def required(name: str, pattern: "re.Pattern[str]", allowed: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            problems.append(f"{name} is missing (allowed: {allowed})")
        elif not pattern.match(value):
            problems.append(f"{name}={value!r} is invalid (allowed: {allowed})")
        return value

    application = required("CODEDEPLOY_APPLICATION", _APPLICATION, "a CodeDeploy application name")
    topic_arn = required("NOTIFICATION_TOPIC_ARN", _TOPIC_ARN, "an SNS topic ARN")
    project = required("PROJECT_NAME", _PROJECT, "[a-z0-9][a-z0-9-]*, at most 32 chars")
    max_attempts = _int_in_range(env, "MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_RANGE, problems)
    probe_timeout = _float_in_range(
        env, "PROBE_TIMEOUT_SECONDS", DEFAULT_PROBE_TIMEOUT_SECONDS, PROBE_TIMEOUT_RANGE, problems
    )
    test_endpoints = _test_endpoints(env.get("TEST_ENDPOINTS", ""), problems)
    smoke_checks = _smoke_checks(env.get("SMOKE_CHECKS", ""), problems)
    probe_function = env.get("PROBE_FUNCTION", "").strip()
    if probe_function and not _FUNCTION.match(probe_function):
        problems.append(f"PROBE_FUNCTION={probe_function!r} is invalid (allowed: a Lambda function name)")
    test_listeners = _test_listeners(env.get("TEST_LISTENERS", ""), problems)

    if problems:
        raise ConfigError("; ".join(problems))
    return Settings(application, topic_arn, project, max_attempts, probe_timeout, test_endpoints, smoke_checks,
                    probe_function, test_listeners)


def _test_listeners(raw: str, problems: List[str]) -> Dict[str, Mapping[str, object]]:
    raw = raw.strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        problems.append(f"TEST_LISTENERS is not valid JSON ({exc})")
        return {}
    if not isinstance(parsed, dict):
        problems.append("TEST_LISTENERS must be a JSON object of deployment group name -> {alb, port, scheme}")
        return {}
    listeners: Dict[str, Mapping[str, object]] = {}
    for group, item in parsed.items():
        ok = (isinstance(item, dict) and isinstance(item.get("alb"), str) and _ALB_SUFFIX.match(item["alb"])
              and isinstance(item.get("port"), int) and not isinstance(item["port"], bool)  # JSON true is no port
              and 1 <= item["port"] <= 65535
              and item.get("scheme") in ("http", "https"))
        if not ok:
            problems.append(f"TEST_LISTENERS[{group!r}]={item!r} is invalid "
                            "(allowed: {alb: app/<name>/<id>, port: 1..65535, scheme: http|https})")
            continue
        listeners[group] = item
    return listeners


def _smoke_checks(raw: str, problems: List[str]) -> Dict[str, Tuple[Mapping[str, object], ...]]:
    raw = raw.strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        problems.append(f"SMOKE_CHECKS is not valid JSON ({exc})")
        return {}
    if not isinstance(parsed, dict):
        problems.append("SMOKE_CHECKS must be a JSON object of deployment group name -> list of checks")
        return {}
    checks: Dict[str, Tuple[Mapping[str, object], ...]] = {}
    for group, items in parsed.items():
        good = []
        for i, item in enumerate(items if isinstance(items, list) else [None]):
            where = f"SMOKE_CHECKS[{group!r}][{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"].startswith("/"):
                problems.append(f"{where} needs a path starting with / (allowed: {{path, status, body?}})")
                continue
            status = item.get("status")
            if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
                problems.append(f"{where}.status={status!r} is invalid (allowed: an HTTP status 100..599)")
                continue
            body = item.get("body")
            if body is not None:
                try:
                    re.compile(str(body))
                except re.error as exc:
                    problems.append(f"{where}.body={body!r} is not a regular expression ({exc})")
                    continue
            good.append({"path": item["path"], "status": status, "body": body})
        checks[group] = tuple(good)
    return checks


def _int_in_range(
    env: Mapping[str, str], name: str, default: int, bounds: Tuple[int, int], problems: List[str]
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}={raw!r} is not an integer (allowed: {bounds[0]}..{bounds[1]})")
        return default
    if not bounds[0] <= value <= bounds[1]:
        problems.append(f"{name}={value} is out of range (allowed: {bounds[0]}..{bounds[1]})")
    return value


def _float_in_range(
    env: Mapping[str, str], name: str, default: float, bounds: Tuple[float, float], problems: List[str]
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name}={raw!r} is not a number (allowed: {bounds[0]}..{bounds[1]})")
        return default
    # float() accepts "nan"/"inf", which would defeat the time budget.
    if not bounds[0] <= value <= bounds[1]:
        problems.append(f"{name}={raw} is out of range (allowed: {bounds[0]}..{bounds[1]})")
    return value


def _test_endpoints(raw: str, problems: List[str]) -> Dict[str, str]:
    raw = raw.strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        problems.append(f"TEST_ENDPOINTS is not valid JSON ({exc})")
        return {}
    if not isinstance(parsed, dict):
        problems.append("TEST_ENDPOINTS must be a JSON object of deployment group name -> URL")
        return {}
    endpoints: Dict[str, str] = {}
    for group, url in parsed.items():
        if not isinstance(url, str):
            problems.append(f"TEST_ENDPOINTS[{group!r}] is not a string")
            continue
        parts = urlparse(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"TEST_ENDPOINTS[{group!r}]={url!r} is not an http(s) URL")
            continue
        endpoints[group] = url
    return endpoints


def parse_group_name(group: str, project: str) -> Optional[Tuple[str, str]]:
    """`{project}-{stage}-{service}` -> (stage, service), or None if the name does not fit."""
    prefix = f"{project}-"
    if not group.startswith(prefix):
        return None
    stage, _, service = group[len(prefix):].partition("-")
    if stage not in STAGES or not service:
        return None
    return stage, service
