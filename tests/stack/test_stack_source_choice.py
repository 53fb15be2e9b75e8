"""The source choice in the synthesized stack: CodeCommit mirrored into the DR region (the committed
default), or a Git host through CodeConnections (a variant synthesized here from a temporary environments
folder: us-east-1 lets the stack create the connection, us-west-2 names an existing one of the older
codestar-connections prefix)."""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from cicd.workspace import render, validate
from synth_fixtures import WEST_CONNECTION

REPO_ROOT = Path(__file__).resolve().parents[2]


def _policies(synth):
    """role name -> its inline policy statements."""
    roles = {name: body["name"] for name, body in synth.resources("aws_iam_role").items()}
    out = {}
    for body in synth.bodies("aws_iam_role_policy"):
        ref = synth.ref(body["role"], "aws_iam_role")
        out[roles[ref[0]]] = json.loads(body["policy"])["Statement"]
    return out


def _pipeline(synth):
    return synth.one("aws_codepipeline")[1]


# --- a Git host through CodeConnections ---------------------------------------------------------------

@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_git_host_source_action_reads_the_repository_through_the_connection(git_host_synth, region):
    synth = git_host_synth[region]
    assert not synth.resources("aws_codecommit_repository")
    pipeline = _pipeline(synth)
    assert pipeline["pipeline_type"] == "V2"
    action = pipeline["stage"][0]["action"][0]
    assert (action["provider"], action["category"], action["owner"]) == ("CodeStarSourceConnection", "Source", "AWS")
    config = action["configuration"]
    assert (config["FullRepositoryId"], config["BranchName"]) == ("my-org/microservices", "main")
    if region == "us-east-1":
        _, connection = synth.ref(config["ConnectionArn"], "aws_codeconnections_connection", "arn")
        assert connection["provider_type"] == "GitHub" and connection["name"] == "shop-github"
    else:
        assert config["ConnectionArn"] == WEST_CONNECTION
        assert not synth.resources("aws_codeconnections_connection")


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_git_host_push_trigger_on_the_release_branch_and_the_services_only(git_host_synth, region):
    synth = git_host_synth[region]
    (trigger,) = _pipeline(synth)["trigger"]
    assert trigger["provider_type"] == "CodeStarSourceConnection"
    git = trigger["git_configuration"]
    assert git["source_action_name"] == _pipeline(synth)["stage"][0]["action"][0]["name"]
    (push,) = git["push"]
    assert push["branches"] == {"includes": ["main"]}
    paths = push["file_paths"]["includes"]
    assert paths == [f"services/{s.name}/**" for s in synth.cfg.services]
    # A change to docs (or anything outside a service's folder) matches no pattern: no release.
    for changed in ("README.md", "docs/runbook.md", "services/README.md"):
        assert not any(fnmatch.fnmatch(changed, p) for p in paths)
    assert any(fnmatch.fnmatch("services/api-service/src/app.py", p) for p in paths)
    # No EventBridge rule starts it: the trigger does (CodeCommit's rule would never fire here).
    for body in synth.bodies("aws_cloudwatch_event_rule"):
        assert "aws.codecommit" not in body.get("event_pattern", "")


def test_git_host_source_role_may_only_use_the_connection(git_host_synth):
    east, west = git_host_synth["us-east-1"], git_host_synth["us-west-2"]
    for synth, action, resource in (
            (east, "codeconnections:UseConnection", None),
            (west, "codestar-connections:UseConnection", WEST_CONNECTION)):
        statements = _policies(synth)[f"shop-stage-source-{'use1' if synth is east else 'usw2'}"]
        using = [s for s in statements if any(a.endswith(":UseConnection") for a in s["Action"])]
        assert len(using) == 1 and using[0]["Action"] == [action]
        if resource is None:
            synth.ref(using[0]["Resource"][0], "aws_codeconnections_connection", "arn")
        else:
            assert using[0]["Resource"] == [resource]
        everything = json.dumps(_policies(synth))
        assert "codecommit:" not in everything


def test_git_host_outputs_name_the_connection_and_how_to_authorize_it(git_host_synth):
    east, west = (git_host_synth[r].doc["output"] for r in ("us-east-1", "us-west-2"))
    assert "source_clone_url" not in east and "source_clone_url" not in west
    assert east["source_repository"]["value"] == west["source_repository"]["value"] == "my-org/microservices@main"
    assert east["source_connection_status"]["value"].endswith(".connection_status}")
    assert "PENDING" in east["source_connection_status"]["description"]
    assert east["source_connection_console_url"]["value"] == (
        "https://us-east-1.console.aws.amazon.com/codesuite/settings/connections?region=us-east-1")
    assert west["source_connection_arn"]["value"] == WEST_CONNECTION and "source_connection_status" not in west


