"""Timestamp deployment IDs: UTC, one format, DEPLOYMENT_ID overrides (validated)."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from cicd.workspace import deployment_id, render

from cicd.docs import preview
from cicd.workspace.config import Stage, load_region
from cicd.workspace.errors import UserError

FORMAT = re.compile(r"^\d{8}T\d{6}Z$")


def test_new_is_a_utc_timestamp_now():
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    value = deployment_id.new()
    after = dt.datetime.now(dt.timezone.utc)
    assert FORMAT.match(value), value
    parsed = dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    assert before <= parsed <= after


def test_new_converts_to_utc():
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert deployment_id.new(dt.datetime(2026, 11, 27, 12, 25, 0, tzinfo=plus_two)) == "20261127T102500Z"
    assert deployment_id.new(dt.datetime(2026, 1, 1, 0, 30, tzinfo=plus_two)) == "20251231T223000Z"


def test_current_without_override_is_fresh():
    value = deployment_id.current({})
    assert FORMAT.match(value)
    assert FORMAT.match(deployment_id.current({"DEPLOYMENT_ID": "   "}))  # blank: no override


def test_override_wins():
    assert deployment_id.current({"DEPLOYMENT_ID": "20200229T235959Z"}) == "20200229T235959Z"
    assert deployment_id.current({"DEPLOYMENT_ID": " 20261127T102500Z\n"}) == "20261127T102500Z"


@pytest.mark.parametrize("bad", [
    "2026-11-27T10:25:00Z",
    "20261127T102500",          # no Z: not UTC
    "20261127t102500z",
    "20261127T102500Z-extra",
    "20261399T000000Z",         # month 13
    "20210229T000000Z",         # not a leap year
    "20261127T246000Z",
    "２０２６１１２７T１０２５００Z",  # non-ASCII digits: no good in an image tag
    "latest",
])
def test_invalid_override_is_a_user_error_naming_the_variable(bad):
    with pytest.raises(UserError) as caught:
        deployment_id.current({"DEPLOYMENT_ID": bad})
    (line,) = caught.value.problems
    assert "DEPLOYMENT_ID" in line and bad.strip() in line


def test_override_reaches_the_task_definition_tag():
    cfg = load_region("us-east-1")
    service = cfg.services[0]
    chosen = deployment_id.current({"DEPLOYMENT_ID": "20300101T010203Z"})
    td = render.render_taskdef(cfg, Stage.PRODUCTION, service, render.example_refs(cfg, Stage.PRODUCTION, service),
                               chosen)
    assert {"key": "deployment-id", "value": "20300101T010203Z"} in td["tags"]


def test_override_reaches_the_preview(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEPLOYMENT_ID", "20300101T010203Z")
    out = tmp_path / "p"
    assert preview.main(["--region", "us-west-2", "--service", "api-service", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("us-west-2")]
    assert len(rows) == 2 and all(row.endswith("20300101T010203Z-<commit>") for row in rows)
    assert "(deployment id 20300101T010203Z)" in printed
    for stage in ("staging", "production"):
        td = json.loads((out / "us-west-2" / stage / "api-service" / "taskdef.json").read_text())
        assert {"key": "deployment-id", "value": "20300101T010203Z"} in td["tags"]


def test_preview_rejects_invalid_override_before_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYMENT_ID", "yesterday")
    with pytest.raises(UserError, match="DEPLOYMENT_ID=yesterday"):
        preview.main(["--out", str(tmp_path / "p")])
    assert list(tmp_path.iterdir()) == []
