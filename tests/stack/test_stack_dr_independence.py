"""Disaster recovery: the DR region's configuration references nothing that lives only in another region.

If us-east-1 is gone, us-west-2 must still init, plan and apply: no remote state of another region,
no provider or backend pointed elsewhere, no ARN, bucket, key or topic of another region.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Dict, List

import pytest

from cicd.workspace.config import Role

OTHER = "us-east-1"


def cross_region_references(doc: Dict[str, Any], region: str, other_regions: List[str]) -> List[str]:
    """Every place `doc` (a synthesized cdk.tf.json) depends on a region other than `region`."""
    problems: List[str] = []
    data = doc.get("data", {})
    if "terraform_remote_state" in data:
        problems.append("data.terraform_remote_state reads another configuration's state")
    for rtype, items in data.items():
        for name, body in items.items():
            if isinstance(body, dict) and body.get("region") not in (None, region):
                problems.append(f"data.{rtype}.{name} queries region {body['region']}")
    for provider in doc.get("provider", {}).get("aws", []):
        if provider.get("region") != region:
            problems.append(f"provider aws{'.' + provider['alias'] if 'alias' in provider else ''} "
                            f"targets {provider.get('region')}")
    backend = doc.get("terraform", {}).get("backend", {})
    for kind, settings in backend.items():
        if settings.get("region", region) != region:
            problems.append(f"backend {kind} keeps state in {settings.get('region')}")
    text = json.dumps({k: v for k, v in doc.items() if k != "//"})
    for other in other_regions:
        if other in text:
            at = text.index(other)
            problems.append(f"mentions {other}: ...{text[max(0, at - 80):at + 40]}...")
    return problems


@pytest.fixture
def dr(synthesized):
    (synth,) = [s for s in synthesized.values() if s.cfg.role is Role.DR]
    return synth


def test_dr_region_stands_alone(dr) -> None:
    others = [r for r in ("us-east-1", "us-west-2") if r != dr.region]
    assert cross_region_references(dr.doc, dr.region, others) == []


def test_dr_region_has_its_own_state_repository_keys_and_topics(dr, synthesized) -> None:
    primary = next(s for s in synthesized.values() if s.cfg.role is Role.PRIMARY)
    assert dr.doc["terraform"]["backend"]["s3"]["bucket"] != primary.doc["terraform"]["backend"]["s3"]["bucket"]
    assert dr.doc["terraform"]["backend"]["s3"]["region"] == dr.region
    for rtype in ("aws_codecommit_repository", "aws_kms_key", "aws_sns_topic", "aws_ecr_repository", "aws_s3_bucket"):
        assert dr.bodies(rtype), f"the DR region must have its own {rtype}"


def test_dr_region_runs_a_reduced_production_footprint(dr) -> None:
    from first_install import minimum

    # once released there (a fresh install runs no task at all: tests/stack/test_stack_first_install.py)
    counts = {body["resource_id"]: minimum(dr, body["min_capacity"], "released")
              for body in dr.bodies("aws_appautoscaling_target")}
    production = [v for k, v in counts.items() if "-production-" in k]
    assert production and all(v == dr.cfg.standby_production_count for v in production)
    primary_count = dr.cfg.promoted().size(next(s for s in dr.cfg.sizes if s.value == "production")).desired_count
    assert all(v < primary_count for v in production)


def _remote_state(doc: Dict[str, Any]) -> None:
    doc.setdefault("data", {}).setdefault("terraform_remote_state", {})["east"] = {"backend": "s3"}


@pytest.mark.parametrize("plant, expected", [
    (_remote_state, "terraform_remote_state"),
    (lambda d: d["provider"]["aws"].append({"alias": "east", "region": OTHER}), "provider aws.east"),
    (lambda d: next(iter(d["resource"]["aws_sns_topic"].values())).update(
        {"kms_master_key_id": f"arn:aws:kms:{OTHER}:123456789012:key/abc"}), "mentions us-east-1"),
    (lambda d: d["terraform"]["backend"]["s3"].update({"region": OTHER}), "backend s3"),
])
def test_independence_check_fails_on_a_cross_region_reference(dr, plant, expected) -> None:
    doc = copy.deepcopy(dr.doc)
    plant(doc)
    problems = cross_region_references(doc, dr.region, [OTHER])
    assert any(expected in p for p in problems), problems
