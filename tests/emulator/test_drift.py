"""The main job's drift check fails on real drift: a real plan, with a real change, in the emulator.

A two-resource Terraform JSON stack goes through the very code `nox -s emulator` uses
(`prepare_workdir` with the emulator override, `emulator_run.apply`, `Terraform.plan`'s counts and
`emulator_run.check_drift`) against the patched moto server, with the real hashicorp/aws provider.
Then resources are changed and deleted behind Terraform's back through boto3, and the re-plan must
name exactly them with terraform's own counts; with nothing changed it must report nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cicd.emulator import run as emulator_run
from cicd.deploy.terraform import PlanSummary, Terraform, prepare_workdir

from .conftest import REGION
from .helpers import unique

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed"),
]


def _stack(name: str) -> dict:
    """What a synthesized cdk.tf.json looks like, in miniature (the override supplies backend and credentials)."""
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {"aws": [{"region": REGION}]},
        "resource": {
            "aws_ssm_parameter": {"probe": {"name": f"/{name}/colour", "type": "String", "value": "blue"}},
            "aws_cloudwatch_log_group": {"probe": {"name": f"/{name}/logs", "retention_in_days": 7}},
        },
    }


@pytest.fixture
def region_run(emulator, tmp_path: Path):
    name = unique("drift")
    stack_dir = tmp_path / "stacks" / REGION
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text(json.dumps(_stack(name)))
    workdir = prepare_workdir(stack_dir, tmp_path / "work" / REGION, REGION, True)
    env = {**emulator.subprocess_env(REGION), "CHECKPOINT_DISABLE": "1"}
    run = emulator_run.RegionRun(REGION, Terraform(workdir, env=env, label=REGION), emulator)
    run.name = name  # type: ignore[attr-defined]
    try:
        yield run
    finally:
        # No destroy: the names are unique and the emulator's state goes with it at the package's end.
        run.terraform.kill()


def test_drift_check_reports_out_of_band_changes_by_name_and_count(region_run, aws, capsys) -> None:
    run = region_run
    emulator_run.apply(run)
    assert run.resources == 2

    capsys.readouterr()
    assert emulator_run.check_drift(run) == []
    assert f"{REGION}: re-plan shows no changes" in capsys.readouterr().out
    assert run.terraform.plan(out="again.tfplan") == PlanSummary(0, 0, 0)

    # Changed behind Terraform's back: an update in place, and only that resource.
    aws("ssm").put_parameter(Name=f"/{run.name}/colour", Value="green", Type="String", Overwrite=True)
    assert run.terraform.plan(out="changed.tfplan") == PlanSummary(add=0, change=1, destroy=0)
    assert emulator_run.check_drift(run) == [f"{REGION}: drift: aws_ssm_parameter.probe (update)"]

    # Deleted behind Terraform's back: terraform would create it again.
    aws("logs").delete_log_group(logGroupName=f"/{run.name}/logs")
    summary = run.terraform.plan(out="deleted.tfplan")
    assert summary == PlanSummary(add=1, change=1, destroy=0) and summary.changes
    assert sorted(run.terraform.changed_resources("deleted.tfplan")) == [
        "aws_cloudwatch_log_group.probe (create)",
        "aws_ssm_parameter.probe (update)",
    ]
    # What the main job's teardown plans: only what is still there is destroyed.
    assert run.terraform.plan(out="destroy.tfplan", destroy=True) == PlanSummary(add=0, change=0, destroy=1)
