"""Parameter Store under /pipeline/{stage}/{service}/: build-time and runtime configuration.

SecureString values are never managed here: each is created once with a placeholder and Terraform
ignores its value afterwards, so the real secret, set with `aws ssm put-parameter --overwrite`,
never appears in the repo, the synthesized JSON or a plan.
"""
from __future__ import annotations

from typing import Dict

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from cicd.workspace.parameters import SECRET_PLACEHOLDER, all_parameters
from stack.context import StackContext
from stack.encryption import Encryption
from stack.policy import skip
from stack.registry import Registry


class ParameterStore(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption, registry: Registry):
        super().__init__(scope, id)
        computed: Dict[str, str] = {
            f"/pipeline/build/{name}/ECR_REPOSITORY_URI": repo.repository_url
            for name, repo in registry.repositories.items()
        }
        self.parameters: Dict[str, SsmParameter] = {}
        for p in all_parameters(ctx.cfg):
            slug = p.name.strip("/").replace("/", "-").lower()
            # The construct path has no "/<stage>-" for tag_stages_and_services to find: tag explicitly.
            tags = {"stage": p.stage.value, "service": p.service.name}
            if p.secure:
                self.parameters[p.name] = SsmParameter(
                    self, slug, name=p.name, description=p.description, type="SecureString",
                    key_id=encryption.arn, value=SECRET_PLACEHOLDER, tags=tags,
                    lifecycle=TerraformResourceLifecycle(ignore_changes=["value"]))
            else:
                self.parameters[p.name] = SsmParameter(
                    self, slug, name=p.name, description=p.description, type="String",
                    value=p.value if p.value is not None else computed[p.name], tags=tags)
                skip(self.parameters[p.name], "CKV2_AWS_34",
                     "non-secret configuration stays a String so its value is reviewable in plans; "
                     "secrets are SecureString parameters encrypted with the stack's KMS key")
