"""The Git-host source kind deployed into the emulator: both regions synthesized with SOURCE_PROVIDER=github
(us-east-1 lets the stack create the connection, us-west-2 names an existing one), applied with the real
provider, re-planned with no changes, destroyed with nothing left: the same steps as `nox -s emulator`
(cicd.emulator.run), which deploys the committed CodeCommit default."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, Tuple

import pytest

from cicd.workspace.config import RegionConfig
from synth_fixtures import WEST_CONNECTION

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed"),
]



@pytest.fixture(scope="module")
def git_host_out(git_host_synth) -> Tuple[Path, Dict[str, RegionConfig]]:
    """The run's one synth of the Git-host variant (tests/synth_fixtures.py): its output folder and the
    variant's configs by region."""
    out = next(iter(git_host_synth.values())).directory.parent.parent
    return out, {region: synth.cfg for region, synth in git_host_synth.items()}


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_git_host_source_applies_without_drift_and_destroys(git_host_out, tmp_path: Path, region: str) -> None:
    from cicd.deploy.cli import emulator_workroot
    from cicd.emulator.run import apply, check_drift, destroy, start_region

    out, configs = git_host_out
    cfg = configs[region]
    # The main job's own start: an emulator, the state bucket bootstrapped in it, the S3 backend.
    run = start_region(cfg, tmp_path, out / "stacks")
    emulator = run.emulator
    try:
        env = emulator.subprocess_env(region)
        try:
            apply(run)
            assert check_drift(run) == []
            outputs = run.outputs
            assert outputs["source_repository"] == "my-org/microservices@main"
            assert "source_clone_url" not in outputs
            if region == "us-east-1":
                # The connection the stack created waits for its owner in the console, as on AWS.
                assert outputs["source_connection_status"] == "PENDING"
                assert outputs["source_connection_arn"].startswith("arn:aws:codeconnections:us-east-1:")
            else:
                assert outputs["source_connection_arn"] == WEST_CONNECTION
            # The pipeline as the emulator stored it: V2, the Git host's source action and the push trigger.
            import boto3

            pipeline = boto3.client("codepipeline", region_name=region, endpoint_url=env["AWS_ENDPOINT_URL"],
                                    aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    ).get_pipeline(name=f"{cfg.project}-pipeline")["pipeline"]
            assert pipeline["pipelineType"] == "V2"
            assert pipeline["stages"][0]["actions"][0]["actionTypeId"]["provider"] == "CodeStarSourceConnection"
            (push,) = pipeline["triggers"][0]["gitConfiguration"]["push"]
            assert push["branches"]["includes"] == ["main"]
            assert push["filePaths"]["includes"] == [f"services/{s.name}/**" for s in cfg.services]
            destroy(run, cfg, env)
        finally:
            run.terraform.kill()
    finally:
        emulator.stop()
        shutil.rmtree(emulator_workroot(emulator.port), ignore_errors=True)
