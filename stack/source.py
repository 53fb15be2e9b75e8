"""The CodeCommit monorepo holding every service under services/<name>/."""
from __future__ import annotations

from cdktf_cdktf_provider_aws.codecommit_repository import CodecommitRepository
from constructs import Construct

from stack.context import StackContext
from stack.encryption import Encryption
from stack.policy import skip


class Source(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.repository = CodecommitRepository(
            self, "repository", repository_name=cfg.source_repository,
            description=f"{cfg.project} microservices monorepo ({', '.join(s.name for s in cfg.services)})",
            kms_key_id=encryption.arn,
        )
        # No approval-rule template: approval rules act only on pull requests and cannot stop a direct
        # push to the release branch; the release gate is the pipeline's manual approval.
        skip(self.repository, "CKV2_AWS_37",
             "the release gate is the pipeline's manual approval before production; CodeCommit approval rules "
             "act only on pull requests and do not stop a direct push to the release branch")
        self.branch = cfg.source_branch
