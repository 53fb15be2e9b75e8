"""CodeBuild projects and the five-stage CodePipeline with its encrypted artifact store."""
from __future__ import annotations

import json
from typing import Dict, List, Tuple

import yaml

from cicd.workspace import naming
from cicd.workspace.config import ARTIFACT_EXPIRATION_DAYS, LOG_RETENTION_DAYS, Stage

STAGES = ["Source", "Build", "Test", "Staging", "Production"]


def _project(stack, name: str) -> Tuple[str, dict]:
    return stack.the("aws_codebuild_project", name=name)


def _buildspec(project: dict) -> dict:
    source = project["source"]
    source = source[0] if isinstance(source, list) else source
    return yaml.safe_load(source["buildspec"])


def _stages(stack) -> Dict[str, List[dict]]:
    _, pipeline = stack.one("aws_codepipeline")
    return {s["name"]: s["action"] for s in pipeline["stage"]}


def _run_order(action: dict) -> int:
    return action.get("run_order", 1)


# --- CodeBuild ---------------------------------------------------------------------------------

def test_one_privileged_build_project_per_service(stack, cfg):
    for service in cfg.services:
        _, project = _project(stack, naming.build_project(cfg, service))
        environment = project["environment"]
        assert environment["privileged_mode"] is True, service.name
        assert environment["type"] == "LINUX_CONTAINER"
        spec = _buildspec(project)
        assert str(spec["version"]) == "0.2", service.name
        parameters = spec["env"]["parameter-store"]
        assert parameters, service.name
        for variable, path in parameters.items():
            assert path.startswith(f"/pipeline/build/{service.name}/"), f"{service.name}: {variable}={path}"
            assert stack.the("aws_ssm_parameter", name=path)


def test_build_outputs_match_the_pipeline_artifacts(stack, cfg):
    """The buildspec's secondary artifacts are what the Build action declares and the deploys consume."""
    build = {stack.literal(a["configuration"]["ProjectName"]): a for a in _stages(stack)["Build"]}
    for service in cfg.services:
        name = naming.build_project(cfg, service)
        spec = _buildspec(_project(stack, name)[1])
        declared = set(build[name]["output_artifacts"])
        assert set(spec["artifacts"]["secondary-artifacts"]) == declared, service.name
        for artifact in spec["artifacts"]["secondary-artifacts"].values():
            assert {"taskdef.json", "appspec.yaml", "imageDetail.json"} <= set(artifact["files"])


def test_test_project(stack, cfg):
    _, project = _project(stack, naming.test_project(cfg))
    assert str(_buildspec(project)["version"]) == "0.2"
    assert project["environment"]["privileged_mode"] is True  # docker build --target test


def test_every_project_logs_to_a_log_group_with_14_day_retention(stack):
    projects = stack.bodies("aws_codebuild_project")
    # the builds, the test, the activation, and the source mirror where the region mirrors its repository
    assert len(projects) == len(stack.cfg.services) + 2 + (1 if stack.cfg.source_mirror_regions else 0)
    for project in projects:
        logs = project["logs_config"]["cloudwatch_logs"]
        assert logs["status"] == "ENABLED", project["name"]
        group_name = stack.literal(logs["group_name"])
        _, group = stack.the("aws_cloudwatch_log_group", name=group_name)
        assert group["retention_in_days"] == LOG_RETENTION_DAYS == 14, project["name"]
        assert stack.is_kms_key(project.get("encryption_key")), project["name"]


# --- CodePipeline ------------------------------------------------------------------------------

def test_exactly_five_stages_in_order(stack, cfg):
    _, pipeline = stack.one("aws_codepipeline")
    assert pipeline["name"] == naming.pipeline(cfg)
    assert [s["name"] for s in pipeline["stage"]] == STAGES


def test_build_stage_runs_the_three_builds_in_parallel(stack, cfg):
    actions = _stages(stack)["Build"]
    assert len(actions) == len(cfg.services) == 3
    assert {(a["category"], a["provider"]) for a in actions} == {("Build", "CodeBuild")}
    assert len({_run_order(a) for a in actions}) == 1
    assert sorted(stack.literal(a["configuration"]["ProjectName"]) for a in actions) == \
        sorted(naming.build_project(cfg, s) for s in cfg.services)
    for action in actions:
        stack.ref(action["configuration"]["ProjectName"], "aws_codebuild_project", "name")


def test_test_stage_runs_one_codebuild_action(stack, cfg):
    actions = _stages(stack)["Test"]
    assert len(actions) == 1
    assert actions[0]["provider"] == "CodeBuild"
    assert stack.literal(actions[0]["configuration"]["ProjectName"]) == naming.test_project(cfg)


