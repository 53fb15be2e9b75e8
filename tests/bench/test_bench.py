"""The synthesis benchmark's own logic (cicd/bench*.py, bench/floor_app.py). No timed assertions:
`nox -s bench` is the benchmark; these only check that it computes and measures correctly."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench import run as bench

from bench import harness as bench_harness

from bench import measure as bench_measure

from bench import variants as bench_variants

MB = 1024 * 1024


# --- statistics and targets ------------------------------------------------------------------

def test_median_odd_even_and_unsorted():
    assert bench.median([3.0, 1.0, 2.0]) == 2.0
    assert bench.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert bench.median([7]) == 7.0


def test_median_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        bench.median([])


def test_ratio():
    assert bench.ratio(11.0, 10.0) == pytest.approx(1.1)
    assert bench.ratio(1.0, 0.0) == math.inf
    assert math.isnan(bench.ratio(0.0, 0.0))


def test_check_pass_fail_and_nan():
    assert bench.Check("x", 1.10, 1.10, "x").passed  # the bound itself passes
    assert not bench.Check("x", 1.11, 1.10, "x").passed
    assert not bench.Check("x", float("nan"), 1.10, "x").passed
    assert bench.Check("preview wall", 0.5, 1.0, "s").describe().startswith("PASS")
    assert "FAIL" in bench.Check("full/floor wall", 1.5, 1.1, "x").describe()


def _run(wall: float, rss_mb: float, cpu: float = 1.0) -> bench_measure.Run:
    rss = int(rss_mb * MB)
    return bench_measure.Run(argv=["x"], wall_s=wall, cpu_s=cpu, peak_rss=rss, tree_rss_peak=rss,
                             max_process_hwm=rss // 2, hwm_sum=rss, rusage_maxrss=rss // 2,
                             by_process={"python": rss // 2, "node": rss // 2}, samples=10, returncode=0)


def _report() -> dict:
    report = {
        "machine": {"python": "3.x", "node": "v20", "cpus": 2, "load_avg": [1.0, 1, 1], "load_avg_after": [1.0, 1, 1]},
        # medians: floor 10 s / 1000 MB; full 12 s / 1050 MB
        "floor": bench.summarize([_run(10, 1000), _run(9, 990), _run(11, 1010)]),
        "lean_floor": bench.summarize([_run(4, 600)]),
        "full": bench.summarize([_run(12, 1050), _run(30, 1040), _run(11.5, 1060)]),
        "preview": bench.summarize([_run(0.6, 50)]),
        "noop_synth": bench.summarize([_run(0.3, 40), _run(0.2, 40)]),
    }
    report["ratios"] = {"wall": 1.2, "cpu": 1.0, "peak_rss": 1.05, "noop_wall": 0.025,
                        "lean_wall": 3.0, "lean_cpu": 1.0, "lean_peak_rss": 1.75}
    report["checks"] = [{**vars(c), "passed": c.passed} for c in bench.checks(report)]
    return report


def test_summarize_takes_medians():
    s = bench.summarize([_run(10, 1000), _run(9, 990), _run(30, 1010)])
    assert s["runs"] == 3
    assert s["wall_s"] == 10
    assert s["peak_rss_mb"] == pytest.approx(1000, abs=0.01)
    assert s["rss_parts_mb"]["by_process"]["node"] == pytest.approx(500, abs=0.01)


def test_checks_compute_ratios_against_the_floor_and_mark_each_target():
    checks = {c.name: c for c in bench.checks(_report())}
    assert checks["full/floor wall"].value == pytest.approx(12 / 10)
    assert not checks["full/floor wall"].passed
    assert checks["full/floor peak RSS"].value == pytest.approx(1050 / 1000, abs=1e-3)
    assert checks["full/floor peak RSS"].passed
    assert checks["preview wall"].passed
    assert checks["no-op synth/floor wall"].value == pytest.approx(0.25 / 10)
    assert checks["no-op synth/floor wall"].passed


def test_report_table_shows_figures_ratios_and_verdicts():
    text = bench.format_report(_report())
    assert "floor (provider + 1 res)" in text and "full synth (stack.app)" in text
    assert "lean floor (on demand)" in text and "3.00x" in text  # reported, without a target
    assert "1.20x" in text  # the wall ratio
    assert "FAIL  full/floor wall" in text
    assert "PASS  full/floor peak RSS" in text
    json.dumps(_report())  # --json must be able to print it


def test_child_env_is_quiet_fixed_and_never_inherits_an_outdir(monkeypatch):
    monkeypatch.setenv("CDKTF_OUTDIR", "/somewhere/else")
    env = bench.child_env(EXTRA="1")
    assert env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == "20"
    assert env["DEPLOYMENT_ID"] == bench.DEPLOYMENT_ID
    assert "CDKTF_OUTDIR" not in env
    assert env["EXTRA"] == "1"


def test_runs_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--runs", "0"])
    assert "--runs" in capsys.readouterr().err


def test_profile_child_argv():
    argv = bench_harness._child_argv("full", Path("/tmp/x.json"), without=["typecheck"], instrument=True)
    assert argv[:3] == [sys.executable, "-m", "bench.harness"]
    assert argv[argv.index("--_child") + 1] == "full"
    assert argv[argv.index("--_without") + 1] == "typecheck"
    assert "--_instrument" in argv


def test_profile_report_shows_the_candidates_and_per_synth_costs():
    from bench import profiling as bench_profile

    def instrumented(scopes: dict, extra: dict) -> dict:
        return {"wall_s": 5.0, "cpu_s": 6.0, "peak_rss_mb": 900.0, "phases": {"construct": 1.0, "synth": 2.0},
                "trips": {"kind": {"get": [10, 0.1]}, "scope": {"stage/service tag walk": [40, 0.05]}},
                "scopes": scopes, "extra": extra, "modules": {"botocore": False}}

    timing = {"median": 1.0, "min": 0.9}
    saves = {"median": 0.2, "min_diff": 0.1, "each": [0.2]}
    profile = {
        "instrumented_floor": instrumented({}, {}),
        "instrumented_full": instrumented({"stage/service tag walk": [2, 0.12], "Lambda package (zipfile)": [2, 0.01]},
                                          {"tagged": {"resources": 321}}),
        "micro": {"repeats": 5,
                  "synth": {"baseline": {"wall_s": timing, "cpu_s": timing, "trips": 1234, "trips_by_kind": {}}},
                  "construct": {"baseline": {"wall_s": timing, "cpu_s": timing, "python_cpu_s": timing},
                                "typecheck": {"wall_s": timing, "cpu_s": timing, "python_cpu_s": timing,
                                              "saves_wall_s": saves, "saves_cpu_s": saves}}},
    }
    text = bench_profile.format_profile(profile)
    assert "stage/service tag walk" in text and "Lambda package (zipfile)" in text
    assert "321 resources tagged" in text
    assert "app.synth() of both stacks, unpatched: 1.00 s wall" in text
    assert "typecheck saves 0.20 s wall" in text


# --- measuring ------------------------------------------------------------------------------------

HOLD = textwrap.dedent("""
    import sys, time
    block = bytearray(b"\\x01") * ({mb} * 1024 * 1024)  # written, so resident
    time.sleep({hold})
    sys.exit({code})
