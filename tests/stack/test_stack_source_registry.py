"""Source (CodeCommit) and ECR: repositories, scanning, immutability, encryption, lifecycle, replication."""
from __future__ import annotations

import json
from pathlib import Path

from cicd.workspace import naming
from cicd.workspace.config import UNTAGGED_IMAGE_EXPIRY_DAYS


def _pipeline(stack) -> dict:
    return stack.one("aws_codepipeline")[1]


def test_codecommit_repository_is_named_from_config(stack, cfg):
    _, repo = stack.one("aws_codecommit_repository")
    assert repo["repository_name"] == cfg.source_repository
    assert stack.is_kms_key(repo.get("kms_key_id"))


def test_pipeline_source_action_uses_the_repository_and_branch(stack, cfg):
    repo_name, _ = stack.one("aws_codecommit_repository")
    source = [s for s in _pipeline(stack)["stage"] if s["name"] == "Source"]
    assert len(source) == 1 and len(source[0]["action"]) == 1
    action = source[0]["action"][0]
    assert (action["category"], action["owner"], action["provider"]) == ("Source", "AWS", "CodeCommit")
    config = action["configuration"]
    assert stack.refers_to(config["RepositoryName"], "aws_codecommit_repository", repo_name)
    assert stack.literal(config["RepositoryName"]) == cfg.source_repository
    assert config["BranchName"] == cfg.source_branch


def test_one_ecr_repository_per_service_scanned_immutable_and_kms_encrypted(stack, cfg):
    repos = stack.resources("aws_ecr_repository")
    assert sorted(r["name"] for r in repos.values()) == sorted(naming.ecr_repository(cfg, s) for s in cfg.services)
    for name, repo in repos.items():
        assert repo["image_scanning_configuration"]["scan_on_push"] is True, name
        assert repo["image_tag_mutability"] == "IMMUTABLE", name
        encryption = repo["encryption_configuration"]
        encryption = encryption[0] if isinstance(encryption, list) else encryption
        assert encryption["encryption_type"] == "KMS", name
        assert stack.is_kms_key(encryption["kms_key"]), name


def test_lifecycle_policy_expires_untagged_images_after_seven_days(stack):
    assert UNTAGGED_IMAGE_EXPIRY_DAYS == 7
    policies = stack.bodies("aws_ecr_lifecycle_policy")
    covered = {stack.ref(p["repository"], "aws_ecr_repository", "name")[0] for p in policies}
    assert covered == set(stack.resources("aws_ecr_repository")), "every repository needs a lifecycle policy"
    for policy in policies:
        rules = json.loads(policy["policy"])["rules"]
        untagged = [r for r in rules if r["selection"]["tagStatus"] == "untagged"]
        assert len(untagged) == 1, rules
        rule = untagged[0]
        assert rule["selection"]["countType"] == "sinceImagePushed"
        assert rule["selection"]["countUnit"] == "days"
        assert rule["selection"]["countNumber"] == 7
        assert rule["action"] == {"type": "expire"}
        priorities = [r["rulePriority"] for r in rules]
        assert len(set(priorities)) == len(priorities)


def test_replication_only_from_the_primary_to_the_dr_region(stack, cfg):
    replications = stack.bodies("aws_ecr_replication_configuration")
    if not cfg.is_primary:
        assert replications == [], "the DR stack must not replicate (it would replicate back to the primary)"
        return
    assert cfg.region == "us-east-1" and cfg.replication_regions == ("us-west-2",)
    assert len(replications) == 1
    rules = replications[0]["replication_configuration"]["rule"]
    destinations = [d for rule in rules for d in rule["destination"]]
    assert [d["region"] for d in destinations] == ["us-west-2"]
    assert all(d["registry_id"] == stack.account_token() for d in destinations)
    filters = [f for rule in rules for f in rule.get("repository_filter") or []]
    for repo in stack.bodies("aws_ecr_repository"):
        # every service repository is covered by the filter
        assert not filters or any(f["filter_type"] == "PREFIX_MATCH" and repo["name"].startswith(f["filter"])
                                  for f in filters), repo["name"]


def test_dr_stack_has_no_replication(synthesized):
    dr = [s for s in synthesized.values() if not s.cfg.is_primary]
    assert [s.region for s in dr] == ["us-west-2"]
    assert dr[0].resources("aws_ecr_replication_configuration") == {}


def _history(release_tag: str) -> list:
    """The image production runs was built 200 builds ago and went live then (tagged by the health Lambda);
    199 builds followed without a production release; untagged leftovers of rebuilt tags; two of the builds
    are 8 days old untagged images."""
    from ecr_lifecycle import Image

    live = Image("sha256:live", 30.0, frozenset({"20261001T000000Z-aaaaaaa", release_tag}))
    rollback = Image("sha256:rollback", 31.0, frozenset({"20260930T000000Z-bbbbbbb", release_tag + "x"}))
    builds = [Image(f"sha256:b{i}", i / 10, frozenset({f"2026110{i % 10}T0000Z-{i:07d}"})) for i in range(199)]
    untagged = [Image("sha256:old-untagged", 8.0), Image("sha256:new-untagged", 1.0)]
    return [live, rollback, *builds, *untagged]


def test_lifecycle_policy_never_expires_a_released_image(stack):
    """Issue 14, hole 4: "keep the newest 50 tagged images" expired the image production runs (needed to
    scale out) and the one a rollback returns to after 50 builds without a production release. Images a
    release put live carry the release tag prefix (lambda/health_check/hc_release.py) and no rule may
    expire them; other tagged images still stop at 50, untagged ones after 7 days."""
    from ecr_lifecycle import expired

    from stack.registry import RELEASE_TAG_PREFIX, TAGGED_IMAGES_KEPT

    # the prefix the Lambda tags with is the one the policy protects
    source = (Path(__file__).resolve().parents[2] / "lambda" / "health_check" / "hc_release.py").read_text()
    assert f'RELEASE_TAG_PREFIX = "{RELEASE_TAG_PREFIX}"' in source
    images = _history(f"{RELEASE_TAG_PREFIX}20261001T000000Z-aaaaaaa")
    for policy in stack.bodies("aws_ecr_lifecycle_policy"):
        gone = expired(json.loads(policy["policy"])["rules"], images)
        assert "sha256:live" not in gone and "sha256:rollback" not in gone
        assert "sha256:old-untagged" in gone and "sha256:new-untagged" not in gone
        kept_builds = [i for i in images if i.digest.startswith("sha256:b") and i.digest not in gone]
        # the count rule still trims the other builds (the untagged images count among its newest 50)
        assert TAGGED_IMAGES_KEPT - 2 <= len(kept_builds) <= TAGGED_IMAGES_KEPT
