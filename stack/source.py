"""The monorepo holding every service under services/<name>/: a CodeCommit repository (the default), or a
repository on a Git host reached through an AWS CodeConnections connection (SOURCE_PROVIDER)."""
from __future__ import annotations

from typing import Optional

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.codecommit_repository import CodecommitRepository
from cdktf_cdktf_provider_aws.codeconnections_connection import CodeconnectionsConnection
from constructs import Construct

from cicd.workspace import naming
from stack.context import StackContext
from stack.encryption import Encryption
from stack.policy import skip


def use_connection_action(connection_arn: str) -> str:
    """The IAM action that lets CodePipeline use a connection. The service was renamed in 2024: a
    connection's ARN keeps the prefix it was created under (codestar-connections or codeconnections), and
    the action's service prefix must match it (Service Authorization Reference: both services list
    UseConnection on their own `connection` resource type). cicd.workspace.config admits only those two prefixes."""
    prefix = connection_arn.split(":")[2]
    return f"{prefix}:UseConnection"


class Source(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.region = cfg.region
        self.provider = cfg.source_provider
        self.branch = cfg.source_branch
        self.full_repository_id = cfg.source_repository
        self.repository: Optional[CodecommitRepository] = None
        self.connection: Optional[CodeconnectionsConnection] = None
        self.connection_arn: Optional[str] = None
        if not self.provider.is_git_host:
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
        elif cfg.source_connection_arn:
            self.connection_arn = cfg.source_connection_arn
        else:
            # Created PENDING: someone must complete the handshake with the Git host in the console before
            # the pipeline can read the repository (README "Switching the source").
            self.connection = CodeconnectionsConnection(self, "connection", name=naming.source_connection(cfg),
                                                        provider_type=self.provider.connection_type)
            self.connection_arn = self.connection.arn

    @property
    def use_connection_action(self) -> str:
        assert self.connection_arn is not None, "CodeCommit sources use no connection"
        # A connection the stack creates (aws_codeconnections_connection) has a codeconnections ARN.
        return "codeconnections:UseConnection" if self.connection else use_connection_action(self.connection_arn)

    def outputs(self, stack: Construct) -> None:
        """What a person needs of the source: the clone URL, or the connection to authorize."""
        if self.repository is not None:
            TerraformOutput(stack, "source_clone_url", description="HTTPS clone URL of the monorepo",
                            value=self.repository.clone_url_http)
            return
        TerraformOutput(stack, "source_repository", value=f"{self.full_repository_id}@{self.branch}",
                        description=f"The {self.provider.value} repository and the branch the pipeline releases")
        TerraformOutput(stack, "source_connection_arn", value=self.connection_arn,
                        description="The CodeConnections connection the pipeline reads the repository through")
        if self.connection is not None:
            TerraformOutput(stack, "source_connection_status", value=self.connection.connection_status,
                            description="PENDING until someone authorizes it in the console "
                                        "(README: Switching the source)")
            TerraformOutput(stack, "source_connection_console_url", description="Where to authorize the connection",
                            value=f"https://{self.region}.console.aws.amazon.com/codesuite/settings/connections"
                                  f"?region={self.region}")