""")


def test_measure_sees_a_child_allocating_100_mb():
    run = bench_measure.measure([sys.executable, "-c", HOLD.format(mb=110, hold=0.5, code=0)])
    assert run.ok
    assert run.peak_rss >= 100 * MB
    assert run.rusage_maxrss >= 100 * MB
    assert run.samples >= 1


def test_measure_never_misses_a_short_spike():
    # Exits right after allocating: sampling may see nothing, VmHWM/ru_maxrss still count it.
    run = bench_measure.measure([sys.executable, "-c", HOLD.format(mb=110, hold=0, code=0)])
    assert run.peak_rss >= 100 * MB


def test_measure_sums_processes_alive_at_the_same_time():
    # A parent and its child both hold ~100 MB: the tree's peak is their sum, while ru_maxrss (a max
    # over processes) sees only one of them.
    parent = textwrap.dedent(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", {HOLD.format(mb=100, hold=1.5, code=0)!r}])
        block = bytearray(b"\\x01") * (100 * 1024 * 1024)
        child.wait()
    """)
    run = bench_measure.measure([sys.executable, "-c", parent])
    assert run.ok
    assert run.tree_rss_peak >= 190 * MB
    assert run.peak_rss >= 190 * MB
    assert run.rusage_maxrss < 190 * MB
    assert run.by_process.get("python", 0) >= 190 * MB  # both processes are named python


def test_measure_is_not_inflated_by_a_large_parent():
    # Linux starts a forked child's ru_maxrss at its parent's RSS; measure() forks the command from a
    # small wrapper, so a large bench process (or pytest session) does not leak into the figure.
    ballast = bytearray(b"\x01") * (300 * MB)
    try:
        run = bench_measure.measure([sys.executable, "-c", HOLD.format(mb=100, hold=0.2, code=0)])
    finally:
        del ballast
    assert 100 * MB <= run.rusage_maxrss < 250 * MB
    assert 100 * MB <= run.peak_rss < 250 * MB


def test_measure_reports_the_exit_status_and_output():
    run = bench_measure.measure([sys.executable, "-c", "print('hello'); raise SystemExit(3)"])
    assert run.returncode == 3 and not run.ok
    assert "hello" in run.output
    with pytest.raises(bench_measure.BenchError, match="exit status 3"):
        bench._require(run, "demo")


def test_children_of_a_process_found_both_ways():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        import os
        assert child.pid in bench_measure._children(os.getpid())
        assert child.pid in bench_measure._children_by_scan(os.getpid())
    finally:
        child.kill()
        child.wait()


# --- the floor app --------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["--on-demand"]], ids=["floor", "lean-floor"])
def test_floor_app_synthesizes_two_stacks_with_one_resource_each(tmp_path, args):
    # The same command and environment the benchmark runs (~10 s: it loads the provider bindings).
    out = tmp_path / "out"
    run = bench_measure.measure([sys.executable, "-m", "bench.floor_app", *args],
                                env=bench.child_env(CDKTF_OUTDIR=str(out)))
    assert run.ok, run.output
    bench._require(run, "floor", out)
    for region in bench.REGIONS:
        doc = json.loads((out / "stacks" / region / "cdk.tf.json").read_text())
        resources = [(kind, name) for kind, items in doc["resource"].items() for name in items]
        assert resources == [("aws_sns_topic", "topic")]
        assert doc["provider"]["aws"][0]["region"] == region
    assert sorted(p.name for p in (out / "stacks").iterdir()) == sorted(bench.REGIONS)


def test_patched_variant_is_undone_on_exit():
    from cicd.workspace import config

    original = config.aws_regions
    with bench_variants._Patched("aws_regions"):
        assert config.aws_regions is not original
        assert "us-west-2" in config.aws_regions()
    assert config.aws_regions is original


def test_every_variant_is_described():
    assert set(bench_variants.ABLATIONS) == set(bench_variants.PROCESS_ABLATIONS) | set(bench_variants.APP_VARIANTS)
    with pytest.raises(ValueError):
        bench_variants._patches("no-such-variant")
