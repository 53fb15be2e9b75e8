"""`cicd.docs.diagram`'s Mermaid flowchart: the stages, actions and deployments it draws, from the synthesized JSON.

Expectations are read from that JSON independently of `cicd.docs.diagram` (diagram_testkit); the
Mermaid text is checked with a small parser (mermaid_flowchart). Fixtures: conftest.py.
"""
from __future__ import annotations

import json
from pathlib import Path

from diagram_testkit import deploy_actions, expected_details, flowchart_of, load_model, pipeline_body
from mermaid_flowchart import Flowchart

from cicd.docs import diagram

STAGES = ["Source", "Build", "Test", "Staging", "Production"]


def test_the_five_stages_appear_in_pipeline_order(synth_out: Path, docs, region: str) -> None:
    assert [s["name"] for s in pipeline_body(docs[region])["stage"]] == STAGES
    chart = flowchart_of(load_model(synth_out, region))
    stage_subgraphs = [title.split(" · ", 1)[-1] for sid, title in chart.subgraphs if not chart.parents[sid]]
    assert stage_subgraphs == STAGES
    order = [chart.stage_id(s) for s in STAGES]
    assert [(a, b) for a, b, _ in chart.edges if a in order and b in order] == list(zip(order, order[1:]))


def test_the_three_builds_run_side_by_side(synth_out: Path, docs, region: str) -> None:
    model = load_model(synth_out, region)
    builds = [a["name"] for a in pipeline_body(docs[region])["stage"][1]["action"]]
    assert len(builds) == 3 and len({a.get("run_order", 1)
                                     for a in pipeline_body(docs[region])["stage"][1]["action"]}) == 1
    (build_stage,) = [s for s in model.stages if s.name == "Build"]
    assert [[a.name for a in row] for row in build_stage.rows] == [builds]
    chart = flowchart_of(model)
    stage = chart.stage_id("Build")
    ranks = chart.ranks(stage)
    assert {ranks[chart.node(name, stage)] for name in builds} == {0}, "the builds must share one row"


def test_production_approval_precedes_its_deploys(synth_out: Path, docs, region: str) -> None:
    actions = pipeline_body(docs[region])["stage"][4]["action"]
    approvals = [a["name"] for a in actions if a["provider"] == "Manual"]
    deploys = [a["name"] for a in actions if a["provider"] == "CodeDeployToECS"]
    assert len(approvals) == 1 and len(deploys) == 3
    model = load_model(synth_out, region)
    (production,) = [s for s in model.stages if s.name == "Production"]
    # the approval, then the stage's Activate (a first release raises the services from 0 tasks), then the deploys
    assert [[a.name for a in row] for row in production.rows] == [approvals, ["Activate"], deploys]
    chart = flowchart_of(model)
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
    chart = flowchart_of(load_model(synth_out, region))
    deploys = deploy_actions(doc)
    assert len(deploys) == 6
    for stage_name, action in deploys:
        group, tgs, kinds = expected_details(doc, action)
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
    text = diagram.section(load_model(synth_out, region))
    assert "${" not in text and "aws_" not in diagram.mermaid(load_model(synth_out, region))


def test_mermaid_is_well_formed(synth_out: Path, region: str) -> None:
    text = diagram.mermaid(load_model(synth_out, region))
    chart = Flowchart(text)  # asserts: header, balanced subgraph/end, safe ids, quoted labels, known nodes
    assert text.count("subgraph ") == sum(1 for ln in text.splitlines() if ln.strip() == "end")
    assert len(chart.subgraphs) == 5 + 6  # the stages, and one per deploy action
    assert all(label and all(line.strip() for line in label) for label in chart.nodes.values())


def test_labels_are_escaped() -> None:
    assert diagram._label('a "quoted" <b> #1', "x") == '"a #quot;quoted#quot; #lt;b#gt; #35;1<br/>x"'


def test_each_deploy_stage_shows_its_notify_only_alarms(synth_out: Path, docs, region: str) -> None:
    """The ALB-wide alarm is drawn once per stage as notify-only, outside every service's rollback alarms."""
    doc = docs[region]
    chart = flowchart_of(load_model(synth_out, region))
    listed = {a for g in doc["resource"]["aws_codedeploy_deployment_group"].values()
              for a in g["alarm_configuration"]["alarms"]}
    for stage_name in ("Staging", "Production"):
        stage = chart.stage_id(stage_name)
        (node,) = [n for n, label in chart.nodes.items() if label[0] == "notify-only alarms (no rollback)"
                   and stage in chart.parents[n]]
        assert chart.nodes[node][1:] and not set(chart.nodes[node][1:]) & listed
        assert all(name.startswith(f"shop-alb-{stage_name.lower()}-") for name in chart.nodes[node][1:])