def test_git_host_dr_region_references_nothing_of_the_primary(git_host_synth):
    assert "us-east-1" not in git_host_synth["us-west-2"].text
    assert not git_host_synth["us-east-1"].by("aws_codebuild_project", name="shop-source-mirror")


@pytest.mark.terraform
@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_git_host_variant_passes_terraform_validate(region, validation):
    assert validation.errors(f"git-host-{region}") == []


# --- CodeCommit, mirrored into the DR region (the committed files) --------------------------------------

def _mirror(synth):
    return synth.the("aws_codebuild_project", name="shop-source-mirror")


def test_the_primary_mirrors_every_push_into_the_dr_repository(synthesized):
    east = synthesized["us-east-1"]
    name, project = _mirror(east)
    assert project["source"]["type"] == "NO_SOURCE" and project["artifacts"]["type"] == "NO_ARTIFACTS"
    assert project["environment"]["privileged_mode"] is False
    assert east.is_kms_key(project["encryption_key"])
    assert project["source"]["buildspec"] == render.render_mirror_buildspec(east.cfg)
    validate.mirror_buildspec("synth", project["source"]["buildspec"],
                              source_url=render.codecommit_clone_url("us-east-1", "microservices"),
                              target_urls=[render.codecommit_clone_url("us-west-2", "microservices")])
    # A push (branch or tag, created or moved) to the primary's repository starts it.
    repo, _ = east.one("aws_codecommit_repository")
    starts = [(n, b) for n, b in east.resources("aws_cloudwatch_event_target").items()
              if east.refers_to(b["arn"], "aws_codebuild_project", name)]
    assert len(starts) == 1
    _, rule = east.ref(starts[0][1]["rule"], "aws_cloudwatch_event_rule")
    pattern = json.loads(rule["event_pattern"])
    assert pattern["source"] == ["aws.codecommit"]
    assert east.refers_to(pattern["resources"][0], "aws_codecommit_repository", repo)
    assert pattern["detail"] == {"event": ["referenceCreated", "referenceUpdated"]}
    _, events_role = east.ref(starts[0][1]["role_arn"], "aws_iam_role")
    assert _policies(east)[events_role["name"]] == [
        {"Effect": "Allow", "Action": ["codebuild:StartBuild"], "Resource": [f"${{aws_codebuild_project.{name}.arn}}"]}]


