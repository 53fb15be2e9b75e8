"""bench/run.py: the figures `nox -s bench` prints (medians, ratios, the table) and its command line.

No timed assertions: `nox -s bench` is the benchmark; these check that it computes and reports correctly.
"""
from __future__ import annotations

import json
import math

import pytest

from bench import run as bench
from bench.measure import BenchError, Run

MB = 1024 * 1024


def _run(wall: float, rss_mb: float, cpu: float = 1.0) -> Run:
    return Run(argv=["x"], wall_s=wall, cpu_s=cpu, peak_rss=int(rss_mb * MB), samples=10, returncode=0)


def _report() -> dict:
    report = {
        "machine": {"python": "3.x", "node": "v20", "cpus": 2, "load_avg": 1.0, "load_avg_after": 1.5},
        "floor": bench.summarize([_run(10, 1000, cpu=8), _run(9, 990, cpu=7), _run(11, 1010, cpu=9)]),
        "lean_floor": bench.summarize([_run(4, 500, cpu=2), _run(3, 400, cpu=2)]),
        "full": bench.summarize([_run(12, 1050, cpu=6), _run(30, 1040, cpu=6), _run(11.5, 1060, cpu=6)]),
        "preview": bench.summarize([_run(0.6, 50)]),
        "noop_synth": bench.summarize([_run(0.3, 40), _run(0.2, 40)]),
    }
    report["ratios"] = bench.ratios(report)
    return report


def test_median_odd_even_and_unsorted():
    assert bench.median([3.0, 1.0, 2.0]) == 2.0
    assert bench.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert bench.median([7]) == 7.0
    with pytest.raises(ValueError):
        bench.median([])


def test_ratio():
    assert bench.ratio(11.0, 10.0) == pytest.approx(1.1)
    assert bench.ratio(1.0, 0.0) == math.inf
    assert math.isnan(bench.ratio(0.0, 0.0))


def test_summarize_takes_medians_and_keeps_each_run():
    s = bench.summarize([_run(10, 1000), _run(9, 990), _run(30, 1010)])
    assert s["runs"] == 3
    assert s["wall_s"] == 10  # the 30 s outlier does not move a median
    assert s["peak_rss_mb"] == pytest.approx(1000, abs=0.01)
    assert s["wall_all_s"] == [10, 9, 30]


def test_ratios_are_the_full_synths_medians_over_each_floors():
    r = _report()["ratios"]
    assert r["full/floor"] == pytest.approx({"wall_s": 12 / 10, "cpu_s": 6 / 8, "peak_rss_mb": 1050 / 1000})
    assert r["full/lean floor"] == pytest.approx({"wall_s": 12 / 3.5, "cpu_s": 6 / 2, "peak_rss_mb": 1050 / 450})


def test_report_table_shows_every_measurement_and_both_ratios():
    text = bench.format_report(_report())
    for name in ("floor (provider + 1 res)", "lean floor (on demand)", "full synth (stack.app)", "preview",
                 "no-op synth (cache hit)"):
        assert name in text
    full_floor = next(line for line in text.splitlines() if line.startswith("full/floor "))
    assert full_floor.split() == ["full/floor", "1.20x", "0.75x", "1.05x"]
    full_lean = next(line for line in text.splitlines() if line.startswith("full/lean floor "))
    assert full_lean.split()[2:] == ["3.43x", "3.00x", "2.33x"]
    assert "12.00 30.00 11.50" in text  # each run's wall time beside the median
    assert "PASS" not in text and "FAIL" not in text  # figures, not verdicts
    json.loads(json.dumps(_report()))  # what --json prints


def test_runs_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--runs", "0"])
    assert "--runs" in capsys.readouterr().err


def test_the_options_are_runs_json_and_profile(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--help"])
    text = capsys.readouterr().out
    assert "--runs" in text and "--json" in text and "--profile" in text
    assert "--strict" not in text and "--with-tests" not in text


def test_main_prints_a_failure_in_one_line(monkeypatch, capsys):
    def failing(*args, **kwargs):
        raise BenchError("full synth failed (exit status 2: error: bad .env); command: x")

    monkeypatch.setattr(bench, "run_bench", failing)
    assert bench.main(["--runs", "1"]) == 1
    assert capsys.readouterr().err.splitlines()[-1:] == [
        "error: full synth failed (exit status 2: error: bad .env); command: x"]
