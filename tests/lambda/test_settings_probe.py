"""hc_settings: the smoke-check and probe settings (SMOKE_CHECKS, PROBE_FUNCTION, TEST_LISTENERS).

Each rule is shown on the Settings a good value gives and on the exact problem a wrong one is named by,
with what is allowed; one wrong entry never hides the next (every problem is in the one error).
"""
from __future__ import annotations

import json
from typing import Any, Dict

import pytest

import hc_settings  # noqa: E402  (tests/lambda/conftest.py puts the function folder on sys.path)

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
GOOD = {"CODEDEPLOY_APPLICATION": "shop-ecs", "NOTIFICATION_TOPIC_ARN": TOPIC, "PROJECT_NAME": "shop"}
ALB = "app/shop-staging-alb/0123456789abcdef"
LISTENER_ALLOWED = "(allowed: {alb: app/<name>/<id>, port: 1..65535, scheme: http|https})"
CHECK_ALLOWED = "(allowed: {path, status, body?})"


def _problems(**env: Any) -> str:
    with pytest.raises(hc_settings.ConfigError) as err:
        hc_settings.load({**GOOD, **{k: v if isinstance(v, str) else json.dumps(v) for k, v in env.items()}})
    return str(err.value)


def _listener(**changes: Any) -> Dict[str, Any]:
    item: Dict[str, Any] = {"alb": ALB, "port": 8443, "scheme": "https"}
    item.update(changes)
    return {key: value for key, value in item.items() if value is not None}


def test_every_probe_setting_read_into_the_settings() -> None:
    cfg = hc_settings.load({
        **GOOD,
        "SMOKE_CHECKS": json.dumps({
            "shop-staging-api": [{"path": "/health", "status": 200, "note": "dropped"},
                                 {"path": "/v1/missing", "status": 404, "body": "^not found"}],
            "shop-production-api": [{"path": "/", "status": 100}, {"path": "/gone", "status": 599}],
            "shop-staging-auth": []}),
        "PROBE_FUNCTION": " shop-probe_1 ",
        "TEST_LISTENERS": json.dumps({"shop-staging-api": _listener(),
                                      "shop-production-api": _listener(port=1, scheme="http"),
                                      "shop-staging-auth": _listener(port=65535)}),
    })
    assert cfg == hc_settings.Settings(
        "shop-ecs", TOPIC, "shop",
        smoke_checks={
            "shop-staging-api": ({"path": "/health", "status": 200, "body": None},
                                 {"path": "/v1/missing", "status": 404, "body": "^not found"}),
            "shop-production-api": ({"path": "/", "status": 100, "body": None},
                                    {"path": "/gone", "status": 599, "body": None}),
            "shop-staging-auth": ()},
        probe_function="shop-probe_1",
        test_listeners={"shop-staging-api": {"alb": ALB, "port": 8443, "scheme": "https"},
                        "shop-production-api": {"alb": ALB, "port": 1, "scheme": "http"},
                        "shop-staging-auth": {"alb": ALB, "port": 65535, "scheme": "https"}})


def test_unset_or_blank_probe_settings_mean_none() -> None:
    for env in ({}, {"SMOKE_CHECKS": " ", "PROBE_FUNCTION": " ", "TEST_LISTENERS": "\n"}):
        cfg = hc_settings.load({**GOOD, **env})
        assert (cfg.smoke_checks, cfg.probe_function, cfg.test_listeners) == ({}, "", {})


def test_a_64_character_probe_function_name_is_allowed() -> None:
    assert hc_settings.load({**GOOD, "PROBE_FUNCTION": "f" * 64}).probe_function == "f" * 64


@pytest.mark.parametrize("value", ["shop probe", "shop:probe", "f" * 65])
def test_a_wrong_probe_function_is_named(value: str) -> None:
    assert _problems(PROBE_FUNCTION=value) == f"PROBE_FUNCTION={value!r} is invalid (allowed: a Lambda function name)"


