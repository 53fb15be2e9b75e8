"""bench/synths.py and bench/floor_app.py: each measured run does the same work, and a failed one says so in one line."""
from __future__ import annotations

import json
import sys

import pytest

from bench import synths
from bench.measure import BenchError, measure


def test_child_env_is_quiet_fixed_and_never_inherits_an_outdir(monkeypatch):
    monkeypatch.setenv("CDKTF_OUTDIR", "/somewhere/else")
    env = synths.child_env(EXTRA="1")
    assert env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] == "20"
    assert env["DEPLOYMENT_ID"] == synths.DEPLOYMENT_ID
    assert "CDKTF_OUTDIR" not in env
    assert env["EXTRA"] == "1"


def test_a_failing_synth_is_reported_in_one_line(tmp_path):
    with pytest.raises(BenchError) as caught:
        synths.synth_run("bench.no_such_app", "full synth", tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("full synth failed (exit status 1: ")
    assert "No module named bench.no_such_app" in message  # the output's last line: the error itself
    assert list(tmp_path.iterdir()) == []  # its output folder is gone


def test_a_synth_that_writes_no_stacks_has_failed(tmp_path):
    # `python -m this` exits 0 having written nothing
    with pytest.raises(BenchError, match="floor failed [(]no cdk.tf.json for us-east-1, us-west-2[)]"):
        synths.synth_run("this", "floor", tmp_path)


@pytest.mark.parametrize("args, what", [([], "floor"), (["--on-demand"], "lean floor")], ids=["floor", "lean-floor"])
def test_the_floor_app_synthesizes_two_stacks_with_one_resource_each(tmp_path, args, what):
    # The benchmark's own command and environment: a few seconds for the lean floor (jsii and the provider's
    # assembly), ~15 s of CPU for the floor, which imports the provider package as published.
    out = tmp_path / "out"
    run = measure([sys.executable, "-m", "bench.floor_app", *args], env=synths.child_env(CDKTF_OUTDIR=str(out)))
    synths.require(run, what, out)
    for region in synths.REGIONS:
        doc = json.loads((out / "stacks" / region / "cdk.tf.json").read_text())
        resources = [(kind, name) for kind, items in doc["resource"].items() for name in items]
        assert resources == [("aws_sns_topic", "topic")]
        assert doc["provider"]["aws"][0]["region"] == region
    assert sorted(p.name for p in (out / "stacks").iterdir()) == sorted(synths.REGIONS)
