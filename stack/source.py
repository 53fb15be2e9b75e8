"""The CodeCommit monorepo holding every service under services/<name>/."""
from __future__ import annotations

from cdktf_cdktf_provider_aws.codecommit_repository import CodecommitRepository
from constructs import Construct

from stack.context import StackContext
from stack.encryption import Encryption


class Source(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.repository = CodecommitRepository(
            self, "repository", repository_name=cfg.source_repository,
            description=f"{cfg.project} microservices monorepo ({', '.join(s.name for s in cfg.services)})",
            kms_key_id=encryption.arn,
        )
        self.branch = cfg.source_branch
