"""The Git-host source kind deployed into the emulator: both regions synthesized with SOURCE_PROVIDER=github
(us-east-1 lets the stack create the connection, us-west-2 names an existing one), applied with the real
provider, re-planned with no changes, destroyed with nothing left: the same steps as `nox -s emulator`
(cicd.emulator.run), which deploys the committed CodeCommit default."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, Tuple

import pytest

from cicd.workspace.config import RegionConfig, load_all

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed"),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
WEST_CONNECTION = "arn:aws:codestar-connections:us-west-2:123456789012:connection/0f9e8d7c-6b5a-4c3d-9e1f-2a3b4c5d6e7f"
GIT_HOST: Dict[str, Dict[str, str]] = {
    "us-east-1": {"SOURCE_PROVIDER": "github", "SOURCE_REPOSITORY": "my-org/microservices",
                  "SOURCE_CONNECTION_ARN": "", "SOURCE_MIRROR_REGIONS": ""},
    "us-west-2": {"SOURCE_PROVIDER": "github", "SOURCE_REPOSITORY": "my-org/microservices",
                  "SOURCE_CONNECTION_ARN": WEST_CONNECTION},
}


@pytest.fixture(scope="module")
def git_host_out(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Dict[str, RegionConfig]]:
    """Both regions of the Git-host variant, synthesized once (in this process, like tests/stack): the
    synth output folder and the configs by region."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    root = tmp_path_factory.mktemp("git-host-env") / "environments"
    for region, edits in GIT_HOST.items():
        lines = (REPO_ROOT / "environments" / region / ".env").read_text().splitlines()
        kept = [line for line in lines if line.split("=", 1)[0] not in edits]
        (root / region).mkdir(parents=True)
        (root / region / ".env").write_text("\n".join(kept + [f"{k}={v}" for k, v in edits.items()]) + "\n")
    from cdktf import App

    from stack.pipeline_stack import PipelineStack

    out = tmp_path_factory.mktemp("git-host-synth") / "out"
    app = App(outdir=str(out))
    for cfg in load_all(root):
        PipelineStack(app, cfg.region, cfg=cfg, deployment_id="20261127T102500Z")
    app.synth()
    return out, {c.region: c for c in load_all(root)}


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
