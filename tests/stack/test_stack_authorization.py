"""The authorization gate (`python -m cicd.policy.authz`) on the synthesized regions, and the defects it exists
to catch: each planted into a copy of today's stack must make it fail, naming the grant or the flow.

The passing gate runs as users run it, a process of the toolchain's Python; the planted defects run its
entry point (`gate.main`) in the test's process. Both need the policy evaluator's node_modules
(`AUTHZ_NODE_MODULES`, default `.nox/authz-node/node_modules`; `nox -s tests` installs it and sets it).
Without it these tests fail: the gate is part of the suite.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from cicd.policy.authz import flows, gate  # noqa: E402  (pure Python: the handler's calls and their IAM requests)


def _gate_env() -> Tuple[str, Dict[str, str]]:
    modules = os.environ.get("AUTHZ_NODE_MODULES", str(REPO / ".nox" / "authz-node" / "node_modules"))
    if not Path(modules).is_dir():
        pytest.fail(f"the authorization gate's policy evaluator is missing ({modules}): run `nox -s tests`")
    return sys.executable, {**os.environ, "AUTHZ_NODE_MODULES": modules}


def _write(docs: Dict[str, Dict[str, Any]], tmp_path: Path) -> Path:
    for region, doc in docs.items():
        folder = tmp_path / "out" / "stacks" / region
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cdk.tf.json").write_text(json.dumps(doc))
    return tmp_path / "out"


def run_gate_cli(docs: Dict[str, Dict[str, Any]], tmp_path: Path) -> Tuple[int, str]:
    """The gate as users run it: `python -m cicd.policy.authz --out ...` in its own process."""
    python, env = _gate_env()
    proc = subprocess.run([python, "-m", "cicd.policy.authz", "--out", str(_write(docs, tmp_path))], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def run_gate(docs: Dict[str, Dict[str, Any]], tmp_path: Path) -> Tuple[int, str]:
    """The gate's own entry point (`gate.main`, what the CLI runs) in this process: the planted-defect
    tests run it many times, and a fresh interpreter each time only re-imports the same modules."""
    _gate_env()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = gate.main(["--out", str(_write(docs, tmp_path))])
    return code, printed.getvalue()


def _edit_role_policy(doc: Dict[str, Any], role_marker: str, edit: Callable[[List[dict]], None]) -> None:
    """Apply `edit` to the statements of the one role policy whose name contains `role_marker`."""
    found = [b for b in doc["resource"]["aws_iam_role_policy"].values() if role_marker in b["name"]]
    assert len(found) == 1, f"{role_marker}: {[b['name'] for b in found]}"
    policy = json.loads(found[0]["policy"])
    edit(policy["Statement"])
    found[0]["policy"] = json.dumps(policy)


def _drop_action(action: str) -> Callable[[List[dict]], None]:
    def edit(statements: List[dict]) -> None:
        for st in statements:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            st["Action"] = [a for a in actions if a != action] or ["sts:GetCallerIdentity"]
    return edit


@pytest.fixture(scope="module")
def primary(synthesized) -> Dict[str, Any]:
    return next(iter(synthesized.values())).doc


def _region(synthesized) -> str:
    return next(iter(synthesized))


def test_gate_passes_on_both_regions_and_prints_its_summary(synthesized, tmp_path):
    code, out = run_gate_cli({r: s.doc for r, s in synthesized.items()}, tmp_path)
    assert code == 0, out
    assert "grants: " in out and " 0 failed" in out and "flows: " in out and " 0 denied" in out, out
    flows_checked = int(out.split("flows: ")[1].split(" ")[0])
    grants_checked = int(out.split("grants: ")[1].split(" ")[0])
    assert flows_checked > 1000 and grants_checked > 300, out  # both regions, every catalogue part
    assert "declared exceptions" in out and "authorization gate: PASSED" in out


# --- issue #13's defects, each planted back: the gate must fail on it --------------------------------

def test_hook_status_and_stop_granted_on_deployment_groups_fail(synthesized, primary, tmp_path):
    doc = copy.deepcopy(primary)
    group_arn = "arn:aws:codedeploy:us-east-1:111122223333:deploymentgroup:shop-app/shop-staging-api-service"

    def scope(statements: List[dict]) -> None:
        for st in statements:
            if "codedeploy:PutLifecycleEventHookExecutionStatus" in st["Action"]:
                st["Resource"] = [group_arn]
    _edit_role_policy(doc, "health-lambda", scope)
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    assert code == 1
    assert "codedeploy:PutLifecycleEventHookExecutionStatus: supports no resource-level permissions" in out
    assert "codedeploy:StopDeployment: supports no resource-level permissions" in out
    assert "DENIED" in out and "handler codedeploy.put_lifecycle_event_hook_execution_status" in out


def test_alb_logs_outside_the_bucket_policy_prefix_fail(synthesized, primary, tmp_path):
    doc = copy.deepcopy(primary)
    for body in doc["resource"]["aws_s3_bucket_policy"].values():
        policy = json.loads(body["policy"])
        for st in policy["Statement"]:
            if st.get("Sid", "").startswith("AlbAccessLogs"):
                st["Resource"] = st["Resource"][0].replace("/alb/staging/", "/alb/")  # main's policy
        body["policy"] = json.dumps(policy)
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    assert code == 1
    denied = [line for line in out.splitlines() if line.startswith("  DENIED")]
    assert denied and all("delivers access logs" in line for line in denied), out
    assert any("/alb/staging/AWSLogs/" in line for line in denied)


def test_describe_alarms_scoped_to_alarm_arns_fails_the_hook_and_codedeploy(synthesized, primary, tmp_path):
    doc = copy.deepcopy(primary)

    def scope(statements: List[dict]) -> None:
        for st in statements:
            if st["Action"] == ["cloudwatch:DescribeAlarms"]:
                st["Resource"] = ["arn:aws:cloudwatch:us-east-1:111122223333:alarm:shop-*"]
                st.pop("Sid", None)
    _edit_role_policy(doc, "health-lambda", scope)
    _edit_role_policy(doc, "codedeploy", scope)
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    assert code == 1
    assert "handler cloudwatch.describe_alarms" in out and "CodeDeploy polls the rollback alarms" in out
    assert "STALE" in out  # the exceptions declared for '*' are now unused: reported, not silently kept


def test_flow_log_role_without_describe_log_groups_fails(synthesized, primary, tmp_path):
    doc = copy.deepcopy(primary)
    _edit_role_policy(doc, "flowlogs", _drop_action("logs:DescribeLogGroups"))
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    assert code == 1 and "flow logs check the group" in out, out


def test_source_role_without_get_repository_fails(synthesized, primary, tmp_path):
    doc = copy.deepcopy(primary)
    _edit_role_policy(doc, "stage-source", _drop_action("codecommit:GetRepository"))
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    assert code == 1 and "codecommit:GetRepository" in out and "reads the repository" in out, out


# --- issue #18's holes 1 and 2: grants tied to what the code calls, scoping judged by AWS's data -----

def test_lambda_without_stop_deployment_fails(synthesized, primary, tmp_path):
    doc = copy.deepcopy(primary)
    _edit_role_policy(doc, "health-lambda", _drop_action("codedeploy:StopDeployment"))
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    assert code == 1 and "handler codedeploy.stop_deployment" in out, out


@pytest.mark.parametrize("marker, planted, expected", [
    ("exec", {"Effect": "Allow", "Action": ["ssm:GetParameters", "kms:Decrypt"], "Resource": "*"},
     "granted on '*' although it can be scoped"),
    ("codebuild-build", {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::*"},
     "names every resource of its type"),
    ("health-lambda", {"Effect": "Allow", "Action": ["codedeploy:GetDeployment"],
                       "Resource": "arn:aws:codedeploy:us-east-1:111122223333:deploymentgroup:*"},
     "names every resource of its type"),
    ("health-lambda", {"Effect": "Allow", "Action": ["codedeploy:GetDeploymnt"], "Resource": "*"},
     "no such action"),
    ("health-lambda", {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "arn:aws:sqs:us-east-1:1:q"},
     "matches none of its resource types"),
    ("health-lambda", {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "arn:aws:sns:us-east-1:1:t",
                       "Condition": {"StringEquals": {"ecs:cluster": "x"}}},
     "condition key ecs:cluster is not supported"),
])
def test_unsound_grants_fail(synthesized, primary, tmp_path, marker, planted, expected):
    doc = copy.deepcopy(primary)
    markers = [b["name"] for b in doc["resource"]["aws_iam_role_policy"].values() if marker in b["name"]]
    _edit_role_policy(doc, markers[0], lambda statements: statements.append(planted))
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    assert code == 1 and expected in out, out


def test_every_call_of_the_handler_has_its_iam_request(synthesized):
    """A call added to lambda/health_check without a catalogue entry is caught here, not in AWS."""
    from cicd.policy.authz.catalogue import Stack

    calls = flows.handler_calls()
    assert ("codedeploy", "put_lifecycle_event_hook_execution_status") in calls
    assert ("codedeploy", "stop_deployment") in calls and ("cloudwatch", "describe_alarms") in calls
    region, synth = next(iter(synthesized.items()))
    stack = Stack.load(synth.doc, region)
    (_, group), = list(stack.items("aws_codedeploy_deployment_group"))[:1]
    assert calls <= set(flows.lambda_requests(stack, group)), calls - set(flows.lambda_requests(stack, group))


def test_the_handler_really_asks_for_composite_alarms():
    """The DescribeAlarms flow is on '*' because the handler sends AlarmTypes with CompositeAlarm."""
    source = (REPO / "lambda" / "health_check" / "hc_verify.py").read_text()
    assert 'AlarmTypes=["MetricAlarm", "CompositeAlarm"]' in source


def test_eventbridge_key_grant_conditioned_on_source_account_fails(synthesized, primary, tmp_path):
    """EventBridge's KMS requests for an encrypted SNS target carry no aws:SourceAccount: a key policy
    that demands it drops every pipeline notification (found by the flows; fixed in stack/encryption.py)."""
    doc = copy.deepcopy(primary)
    (key,) = doc["resource"]["aws_kms_key"].values()
    policy = json.loads(key["policy"])
    for statement in policy["Statement"]:
        if statement["Principal"].get("Service") == "events.amazonaws.com":
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": "${data.aws_caller_identity.account.account_id}"}}
    key["policy"] = json.dumps(policy)
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    denied = [line for line in out.splitlines() if line.startswith("  DENIED")]
    assert code == 1 and denied and all("notifies (topic key): events.amazonaws.com" in line for line in denied), out


def test_the_activate_job_without_register_scalable_target_fails(synthesized, primary, tmp_path):
    """The Activate job's calls are read from its rendered buildspec: a missing grant is a denied flow."""
    doc = copy.deepcopy(primary)
    _edit_role_policy(doc, "codebuild-activate", _drop_action("application-autoscaling:RegisterScalableTarget"))
    code, out = run_gate({_region(synthesized): doc}, tmp_path)
    denied = [line for line in out.splitlines() if line.startswith("  DENIED")]
    assert code == 1 and len(denied) == 6 and all("application-autoscaling:RegisterScalableTarget" in d
                                                  for d in denied), out
