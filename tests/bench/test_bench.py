"""The synthesis benchmark's own logic (bench/). No timed assertions:
`nox -s bench` is the benchmark; these only check that it computes and measures correctly."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest

from bench import measure as bench_measure
from bench import profiling as bench_profile
from bench import run as bench
from bench import synths

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
    return bench_measure.Run(argv=["x"], wall_s=wall, cpu_s=cpu, peak_rss=rss, samples=10, returncode=0)


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
    env = synths.child_env(EXTRA="1")
    assert env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == "20"
    assert env["DEPLOYMENT_ID"] == synths.DEPLOYMENT_ID
    assert "CDKTF_OUTDIR" not in env
    assert env["EXTRA"] == "1"


def test_runs_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--runs", "0"])
    assert "--runs" in capsys.readouterr().err


def test_profile_lists_our_functions_by_cumulative_and_every_function_by_own_time(tmp_path):
    import cProfile

    from cicd.workspace import config

    profiler = cProfile.Profile()
    profiler.runcall(config.aws_regions)
    profiler.dump_stats(str(tmp_path / "p.prof"))
    profile = {"wall_s": 1.0, **bench_profile.top_functions(tmp_path / "p.prof")}
    ours = [row["function"] for row in profile["ours_by_cumulative"]]
    assert ours[0].startswith("cicd/workspace/config.py:") and ours[0].endswith("(aws_regions)")
    assert all(f.startswith(("cicd/", "stack/")) for f in ours)
    every = [row["function"] for row in profile["all_by_own"]]
    assert len(every) > len(ours) and not any(f.startswith("/") for f in every)  # json, pathlib, ... relative
    text = bench_profile.format_profile(profile)
    assert "our functions (stack/, cicd/) by cumulative time" in text and ours[0] in text


def test_a_failing_synth_is_reported_in_one_line(tmp_path):
    with pytest.raises(bench_measure.BenchError) as caught:
        synths.synth_run("bench.no_such_app", "full synth", tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("full synth failed (exit status 1: ")
    assert "No module named bench.no_such_app" in message


def test_a_synth_that_writes_no_stacks_has_failed(tmp_path):
    # `python -m this` exits 0 having written nothing
    with pytest.raises(bench_measure.BenchError, match="floor failed [(]no cdk.tf.json for us-east-1, us-west-2[)]"):
        synths.synth_run("this", "floor", tmp_path)


def test_main_prints_a_failure_in_one_line(monkeypatch, capsys):
    def failing(*args, **kwargs):
        raise bench_measure.BenchError("full synth failed (exit status 2: error: bad .env); command: x")

    monkeypatch.setattr(bench, "run_bench", failing)
    assert bench.main(["--runs", "1"]) == 1
    assert capsys.readouterr().err.splitlines()[-1:] == [
        "error: full synth failed (exit status 2: error: bad .env); command: x"]


# --- measuring ------------------------------------------------------------------------------------

HOLD = textwrap.dedent("""
    import sys, time
    block = bytearray(b"\\x01") * ({mb} * 1024 * 1024)  # written, so resident
    time.sleep({hold})
""")


def _parent_of(child: str, parent_mb: int = 0) -> str:
    """A command that starts `child` as a subprocess, optionally holds parent_mb itself, and waits."""
    return textwrap.dedent(f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", {child!r}])
        block = bytearray(b"\\x01") * ({parent_mb} * 1024 * 1024)
        sys.exit(child.wait())
    """)


def test_measure_sees_a_child_process_allocating_100_mb():
    run = bench_measure.measure([sys.executable, "-c", _parent_of(HOLD.format(mb=110, hold=0.5))])
    assert run.ok, run.output
    assert run.peak_rss >= 100 * MB  # the parent itself is ~10 MB: the child's memory is counted
    assert run.samples >= 2


def test_measure_sums_processes_alive_at_the_same_time():
    # ru_maxrss or /usr/bin/time would say ~100 MB (the largest process); the tree holds ~200 MB
    run = bench_measure.measure([sys.executable, "-c", _parent_of(HOLD.format(mb=100, hold=1.0), parent_mb=100)])
    assert run.ok, run.output
    assert run.peak_rss >= 190 * MB


def test_measure_is_not_inflated_by_a_large_parent():
    # Only the measured tree counts, never the process that measures it (here ~300 MB more).
    ballast = bytearray(b"\x01") * (300 * MB)
    try:
        run = bench_measure.measure([sys.executable, "-c", HOLD.format(mb=100, hold=0.3)])
    finally:
        del ballast
    assert 100 * MB <= run.peak_rss < 250 * MB


def test_measure_counts_the_cpu_time_of_a_child_that_was_waited_for():
    burn = "import time\nwhile time.process_time() < 0.3: pass"  # 0.3 s of CPU, however long that takes
    run = bench_measure.measure([sys.executable, "-c", _parent_of(burn)])
    assert run.ok and run.cpu_s >= 0.3


def test_measure_reports_the_exit_status_and_output():
    run = bench_measure.measure([sys.executable, "-c", "print('hello'); raise SystemExit(3)"])
    assert run.returncode == 3 and not run.ok
    assert "hello" in run.output
    with pytest.raises(bench_measure.BenchError, match="demo failed [(]exit status 3: hello[)]"):
        synths.require(run, "demo")


def test_tree_rss_of_a_process_that_is_gone_is_zero():
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    process = psutil.Process(child.pid)
    child.wait()
    assert bench_measure.tree_rss(process) == 0


# --- the floor app --------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["--on-demand"]], ids=["floor", "lean-floor"])
def test_floor_app_synthesizes_two_stacks_with_one_resource_each(tmp_path, args):
    # The same command and environment the benchmark runs (~10 s: it loads the provider bindings).
    out = tmp_path / "out"
    run = bench_measure.measure([sys.executable, "-m", "bench.floor_app", *args],
                                env=synths.child_env(CDKTF_OUTDIR=str(out)))
    assert run.ok, run.output
    synths.require(run, "floor", out)
    for region in synths.REGIONS:
        doc = json.loads((out / "stacks" / region / "cdk.tf.json").read_text())
        resources = [(kind, name) for kind, items in doc["resource"].items() for name in items]
        assert resources == [("aws_sns_topic", "topic")]
        assert doc["provider"]["aws"][0]["region"] == region
    assert sorted(p.name for p in (out / "stacks").iterdir()) == sorted(synths.REGIONS)