def test_a_failed_mirror_notifies_the_topic(synthesized):
    east = synthesized["us-east-1"]
    failures = [b for b in east.bodies("aws_cloudwatch_event_rule")
                if json.loads(b["event_pattern"]).get("source") == ["aws.codebuild"]]
    assert len(failures) == 1
    pattern = json.loads(failures[0]["event_pattern"])
    assert pattern["detail"] == {"project-name": ["shop-source-mirror"], "build-status": ["FAILED", "STOPPED"]}
    rule_name = failures[0]["name"]
    (target,) = [b for b in east.bodies("aws_cloudwatch_event_target") if east.literal(b["rule"]) == rule_name]
    topic_name, topic = east.ref(target["arn"], "aws_sns_topic", "arn")
    assert topic["name"] == "shop-pipeline-notifications" and east.is_kms_key(topic["kms_master_key_id"])
    (policy,) = east.targeting("aws_sns_topic_policy", "arn", "aws_sns_topic", topic_name)
    publishers = [s for s in json.loads(policy[1]["policy"])["Statement"]
                  if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert publishers and publishers[0]["Action"] == "sns:Publish"


def test_the_mirror_role_pulls_the_primary_and_pushes_only_the_dr_repository(synthesized):
    east = synthesized["us-east-1"]
    statements = _policies(east)["shop-source-mirror-use1"]
    by_action = {tuple(s["Action"]): s for s in statements}
    repo, _ = east.one("aws_codecommit_repository")
    assert by_action[("codecommit:GitPull",)]["Resource"] == [f"${{aws_codecommit_repository.{repo}.arn}}"]
    account = east.account_token()
    assert by_action[("codecommit:GitPush",)]["Resource"] == [
        f"arn:${{data.aws_partition.partition.partition}}:codecommit:us-west-2:{account}:microservices"]
    dr_key = by_action[("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")]
    assert dr_key["Condition"]["StringEquals"] == {"kms:ViaService": ["codecommit.us-west-2.amazonaws.com"]}
    assert dr_key["Resource"] == [f"arn:${{data.aws_partition.partition.partition}}:kms:us-west-2:{account}:key/*"]
    assert all(a.startswith(("codecommit:Git", "kms:", "logs:")) for s in statements for a in s["Action"])
    assert all("*" != r for s in statements for r in s["Resource"])


def test_the_dr_region_runs_no_mirror_and_keeps_its_clone_url(synthesized):
    west = synthesized["us-west-2"]
    assert not west.by("aws_codebuild_project", name="shop-source-mirror")
    assert "source_clone_url" in west.doc["output"] and "source_connection_arn" not in west.doc["output"]


def test_the_diagram_follows_the_source(git_host_synth, synthesized):
    from cicd.docs import diagram, pipeline_model

    def source_action(synth):
        out = synth.directory.parent.parent
        model = pipeline_model.pipeline(pipeline_model.load(out, synth.region))
        return model, model.stages[0].actions[0]

    paths = "services/api-service/**, services/auth-service/**, services/notification-service/**"
    model, action = source_action(git_host_synth["us-east-1"])
    assert action.detail == ("GitHub via CodeConnections: my-org/microservices @ main",
                             f"starts on a push to main touching {paths}")
    assert "GitHub via CodeConnections" in diagram.mermaid(model)
    _, action = source_action(git_host_synth["us-west-2"])  # an existing connection: its host is not in the stack
    assert action.detail[0] == "Git host via CodeConnections: my-org/microservices @ main"
    _, action = source_action(synthesized["us-east-1"])
    assert action.detail == ("CodeCommit: microservices @ main", "mirrored by shop-source-mirror")
    _, action = source_action(synthesized["us-west-2"])
    assert action.detail == ("CodeCommit: microservices @ main",)


def test_policy_gate_passes_on_the_git_host_variant(git_host_synth):
    """checkov covers the connection and the trigger too (the default stack, with the mirror, is gated by
    test_stack_policy.py)."""
    from cicd.policy import checkov as policy
    from test_stack_policy import _checkov_bin

    result = policy.evaluate(_checkov_bin(), git_host_synth["us-east-1"].directory.parent.parent)
    assert result.regions == ("us-east-1", "us-west-2")
    assert result.ok and result.unsuppressed == [] and result.stale == [], policy.report(result)
    assert result.passed > 0


def test_more_services_than_a_push_filter_takes_share_one_pattern(synthesized):
    import dataclasses

    from cicd.workspace.config import Service
    from stack.delivery import MAX_FILE_PATH_PATTERNS, release_paths

    cfg = synthesized["us-east-1"].cfg
    eight = dataclasses.replace(cfg, services=tuple(Service(f"svc{i}", 8000 + i, "/health") for i in range(8)))
    assert release_paths(eight) == [f"services/svc{i}/**" for i in range(8)] and MAX_FILE_PATH_PATTERNS == 8
    nine = dataclasses.replace(eight, services=eight.services + (Service("svc8", 8008, "/health"),))
    assert release_paths(nine) == ["services/**"]


def test_the_authorization_gate_passes_the_git_host_variant(git_host_synth, tmp_path):
    """The CodeStarSourceConnection action's UseConnection (both ARN prefixes) is a checked flow."""
    from test_stack_authorization import run_gate

    code, out = run_gate({region: synth.doc for region, synth in git_host_synth.items()}, tmp_path)
    assert code == 0 and "authorization gate: PASSED" in out, out


def test_a_source_role_without_use_connection_fails_the_gate(git_host_synth, tmp_path):
    from test_stack_authorization import _edit_role_policy, run_gate

    region, synth = next(iter(git_host_synth.items()))
    doc = json.loads(json.dumps(synth.doc))
    _edit_role_policy(doc, "stage-source", lambda statements: [
        st.update(Action=["codecommit:GetBranch"]) for st in statements
        if any("UseConnection" in a for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))])
    code, out = run_gate({region: doc}, tmp_path)
    assert code == 1 and "reads the Git host through the connection" in out, out


def test_the_mirror_without_git_push_fails_the_gate(synthesized, tmp_path):
    from test_stack_authorization import _drop_action, _edit_role_policy, run_gate

    region, synth = next(iter(synthesized.items()))
    doc = json.loads(json.dumps(synth.doc))
    _edit_role_policy(doc, "source-mirror-use1", _drop_action("codecommit:GitPush"))
    code, out = run_gate({region: doc}, tmp_path)
    assert code == 1 and "shop-source-mirror pushes to us-west-2" in out, out
