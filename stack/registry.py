"""ECR: one repository per service, scanned on push, immutable tags, KMS; images replicated to DR."""
from __future__ import annotations

import json
from typing import Dict

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_replication_configuration import EcrReplicationConfiguration
from cdktf_cdktf_provider_aws.ecr_repository import EcrRepository
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import UNTAGGED_IMAGE_EXPIRY_DAYS
from stack.blocks import blocks
from stack.context import StackContext
from stack.encryption import Encryption

TAGGED_IMAGES_KEPT = 50
# The health Lambda tags every image a release puts live (lambda/health_check/hc_release.py, same prefix).
RELEASE_TAG_PREFIX = "release-"
# ECR has no "keep" action: rule 2 claims released images, and ECR never lets a lower-priority rule
# (the count rule) expire an image a higher-priority rule selected. Its own expiry is 10 years after
# the push, far beyond any image a live or rollback task definition still runs.
RELEASED_IMAGE_DAYS = 3650

LIFECYCLE_POLICY = json.dumps({"rules": [
    {"rulePriority": 1, "description": f"expire untagged images after {UNTAGGED_IMAGE_EXPIRY_DAYS} days",
     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                   "countNumber": UNTAGGED_IMAGE_EXPIRY_DAYS},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "images a release put live: never expired by the count rule",
     "selection": {"tagStatus": "tagged", "tagPrefixList": [RELEASE_TAG_PREFIX], "countType": "sinceImagePushed",
                   "countUnit": "days", "countNumber": RELEASED_IMAGE_DAYS},
     "action": {"type": "expire"}},
    {"rulePriority": 3, "description": f"keep the newest {TAGGED_IMAGES_KEPT} other tagged images",
     "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": TAGGED_IMAGES_KEPT},
     "action": {"type": "expire"}},
]}, sort_keys=True)


class Registry(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.repositories: Dict[str, EcrRepository] = {}
        for service in cfg.services:
            repo = EcrRepository(
                self, service.name, name=naming.ecr_repository(cfg, service),
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configuration=blocks({"encryption_type": "KMS", "kms_key": encryption.arn}),
                force_delete=False,
            )
            EcrLifecyclePolicy(self, f"{service.name}-lifecycle", repository=repo.name, policy=LIFECYCLE_POLICY)
            self.repositories[service.name] = repo
        if cfg.is_primary and cfg.replication_regions:
            # Images pushed in the primary reach the DR region's repositories of the same name, so a
            # failover deploys images that already exist there.
            EcrReplicationConfiguration(self, "replication", replication_configuration={"rule": blocks({
                "destination": [{"region": r, "registry_id": ctx.account_id} for r in cfg.replication_regions],
                "repository_filter": [{"filter": f"{cfg.project}/", "filter_type": "PREFIX_MATCH"}],
            })})