def _assert_deploy_actions(stack, cfg, actions: List[dict], stage: Stage) -> None:
    app_name, _ = stack.one("aws_codedeploy_app")
    build_outputs = {o for a in _stages(stack)["Build"] for o in a["output_artifacts"]}
    assert len(actions) == 3
    groups = set()
    for action in actions:
        assert (action["category"], action["owner"], action["provider"]) == ("Deploy", "AWS", "CodeDeployToECS")
        config = action["configuration"]
        assert config["TaskDefinitionTemplatePath"] == "taskdef.json"
        assert config["AppSpecTemplatePath"] == "appspec.yaml"
        assert config.get("Image1ArtifactName"), action["name"]
        assert config.get("Image1ContainerName"), action["name"]
        inputs = set(action["input_artifacts"])
        assert {config["Image1ArtifactName"], config["TaskDefinitionTemplateArtifact"],
                config["AppSpecTemplateArtifact"]} <= inputs
        assert inputs <= build_outputs, f"{action['name']}: consumes {inputs - build_outputs}, not built"
        assert stack.refers_to(config["ApplicationName"], "aws_codedeploy_app", app_name)
        groups.add(stack.literal(config["DeploymentGroupName"]))
    assert groups == {naming.deployment_group(cfg, stage, s) for s in cfg.services}


def _activate_then_deploys(stack, actions: List[dict], stage: Stage) -> List[dict]:
    """Each deploy stage first runs Activate (the stage's first release raises its services from 0 tasks)."""
    activate = [a for a in actions if a["name"] == "Activate"]
    assert len(activate) == 1, stage
    (action,) = activate
    assert (action["category"], action["provider"]) == ("Build", "CodeBuild")
    stack.ref(action["configuration"]["ProjectName"], "aws_codebuild_project", "name")
    assert json.loads(action["configuration"]["EnvironmentVariables"]) == [
        {"name": "STAGE", "value": stage.value, "type": "PLAINTEXT"}]
    deploys = [a for a in actions if a["category"] == "Deploy"]
    assert all(_run_order(action) < _run_order(d) for d in deploys), stage
    return deploys


def test_staging_deploys_the_three_services_with_codedeploy(stack, cfg):
    deploys = _activate_then_deploys(stack, _stages(stack)["Staging"], Stage.STAGING)
    _assert_deploy_actions(stack, cfg, deploys, Stage.STAGING)


def test_production_waits_for_a_manual_approval(stack, cfg):
    actions = _stages(stack)["Production"]
    approvals = [a for a in actions if a["category"] == "Approval"]
    deploys = _activate_then_deploys(stack, actions, Stage.PRODUCTION)
    activate = next(a for a in actions if a["name"] == "Activate")
    assert len(approvals) == 1
    approval = approvals[0]
    assert (approval["owner"], approval["provider"]) == ("AWS", "Manual")
    stack.ref(approval["configuration"]["NotificationArn"], "aws_sns_topic", "arn")
    _assert_deploy_actions(stack, cfg, deploys, Stage.PRODUCTION)
    assert all(_run_order(approval) < _run_order(d) for d in deploys + [activate])


def _artifact_bucket(stack) -> Tuple[str, dict]:
    _, pipeline = stack.one("aws_codepipeline")
    stores = pipeline["artifact_store"]
    assert len(stores) == 1
    store = stores[0]
    assert store["type"] == "S3"
    assert store["encryption_key"]["type"] == "KMS" and stack.is_kms_key(store["encryption_key"]["id"])
    return stack.ref(store["location"], "aws_s3_bucket")


def _for_bucket(stack, rtype: str, bucket: str) -> List[dict]:
    return [b for _, b in stack.targeting(rtype, "bucket", "aws_s3_bucket", bucket)]


def test_artifact_store_is_kms_encrypted_s3(stack):
    _artifact_bucket(stack)


def test_artifact_bucket_is_versioned_private_tls_only_kms_and_expires_after_30_days(stack):
    bucket, _ = _artifact_bucket(stack)

    versioning = _for_bucket(stack, "aws_s3_bucket_versioning", bucket)
    assert len(versioning) == 1 and versioning[0]["versioning_configuration"]["status"] == "Enabled"

    blocks = _for_bucket(stack, "aws_s3_bucket_public_access_block", bucket)
    assert len(blocks) == 1
    assert all(blocks[0][k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                              "restrict_public_buckets"))

    policies = _for_bucket(stack, "aws_s3_bucket_policy", bucket)
    assert len(policies) == 1
    statements = json.loads(policies[0]["policy"])["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)]
    assert len(deny) == 1
    assert deny[0]["Principal"] in ("*", {"AWS": "*"})
    resources = deny[0]["Resource"] if isinstance(deny[0]["Resource"], list) else [deny[0]["Resource"]]
    assert f"${{aws_s3_bucket.{bucket}.arn}}" in resources and f"${{aws_s3_bucket.{bucket}.arn}}/*" in resources

    sse = _for_bucket(stack, "aws_s3_bucket_server_side_encryption_configuration", bucket)
    assert len(sse) == 1
    default = sse[0]["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms" and stack.is_kms_key(default["kms_master_key_id"])

    lifecycles = _for_bucket(stack, "aws_s3_bucket_lifecycle_configuration", bucket)
    assert len(lifecycles) == 1
    expiring = [r for r in lifecycles[0]["rule"] if r["status"] == "Enabled"
                and any(e.get("days") == ARTIFACT_EXPIRATION_DAYS for e in r.get("expiration") or [])]
    assert ARTIFACT_EXPIRATION_DAYS == 30 and len(expiring) == 1
