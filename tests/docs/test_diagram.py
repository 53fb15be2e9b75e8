"""`cicd.docs.diagram`: the pipeline's Mermaid flowchart and overview, generated from the synthesized JSON.

Uses the stack tests' one synth of the current code per session (`synthesized` in conftest.py). Expectations are read from that JSON independently of `cicd.docs.diagram` (following
`${type.name.attr}` references by hand); the Mermaid text is checked with a small parser.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from cicd.docs import diagram, pipeline_model
from cicd.workspace.config import load_all

REPO = Path(__file__).resolve().parents[2]
REGIONS = tuple(c.region for c in load_all())
DEPLOYMENT_ID = "20261127T102500Z"
OTHER_DEPLOYMENT_ID = "20261128T093000Z"
STAGES = ["Source", "Build", "Test", "Staging", "Production"]
UPDATE = "run nox -s diagram -- --update-readme"


@pytest.fixture(scope="session")
def synth_out(synthesized) -> Path:
    """The stack tests' one synth of both regions (tests/stack/conftest.py): its output folder."""
    return next(iter(synthesized.values())).directory.parent.parent


@pytest.fixture(scope="session")
def docs(synth_out: Path) -> Dict[str, Dict[str, Any]]:
    return {r: json.loads((synth_out / "stacks" / r / "cdk.tf.json").read_text()) for r in REGIONS}


@pytest.fixture(params=REGIONS)
def region(request: pytest.FixtureRequest) -> str:
    return request.param


def _model(synth_out: Path, region: str) -> pipeline_model.Pipeline:
    return pipeline_model.pipeline(pipeline_model.load(synth_out, region))


# --- following references in the JSON, independently of cicd.docs.diagram ---------------------------------

_REF = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}")


def _ref(doc: Dict[str, Any], value: str, rtype: str) -> Tuple[Dict[str, Any], str]:
    """(body, attribute) of the `rtype` resource `value` references."""
    match = _REF.fullmatch(value)
    assert match and match.group(1) == rtype, f"{value!r} is not a reference to a {rtype}"
    return doc["resource"][rtype][match.group(2)], match.group(3)


def _name(doc: Dict[str, Any], value: str, rtype: str) -> str:
    if "${" not in value:
        return value
    body, attr = _ref(doc, value, rtype)
    return body[attr]


def _pipeline(doc: Dict[str, Any]) -> Dict[str, Any]:
    (body,) = doc["resource"]["aws_codepipeline"].values()
    return body


