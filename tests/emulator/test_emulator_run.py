"""The main job's report of what its emulators saw (the whole run is exercised by `nox -s emulator`)."""
from __future__ import annotations

from pathlib import Path

from cicd.emulator.run import _retries


def test_retries_are_counted_from_the_emulator_error_log(tmp_path: Path) -> None:
    log = tmp_path / "us-east-1.log"
    log.write_text(
        "2026-11-27 14:07:19,606 WARNING cicd.emulator.server: client retry PutMetricAlarm (e7) attempt=2: its earlier "
        "attempt was answered 200 OK; the same answer is given again, the call is not run twice; earlier: ...\n"
        "2026-11-27 14:07:20,000 WARNING cicd.emulator.server: client retry CreateRule (c7) attempt=2: 400 BAD REQUEST "
        "after 0.00 s; earlier: attempt=1: 500 INTERNAL SERVER ERROR after 0.00 s\n"
        "2026-11-27 14:07:21,000 ERROR werkzeug: something unrelated\n")
    assert _retries(log) == (2, 1)


def test_no_log_or_no_retries_is_nothing_to_report(tmp_path: Path) -> None:
    assert _retries(tmp_path / "missing.log") == (0, 0)
    (tmp_path / "quiet.log").write_text("")
    assert _retries(tmp_path / "quiet.log") == (0, 0)