@pytest.mark.parametrize("value, message", [
    ("{nope", "SMOKE_CHECKS is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
              "(char 1))"),
    ([{"path": "/"}], "SMOKE_CHECKS must be a JSON object of deployment group name -> list of checks"),
    ({"g": {"path": "/", "status": 200}}, f"SMOKE_CHECKS['g'][0] needs a path starting with / {CHECK_ALLOWED}"),
    ({"g": ["/health"]}, f"SMOKE_CHECKS['g'][0] needs a path starting with / {CHECK_ALLOWED}"),
    ({"g": [{"status": 200}]}, f"SMOKE_CHECKS['g'][0] needs a path starting with / {CHECK_ALLOWED}"),
    ({"g": [{"path": 5, "status": 200}]}, f"SMOKE_CHECKS['g'][0] needs a path starting with / {CHECK_ALLOWED}"),
    ({"g": [{"path": "health", "status": 200}]}, f"SMOKE_CHECKS['g'][0] needs a path starting with / {CHECK_ALLOWED}"),
    ({"g": [{"path": "/"}]}, "SMOKE_CHECKS['g'][0].status=None is invalid (allowed: an HTTP status 100..599)"),
    ({"g": [{"path": "/", "status": "200"}]},
     "SMOKE_CHECKS['g'][0].status='200' is invalid (allowed: an HTTP status 100..599)"),
    ({"g": [{"path": "/", "status": True}]},
     "SMOKE_CHECKS['g'][0].status=True is invalid (allowed: an HTTP status 100..599)"),
    ({"g": [{"path": "/", "status": 99}]}, "SMOKE_CHECKS['g'][0].status=99 is invalid (allowed: an HTTP status 100..599)"),
    ({"g": [{"path": "/", "status": 600}]},
     "SMOKE_CHECKS['g'][0].status=600 is invalid (allowed: an HTTP status 100..599)"),
    ({"g": [{"path": "/", "status": 200, "body": "("}]},
     "SMOKE_CHECKS['g'][0].body='(' is not a regular expression (missing ), unterminated subpattern at position 0)"),
])
def test_each_smoke_check_problem_is_named(value: Any, message: str) -> None:
    assert _problems(SMOKE_CHECKS=value) == message


def test_every_bad_smoke_check_is_named_not_only_the_first() -> None:
    checks = {"g": [{"path": "x"}, {"path": "/a", "status": 0}, {"path": "/b", "status": 200, "body": "["},
                    {"path": "/c", "status": 700}, {"path": "/d", "status": 200}],
              "h": "not a list"}
    assert _problems(SMOKE_CHECKS=checks) == "; ".join([
        f"SMOKE_CHECKS['g'][0] needs a path starting with / {CHECK_ALLOWED}",
        "SMOKE_CHECKS['g'][1].status=0 is invalid (allowed: an HTTP status 100..599)",
        "SMOKE_CHECKS['g'][2].body='[' is not a regular expression (unterminated character set at position 0)",
        "SMOKE_CHECKS['g'][3].status=700 is invalid (allowed: an HTTP status 100..599)",
        f"SMOKE_CHECKS['h'][0] needs a path starting with / {CHECK_ALLOWED}"])


@pytest.mark.parametrize("item", [
    "not an object",
    _listener(alb=None),
    _listener(alb=7),
    _listener(alb="shop-staging-alb"),
    _listener(alb="arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/" + ALB),
    _listener(alb="app/shop-staging-alb/XYZ"),
    _listener(port=None),
    _listener(port="8443"),
    _listener(port=0),
    _listener(port=65536),
    _listener(port=True),  # a bool is an int to Python: port 1 if it were let through
    _listener(scheme=None),
    _listener(scheme="tcp"),
    _listener(scheme="HTTPS"),
])
def test_each_wrong_test_listener_is_named_with_what_is_allowed(item: Any) -> None:
    assert _problems(TEST_LISTENERS={"shop-staging-api": item}) == \
        f"TEST_LISTENERS['shop-staging-api']={item!r} is invalid {LISTENER_ALLOWED}"


@pytest.mark.parametrize("value, message", [
    ("{nope", "TEST_LISTENERS is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
              "(char 1))"),
    ([_listener()], "TEST_LISTENERS must be a JSON object of deployment group name -> {alb, port, scheme}"),
])
def test_test_listeners_must_be_a_json_object(value: Any, message: str) -> None:
    assert _problems(TEST_LISTENERS=value) == message


def test_every_problem_of_every_new_setting_in_one_error() -> None:
    listeners = {"a": _listener(port=0), "b": _listener(), "c": _listener(scheme="ftp")}
    assert _problems(SMOKE_CHECKS=[], PROBE_FUNCTION="bad name", TEST_LISTENERS=listeners) == "; ".join([
        "SMOKE_CHECKS must be a JSON object of deployment group name -> list of checks",
        "PROBE_FUNCTION='bad name' is invalid (allowed: a Lambda function name)",
        f"TEST_LISTENERS['a']={listeners['a']!r} is invalid {LISTENER_ALLOWED}",
        f"TEST_LISTENERS['c']={listeners['c']!r} is invalid {LISTENER_ALLOWED}"])


def test_every_bad_test_endpoint_is_named_not_only_the_first() -> None:
    assert _problems(TEST_ENDPOINTS={"a": "ftp://h", "b": "gopher://h", "c": 1}) == (
        "TEST_ENDPOINTS['a']='ftp://h' is not an http(s) URL; TEST_ENDPOINTS['b']='gopher://h' is not an http(s) URL; "
        "TEST_ENDPOINTS['c'] is not a string")
