"""What one region's stack looks like to the authorization checks: its roles, their trust and inline
policies, and the resource policies (bucket, key, topic, log delivery, Lambda permission), with every
Terraform reference resolved (cicd.policy.authz.resolve)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from cicd.policy.authz.resolve import ACCOUNT, Resolver


@dataclass(frozen=True)
class Role:
    name: str
    arn: str
    trust: Dict[str, Any]
    policy: Dict[str, Any]  # the inline policy ({} when the role has none)


@dataclass
class Stack:
    region: str
    doc: Mapping[str, Any]
    resolver: Resolver
    account: str = ACCOUNT
    roles: Dict[str, Role] = field(default_factory=dict)  # by ARN

    @classmethod
    def load(cls, doc: Mapping[str, Any], region: str, resolver: Optional[Resolver] = None) -> "Stack":
        stack = cls(region, doc, resolver or Resolver(doc, region))
        if resolver is not None:
            stack.account = stack.value("${data.aws_caller_identity.account.account_id}")
        inline: Dict[str, Dict[str, Any]] = {}
        for _, body in stack.items("aws_iam_role_policy"):
            inline[stack.value(body["role"])] = json.loads(stack.value(body["policy"]))
        for name, body in stack.items("aws_iam_role"):
            arn = stack.value(f"${{aws_iam_role.{name}.arn}}")
            stack.roles[arn] = Role(body["name"], arn, json.loads(stack.value(body["assume_role_policy"])),
                                    inline.get(body["name"], {}))
        return stack

    # --- lookups ------------------------------------------------------------------------------
    def items(self, rtype: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
        yield from sorted(((self.doc.get("resource") or {}).get(rtype) or {}).items())

    def value(self, text: str) -> str:
        return self.resolver.value(text)

    def attr(self, rtype: str, name: str, attr: str) -> str:
        return self.value(f"${{{rtype}.{name}.{attr}}}")

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def role(self, arn: str) -> Role:
        arn = self.value(arn)
        if arn not in self.roles:
            raise KeyError(f"{self.region}: no role {arn} in the stack")
        return self.roles[arn]

    def project(self) -> str:
        """The project name, as the stack prefixes its KMS alias (alias/<project>-pipeline)."""
        (_, alias), = self.items("aws_kms_alias")
        return alias["name"].split("/", 1)[1].rsplit("-pipeline", 1)[0]

    def key_arn(self) -> str:
        (name, _), = self.items("aws_kms_key")
        return self.attr("aws_kms_key", name, "arn")

    def key_policy(self) -> Dict[str, Any]:
        (_, body), = self.items("aws_kms_key")
        return json.loads(self.value(body["policy"]))

    def bucket_policy(self, bucket_name: str) -> Optional[Dict[str, Any]]:
        for _, body in self.items("aws_s3_bucket_policy"):
            if self.value(body["bucket"]) == bucket_name:
                return json.loads(self.value(body["policy"]))
        return None

    def topic_policy(self, topic_arn: str) -> Optional[Dict[str, Any]]:
        for _, body in self.items("aws_sns_topic_policy"):
            if self.value(body["arn"]) == topic_arn:
                return json.loads(self.value(body["policy"]))
        return None

    def lambda_policy(self, function_name: str) -> Dict[str, Any]:
        """The function's resource policy, as AWS builds it from its Lambda permissions."""
        statements: List[Dict[str, Any]] = []
        for _, body in self.items("aws_lambda_permission"):
            if self.value(body["function_name"]) != function_name:
                continue
            statement: Dict[str, Any] = {
                "Sid": body.get("statement_id", "x"), "Effect": "Allow",
                "Principal": {"Service": body["principal"]}, "Action": body["action"],
                "Resource": self.arn("lambda", f"function:{function_name}")}
            if body.get("source_arn"):
                statement["Condition"] = {"ArnLike": {"AWS:SourceArn": self.value(body["source_arn"])}}
            statements.append(statement)
        return {"Version": "2012-10-17", "Statement": statements}

    def log_resource_policies(self) -> List[Dict[str, Any]]:
        return [json.loads(self.value(body["policy_document"]))
                for _, body in self.items("aws_cloudwatch_log_resource_policy")]
