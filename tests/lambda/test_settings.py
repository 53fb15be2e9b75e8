"""hc_settings: every variable's rule, each problem named exactly, all of them in one error; group names."""
from __future__ import annotations

from typing import Dict

import pytest

import hc_settings  # noqa: E402  (tests/lambda/conftest.py puts the function folder on sys.path)

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
GOOD = {"CODEDEPLOY_APPLICATION": "shop-ecs", "NOTIFICATION_TOPIC_ARN": TOPIC, "PROJECT_NAME": "shop"}


def _problems(**env: str) -> str:
    with pytest.raises(hc_settings.ConfigError) as err:
        hc_settings.load({**GOOD, **env})
    return str(err.value)


def test_a_good_environment_with_every_option() -> None:
    cfg = hc_settings.load({**GOOD, "MAX_ATTEMPTS": " 10 ", "PROBE_TIMEOUT_SECONDS": "0.5",
                            "TEST_ENDPOINTS": '{"shop-staging-api": "https://x.example/health", "b": "http://y:8080"}'})
    assert cfg == hc_settings.Settings("shop-ecs", TOPIC, "shop", 10, 0.5,
                                       {"shop-staging-api": "https://x.example/health", "b": "http://y:8080"})
    edges = hc_settings.load({**GOOD, "MAX_ATTEMPTS": "1", "PROBE_TIMEOUT_SECONDS": "20",
                              "NOTIFICATION_TOPIC_ARN": "arn:aws-us-gov:sns:us-gov-west-1:123456789012:a.fifo",
                              "CODEDEPLOY_APPLICATION": "A" * 100, "PROJECT_NAME": "p" * 32})
    assert (edges.max_attempts, edges.probe_timeout) == (1, 20.0)


def test_defaults_when_unset_or_blank() -> None:
    cfg = hc_settings.load({**GOOD, "MAX_ATTEMPTS": " ", "PROBE_TIMEOUT_SECONDS": "", "TEST_ENDPOINTS": "  "})
    assert (cfg.max_attempts, cfg.probe_timeout, dict(cfg.test_endpoints)) == (3, 5.0, {})


def test_the_process_environment_is_read_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GOOD.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MAX_ATTEMPTS", "7")
    assert hc_settings.load().max_attempts == 7


@pytest.mark.parametrize("env, message", [
    ({"CODEDEPLOY_APPLICATION": " "}, "CODEDEPLOY_APPLICATION is missing (allowed: a CodeDeploy application name)"),
    ({"CODEDEPLOY_APPLICATION": "A" * 101},
     f"CODEDEPLOY_APPLICATION={'A' * 101!r} is invalid (allowed: a CodeDeploy application name)"),
    ({"NOTIFICATION_TOPIC_ARN": "my-topic"}, "NOTIFICATION_TOPIC_ARN='my-topic' is invalid (allowed: an SNS topic ARN)"),
    ({"PROJECT_NAME": "p" * 33},
     f"PROJECT_NAME={'p' * 33!r} is invalid (allowed: [a-z0-9][a-z0-9-]*, at most 32 chars)"),
    ({"PROJECT_NAME": "-shop"}, "PROJECT_NAME='-shop' is invalid (allowed: [a-z0-9][a-z0-9-]*, at most 32 chars)"),
    ({"MAX_ATTEMPTS": "three"}, "MAX_ATTEMPTS='three' is not an integer (allowed: 1..10)"),
    ({"MAX_ATTEMPTS": "0"}, "MAX_ATTEMPTS=0 is out of range (allowed: 1..10)"),
    ({"MAX_ATTEMPTS": "11"}, "MAX_ATTEMPTS=11 is out of range (allowed: 1..10)"),
    ({"PROBE_TIMEOUT_SECONDS": "soon"}, "PROBE_TIMEOUT_SECONDS='soon' is not a number (allowed: 0.5..20.0)"),
    ({"PROBE_TIMEOUT_SECONDS": "0.4"}, "PROBE_TIMEOUT_SECONDS=0.4 is out of range (allowed: 0.5..20.0)"),
    ({"PROBE_TIMEOUT_SECONDS": "nan"}, "PROBE_TIMEOUT_SECONDS=nan is out of range (allowed: 0.5..20.0)"),
    ({"PROBE_TIMEOUT_SECONDS": "20.5"}, "PROBE_TIMEOUT_SECONDS=20.5 is out of range (allowed: 0.5..20.0)"),
    ({"TEST_ENDPOINTS": "[1]"}, "TEST_ENDPOINTS must be a JSON object of deployment group name -> URL"),
    ({"TEST_ENDPOINTS": '{"g": 1}'}, "TEST_ENDPOINTS['g'] is not a string"),
    ({"TEST_ENDPOINTS": '{"g": "file:///etc/passwd"}'}, "TEST_ENDPOINTS['g']='file:///etc/passwd' is not an http(s) URL"),
    ({"TEST_ENDPOINTS": '{"g": "http://"}'}, "TEST_ENDPOINTS['g']='http://' is not an http(s) URL"),
])
def test_each_problem_is_named_with_what_is_allowed(env: Dict[str, str], message: str) -> None:
    assert _problems(**env) == message


def test_invalid_json_names_the_parse_error() -> None:
    assert _problems(TEST_ENDPOINTS="{nope").startswith("TEST_ENDPOINTS is not valid JSON (Expecting property name")


def test_all_problems_are_reported_together_and_good_endpoints_survive_bad_ones() -> None:
    assert _problems(PROJECT_NAME="", MAX_ATTEMPTS="x", TEST_ENDPOINTS='{"a": 1, "b": "ftp://h", "c": "http://ok"}') \
        == ("PROJECT_NAME is missing (allowed: [a-z0-9][a-z0-9-]*, at most 32 chars); "
            "MAX_ATTEMPTS='x' is not an integer (allowed: 1..10); TEST_ENDPOINTS['a'] is not a string; "
            "TEST_ENDPOINTS['b']='ftp://h' is not an http(s) URL")
    cfg = hc_settings.load({**GOOD, "TEST_ENDPOINTS": '{"c": "http://ok"}'})
    assert dict(cfg.test_endpoints) == {"c": "http://ok"}


@pytest.mark.parametrize("group, parsed", [
    ("shop-staging-api-service", ("staging", "api-service")),
    ("shop-production-auth", ("production", "auth")),
    ("shop-build-api-service", None),
    ("shop-staging-", None),
    ("shop-staging", None),
    ("other-staging-api", None),
    ("shopstaging-api", None),
])
def test_group_names_follow_project_stage_service(group: str, parsed) -> None:
    assert hc_settings.parse_group_name(group, "shop") == parsed


def test_an_empty_environment_names_every_required_variable() -> None:
    with pytest.raises(hc_settings.ConfigError) as err:
        hc_settings.load({})
    assert str(err.value) == (
        "CODEDEPLOY_APPLICATION is missing (allowed: a CodeDeploy application name); "
        "NOTIFICATION_TOPIC_ARN is missing (allowed: an SNS topic ARN); "
        "PROJECT_NAME is missing (allowed: [a-z0-9][a-z0-9-]*, at most 32 chars)")