def _deploy_actions(doc: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    return [(stage["name"], action) for stage in _pipeline(doc)["stage"] for action in stage["action"]
            if action["provider"] == "CodeDeployToECS"]


def _expected_details(doc: Dict[str, Any], action: Dict[str, Any]) -> Tuple[str, List[str], List[str]]:
    """(deployment group, target group names, alarm kinds) of a deploy action, from the JSON."""
    group, attr = _ref(doc, action["configuration"]["DeploymentGroupName"], "aws_codedeploy_deployment_group")
    name = group[attr]
    tgs = [_name(doc, tg["name"], "aws_lb_target_group")
           for tg in group["load_balancer_info"]["target_group_pair_info"]["target_group"]]
    alarms = [_name(doc, a, "aws_cloudwatch_metric_alarm") for a in group["alarm_configuration"]["alarms"]]
    assert all(a.startswith(name + "-") for a in alarms), "alarm names start with their deployment group's name"
    return name, tgs, [a[len(name) + 1:] for a in alarms]


# --- a small Mermaid flowchart parser: the syntax cicd.docs.diagram may use, and nothing else --------------

_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LABEL = r'"([^"]*)"'  # quoted, no raw " inside (Mermaid entities like #quot; instead)
_SHAPES = [(r"\[", r"\]"), (r"\{\{", r"\}\}"), (r"\(", r"\)"), (r"\(\[", r"\]\)"), (r"\[\[", r"\]\]"),
           (r"\[\(", r"\)\]"), (r"\{", r"\}")]
_NODE = re.compile(rf"({_ID})(?:{'|'.join(f'{o}{_LABEL}{c}' for o, c in _SHAPES)})")
_EDGE = re.compile(rf"({_ID}) (-->|-\.->|==>|---)(?:\|{_LABEL}\|)? ({_ID})")
_RESERVED = {"end", "subgraph", "graph", "flowchart", "class", "classDef", "style", "linkStyle", "click",
             "direction", "default", "call", "href"}


class Flowchart:
    """Nodes (id -> label lines), their subgraph chains, edges, subgraphs in order, classes."""

    def __init__(self, text: str):
        lines = [ln.strip() for ln in text.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("%%")]
        assert lines and re.fullmatch(r"flowchart (TB|TD|BT|LR|RL)", lines[0]), f"starts with {lines[:1]}"
        self.nodes: Dict[str, List[str]] = {}
        self.parents: Dict[str, Tuple[str, ...]] = {}
        self.subgraphs: List[Tuple[str, str]] = []
        self.edges: List[Tuple[str, str, Optional[str]]] = []
        self.classes: Dict[str, List[str]] = {}
        stack: List[str] = []
        for line in lines[1:]:
            sub = re.fullmatch(rf"subgraph ({_ID})\[{_LABEL}\]", line)
            node = _NODE.fullmatch(line)
            edge = _EDGE.fullmatch(line)
            if sub:
                self._id(sub.group(1))
                self.subgraphs.append((sub.group(1), sub.group(2)))
                self.parents[sub.group(1)] = tuple(stack)
                stack.append(sub.group(1))
            elif line == "end":
                assert stack, "`end` without a subgraph"
                stack.pop()
            elif node:
                self._id(node.group(1))
                assert node.group(1) not in self.nodes, f"node {node.group(1)} defined twice"
                label = next(g for g in node.groups()[1:] if g is not None)
                self.nodes[node.group(1)] = label.split("<br/>")
                self.parents[node.group(1)] = tuple(stack)
            elif edge:
                self._id(edge.group(1))
                self._id(edge.group(4))
                self.edges.append((edge.group(1), edge.group(4), edge.group(3)))
            elif re.fullmatch(rf"classDef ({_ID}) [a-z-]+:[^\s;]+(,[a-z-]+:[^\s;,]+)*", line):
                pass
            elif re.fullmatch(rf"class {_ID}(,{_ID})* ({_ID})", line):
                members, name = line[len("class "):].rsplit(" ", 1)
                self.classes[name] = members.split(",")
            else:
                raise AssertionError(f"unexpected Mermaid line: {line!r}")
        assert not stack, f"subgraphs never closed: {stack}"
        known = set(self.nodes) | {s for s, _ in self.subgraphs}
        for a, b, _ in self.edges:
            assert a in known and b in known, f"edge {a} -> {b} names an undefined node"
        for members in self.classes.values():
            assert set(members) <= set(self.nodes), f"class for undefined nodes: {members}"

    @staticmethod
    def _id(node_id: str) -> None:
        assert re.fullmatch(_ID, node_id) and node_id not in _RESERVED, f"unsafe node id {node_id!r}"

    def node(self, first_line: str, within: str) -> str:
        """The id of the node whose first label line is `first_line`, inside subgraph `within`."""
        found = [n for n, label in self.nodes.items() if label[0] == first_line and within in self.parents[n]]
        assert len(found) == 1, f"expected one node {first_line!r} in {within}, found {found}"
        return found[0]

    def stage_id(self, stage: str) -> str:
        found = [s for s, title in self.subgraphs if title.split(" · ", 1)[-1] == stage]
        assert len(found) == 1, f"expected one subgraph for stage {stage}, found {found}"
        return found[0]

    def ranks(self, within: str) -> Dict[str, int]:
        """Longest-path rank of every node inside a subgraph, over the edges among those nodes."""
        inside = {n for n in self.nodes if within in self.parents[n]}
        edges = [(a, b) for a, b, _ in self.edges if a in inside and b in inside]
        rank = {n: 0 for n in inside}
        for _ in inside:  # Bellman-Ford style relaxation; the graph is small and acyclic
            for a, b in edges:
                rank[b] = max(rank[b], rank[a] + 1)
        return rank


def _flowchart(model: pipeline_model.Pipeline) -> Flowchart:
    return Flowchart(diagram.mermaid(model))


# --- the diagram --------------------------------------------------------------------------------------

def test_the_five_stages_appear_in_pipeline_order(synth_out: Path, docs, region: str) -> None:
    assert [s["name"] for s in _pipeline(docs[region])["stage"]] == STAGES
    chart = _flowchart(_model(synth_out, region))
    stage_subgraphs = [title.split(" · ", 1)[-1] for sid, title in chart.subgraphs if not chart.parents[sid]]
    assert stage_subgraphs == STAGES
    order = [chart.stage_id(s) for s in STAGES]
    assert [(a, b) for a, b, _ in chart.edges if a in order and b in order] == list(zip(order, order[1:]))


def test_the_three_builds_run_side_by_side(synth_out: Path, docs, region: str) -> None:
    model = _model(synth_out, region)
    builds = [a["name"] for a in _pipeline(docs[region])["stage"][1]["action"]]
    assert len(builds) == 3 and len({a.get("run_order", 1) for a in _pipeline(docs[region])["stage"][1]["action"]}) == 1
    (build_stage,) = [s for s in model.stages if s.name == "Build"]
    assert [[a.name for a in row] for row in build_stage.rows] == [builds]
    chart = _flowchart(model)
    stage = chart.stage_id("Build")
    ranks = chart.ranks(stage)
    assert {ranks[chart.node(name, stage)] for name in builds} == {0}, "the builds must share one row"


def test_production_approval_precedes_its_deploys(synth_out: Path, docs, region: str) -> None:
    actions = _pipeline(docs[region])["stage"][4]["action"]
    approvals = [a["name"] for a in actions if a["provider"] == "Manual"]
    deploys = [a["name"] for a in actions if a["provider"] == "CodeDeployToECS"]
    assert len(approvals) == 1 and len(deploys) == 3
    model = _model(synth_out, region)
    (production,) = [s for s in model.stages if s.name == "Production"]
    # the approval, then the stage's Activate (a first release raises the services from 0 tasks), then the deploys
    assert [[a.name for a in row] for row in production.rows] == [approvals, ["Activate"], deploys]
    chart = _flowchart(model)
    stage = chart.stage_id("Production")
    ranks = chart.ranks(stage)
    gate = chart.node(approvals[0], stage)
    activate = chart.node("Activate", stage)
    assert "manual approval gate" in chart.nodes[gate]
    assert gate in chart.classes["approval"]
    assert (gate, activate, None) in chart.edges and ranks[gate] < ranks[activate]
    for name in deploys:
        deploy = chart.node(name, stage)
        assert (activate, deploy, None) in chart.edges
        assert ranks[activate] < ranks[deploy]
    # the gate is the only way into Activate, and Activate the only way into the production deploys
    assert {a for a, b, _ in chart.edges if b == activate} == {gate}
    assert {a for a, b, _ in chart.edges if b in {chart.node(n, stage) for n in deploys}} == {activate}


def test_each_deploy_shows_its_group_target_groups_and_alarms(synth_out: Path, docs, region: str) -> None:
    doc = docs[region]
    chart = _flowchart(_model(synth_out, region))
    deploys = _deploy_actions(doc)
    assert len(deploys) == 6
    for stage_name, action in deploys:
        group, tgs, kinds = _expected_details(doc, action)
        assert len(tgs) == 2 and len(kinds) == 5
        stage = chart.stage_id(stage_name)
        node = chart.node(action["name"], stage)
        box = chart.parents[node][-1]  # the service's subgraph
        inside = [n for n in chart.nodes if box in chart.parents[n]]
        labels = {n: chart.nodes[n] for n in inside}
        (dg,) = [n for n, label in labels.items() if group in label]
        assert "deployment group" in labels[dg] and (node, dg, None) in chart.edges
        (tg,) = [n for n, label in labels.items() if set(tgs) <= set(label)]
        assert (dg, tg, None) in chart.edges
        (al,) = [n for n, label in labels.items() if set(kinds) <= set(label)]
        (service,) = [g["tags"]["service"] for g in doc["resource"]["aws_codedeploy_deployment_group"].values()
                      if g["deployment_group_name"] == group]
        assert labels[al][0] == f"rollback alarms ({len(kinds)}, {service} only)"
        assert (dg, al, "rolls back on") in chart.edges
        # the pre-traffic test: the requests the health Lambda sends through the group's test listener
        (pt,) = [n for n, label in labels.items() if label[0].startswith("pre-traffic test via test listener")]
        assert (dg, pt, "AfterAllowTestTraffic") in chart.edges
        checks = json.loads(next(f for f in doc["resource"]["aws_lambda_function"].values() if f.get("environment"))[
            "environment"]["variables"]["SMOKE_CHECKS"])[group]
        assert labels[pt][1:] == [f"GET {c['path']} → {c['status']}" for c in checks] and checks
        assert not any("${" in line for label in labels.values() for line in label)
    # one alarm node per deployment group, not one per alarm
    alarm_nodes = [n for n, label in chart.nodes.items() if label[0].startswith("rollback alarms")]
    assert len(alarm_nodes) == len(deploys) < len(doc["resource"]["aws_cloudwatch_metric_alarm"])


def test_every_value_is_resolved(synth_out: Path, region: str) -> None:
    text = diagram.section(_model(synth_out, region))
    assert "${" not in text and "aws_" not in diagram.mermaid(_model(synth_out, region))


def test_mermaid_is_well_formed(synth_out: Path, region: str) -> None:
    text = diagram.mermaid(_model(synth_out, region))
    chart = Flowchart(text)  # asserts: header, balanced subgraph/end, safe ids, quoted labels, known nodes
    assert text.count("subgraph ") == sum(1 for ln in text.splitlines() if ln.strip() == "end")
    assert len(chart.subgraphs) == 5 + 6  # the stages, and one per deploy action
    assert all(label and all(line.strip() for line in label) for label in chart.nodes.values())


def test_labels_are_escaped() -> None:
    assert diagram._label('a "quoted" <b> #1', "x") == '"a #quot;quoted#quot; #lt;b#gt; #35;1<br/>x"'


# --- determinism ------------------------------------------------------------------------------------

def test_same_json_same_text(synth_out: Path, region: str) -> None:
    first = diagram.document(_model(synth_out, region))
    assert first == diagram.document(_model(synth_out, region))
    assert DEPLOYMENT_ID not in first


def test_deployment_id_and_asset_hash_do_not_change_the_output(synth_out: Path, tmp_path: Path, docs,
                                                               region: str) -> None:
    doc = docs[region]
    assert doc["output"]["deployment_id"]["value"] == DEPLOYMENT_ID
    # the hook and the probe run one package
    (asset_hash,) = {f["source_code_hash"] for f in doc["resource"]["aws_lambda_function"].values()}
    text = (synth_out / "stacks" / region / "cdk.tf.json").read_text()
    assert text.count(DEPLOYMENT_ID) > 1  # the output and the task definitions' tags
    other = text.replace(DEPLOYMENT_ID, OTHER_DEPLOYMENT_ID).replace(asset_hash, "0" * len(asset_hash))
    target = tmp_path / "out" / "stacks" / region / "cdk.tf.json"
    target.parent.mkdir(parents=True)
    target.write_text(other)
    again = pipeline_model.pipeline(pipeline_model.load(tmp_path / "out", region))
    assert diagram.document(again) == diagram.document(_model(synth_out, region))


# --- the overview -----------------------------------------------------------------------------------

def test_overview_tables(synth_out: Path, docs, region: str) -> None:
    doc = docs[region]
    text = diagram.overview(_model(synth_out, region))
    for rtype, items in doc["resource"].items():
        assert f"| `{rtype}` | {len(items)} |" in text
    for stage in _pipeline(doc)["stage"]:
        (role,) = {a["role_arn"] for a in stage["action"]}
        name = _ref(doc, role, "aws_iam_role")[0]["name"]
        assert re.search(rf"^\| {stage['name']} \| .* \| `{re.escape(name)}` \|$", text, re.M), stage["name"]
    endpoints = doc["output"]["service_endpoints"]["value"]
    albs = {k: v["name"] for k, v in doc["resource"]["aws_lb"].items()}
    for key, url in endpoints.items():
        stage, service = key.split("/")
        alb = re.search(r"\$\{aws_lb\.([^.]+)\.dns_name\}", url).group(1)
        shown = url.replace("${aws_lb.%s.dns_name}" % alb, f"<{albs[alb]} DNS>")
        (taskdef,) = [t for t in doc["resource"]["aws_ecs_task_definition"].values()
                      if t["family"].endswith(f"-{stage}-{service}")]
        row = f"| {service} | {stage.capitalize()} | {taskdef['cpu']} | {taskdef['memory']} | "
        assert any(line.startswith(row) and line.endswith(f"| `{shown}` |") for line in text.splitlines()), row
    if region == "us-east-1":
        assert "`http://<shop-stg-use1 DNS>/api-service/`" in text


# --- the README -------------------------------------------------------------------------------------

def test_readme_diagram_matches_the_current_code(synth_out: Path) -> None:
    generated = diagram.section(_model(synth_out, diagram.README_REGION)).strip("\n")
    assert diagram.readme_section(REPO / "README.md") == generated, \
        f"README diagram is out of date: {UPDATE}"


def test_update_and_check_readme(synth_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n\n{diagram.START}\nold text\n{diagram.END}\n\nafter\n")
    assert diagram.main(["--out", str(synth_out), "--check-readme"], readme=readme) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"README diagram is out of date: {UPDATE}"
    assert diagram.main(["--out", str(synth_out), "--update-readme"], readme=readme) == 0
    text = readme.read_text()
    assert text.startswith(f"# title\n\nbefore\n\n{diagram.START}\n```mermaid\nflowchart TB\n")
    assert text.endswith(f"</details>\n{diagram.END}\n\nafter\n")
    assert diagram.main(["--out", str(synth_out), "--check-readme"], readme=readme) == 0
    assert diagram.main(["--out", str(synth_out), "--update-readme"], readme=readme) == 0
    assert readme.read_text() == text  # idempotent
    readme.write_text(text.replace("flowchart TB", "flowchart LR"))
    assert diagram.main(["--out", str(synth_out), "--check-readme"], readme=readme) == 1


def test_readme_without_markers_is_a_one_line_error(synth_out: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(diagram.UserError, match="needs exactly one"):
        diagram.main(["--out", str(synth_out), "--update-readme"], readme=readme)


# --- the CLI ----------------------------------------------------------------------------------------

def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cicd.docs.diagram", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_missing_synth_output_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _run("--out", str(tmp_path / "nothing"))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nox -s synth" in lines[0], result.stderr


def test_unknown_region_is_rejected(synth_out: Path) -> None:
    result = _run("--out", str(synth_out), "--region", "eu-north-9")
    assert result.returncode == 2 and "allowed: us-east-1, us-west-2" in result.stderr


def test_prints_every_region_and_never_imports_cdktf(synth_out: Path) -> None:
    probe = ("import runpy, sys\n"
             "sys.argv = ['cicd.docs.diagram', '--out', sys.argv[1]]\n"
             "try:\n    runpy.run_module('cicd.docs.diagram', run_name='__main__')\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('cdktf', 'jsii', 'constructs', 'cdktf_cdktf_provider_aws', 'stack'))\n"
             "print('IMPORTED', heavy)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(synth_out)], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("IMPORTED []"), result.stdout[-500:]
    for region in REGIONS:
        assert f"## {region}\n\n```mermaid\nflowchart TB\n" in result.stdout


def test_write_folder(synth_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "diagrams"
    assert diagram.main(["--out", str(synth_out), "--write", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{r}.md" for r in REGIONS)
    for region in REGIONS:
        assert (folder / f"{region}.md").read_text() == diagram.document(_model(synth_out, region))
    assert "```mermaid" not in capsys.readouterr().out  # written, not printed


def test_reads_only_the_json(synth_out: Path, tmp_path: Path) -> None:
    """A copy of just the cdk.tf.json files is enough (no assets, no fingerprint, no manifest)."""
    copy = tmp_path / "out"
    for region in REGIONS:
        (copy / "stacks" / region).mkdir(parents=True)
        shutil.copy2(synth_out / "stacks" / region / "cdk.tf.json", copy / "stacks" / region / "cdk.tf.json")
        assert diagram.document(pipeline_model.pipeline(pipeline_model.load(copy, region))) == \
            diagram.document(_model(synth_out, region))


def test_each_deploy_stage_shows_its_notify_only_alarms(synth_out: Path, docs, region: str) -> None:
    """The ALB-wide alarm is drawn once per stage as notify-only, outside every service's rollback alarms."""
    doc = docs[region]
    chart = _flowchart(_model(synth_out, region))
    listed = {a for g in doc["resource"]["aws_codedeploy_deployment_group"].values()
              for a in g["alarm_configuration"]["alarms"]}
    for stage_name in ("Staging", "Production"):
        stage = chart.stage_id(stage_name)
        (node,) = [n for n, label in chart.nodes.items() if label[0] == "notify-only alarms (no rollback)"
                   and stage in chart.parents[n]]
        assert chart.nodes[node][1:] and not set(chart.nodes[node][1:]) & listed
        assert all(name.startswith(f"shop-alb-{stage_name.lower()}-") for name in chart.nodes[node][1:])
