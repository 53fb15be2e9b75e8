"""Helpers for the pipeline diagram tests (test_diagram.py, test_diagram_output.py): the regions, the model
and chart of one region's synth, and what the synthesized JSON says, read independently of cicd.docs.

Expectations follow `${type.name.attr}` references by hand rather than through cicd.docs.terraform_json,
so a bug there cannot hide itself. A plain module, not conftest: test modules import it directly.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

from mermaid_flowchart import Flowchart

from cicd.docs import diagram, pipeline_model
from cicd.workspace.config import load_all

REPO = Path(__file__).resolve().parents[2]
REGIONS = tuple(c.region for c in load_all())


def load_model(synth_out: Path, region: str) -> pipeline_model.Pipeline:
    return pipeline_model.pipeline(pipeline_model.load(synth_out, region))


def flowchart_of(model: pipeline_model.Pipeline) -> Flowchart:
    return Flowchart(diagram.mermaid(model))


# --- following references in the JSON, independently of cicd.docs.diagram ---------------------------------

_REF = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}")


def reference(doc: Dict[str, Any], value: str, rtype: str) -> Tuple[Dict[str, Any], str]:
    """(body, attribute) of the `rtype` resource `value` references."""
    match = _REF.fullmatch(value)
    assert match and match.group(1) == rtype, f"{value!r} is not a reference to a {rtype}"
    return doc["resource"][rtype][match.group(2)], match.group(3)


def referenced_name(doc: Dict[str, Any], value: str, rtype: str) -> str:
    if "${" not in value:
        return value
    body, attr = reference(doc, value, rtype)
    return body[attr]


def pipeline_body(doc: Dict[str, Any]) -> Dict[str, Any]:
    (body,) = doc["resource"]["aws_codepipeline"].values()
    return body


def deploy_actions(doc: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    return [(stage["name"], action) for stage in pipeline_body(doc)["stage"] for action in stage["action"]
            if action["provider"] == "CodeDeployToECS"]


def expected_details(doc: Dict[str, Any], action: Dict[str, Any]) -> Tuple[str, List[str], List[str]]:
    """(deployment group, target group names, alarm kinds) of a deploy action, from the JSON."""
    group, attr = reference(doc, action["configuration"]["DeploymentGroupName"], "aws_codedeploy_deployment_group")
    name = group[attr]
    tgs = [referenced_name(doc, tg["name"], "aws_lb_target_group")
           for tg in group["load_balancer_info"]["target_group_pair_info"]["target_group"]]
    alarms = [referenced_name(doc, a, "aws_cloudwatch_metric_alarm") for a in group["alarm_configuration"]["alarms"]]
    assert all(a.startswith(name + "-") for a in alarms), "alarm names start with their deployment group's name"
    return name, tgs, [a[len(name) + 1:] for a in alarms]
