"""What every construct of a region stack shares: its config, account/partition, key and roles."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from cicd.workspace.config import RegionConfig
from stack.iam import Role


@dataclass
class StackContext:
    cfg: RegionConfig
    account_id: str  # a Terraform reference to the caller's account
    partition: str
    deployment_id: str
    roles: List[Role] = field(default_factory=list)

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (f"arn:{self.partition}:{service}:{self.cfg.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")

    def role(self, role: Role) -> Role:
        """Register a role so the stack writes its inline policy after every construct added to it."""
        self.roles.append(role)
        return role
