"""Terraform references of a synthesized stack, resolved to the values AWS would give them.

The authorization checks read policies and resources from `cdk.tf.json`, where an ARN is still a
reference (`${aws_sns_topic.alarms_ABC.arn}`). This resolver turns each reference into the value in
AWS's own format, built from the resource's configured name in the stack's region and a stand-in
account id, with stable stand-ins for the parts AWS generates (a KMS key id, an ALB's hash). An
attribute not in the table resolves to an `<unresolved:...>` marker that matches no policy, so a
check on it fails visibly instead of passing by accident.

With `from_state`, values come from `terraform show -json` after an apply instead: every reference is
then what the (emulated) API returned.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Callable, Dict, Mapping, Optional

ACCOUNT = "111122223333"  # stand-in account id (AWS's documentation account)
PARTITION = "aws"
REFERENCE = re.compile(r"\$\{([^{}]+)\}")


def _hex(name: str, length: int) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def _uuid(name: str) -> str:
    h = _hex(name, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# type -> attribute -> template; {field} is a (resolved) field of the resource body, {region},
# {account}, {partition}, {hex16}/{hex6}/{uuid} stable stand-ins for what AWS generates.
ARN = "arn:{partition}:"
TEMPLATES: Dict[str, Dict[str, str]] = {
    "aws_s3_bucket": {"arn": ARN + "s3:::{bucket}", "id": "{bucket}", "bucket": "{bucket}"},
    "aws_iam_role": {"arn": ARN + "iam::{account}:role/{name}", "id": "{name}", "name": "{name}"},
    "aws_kms_key": {"arn": ARN + "kms:{region}:{account}:key/{uuid}", "key_id": "{uuid}", "id": "{uuid}"},
    "aws_sns_topic": {"arn": ARN + "sns:{region}:{account}:{name}", "id": ARN + "sns:{region}:{account}:{name}"},
    "aws_sqs_queue": {"arn": ARN + "sqs:{region}:{account}:{name}"},
    "aws_cloudwatch_log_group": {"arn": ARN + "logs:{region}:{account}:log-group:{name}", "name": "{name}"},
    "aws_lambda_function": {"arn": ARN + "lambda:{region}:{account}:function:{function_name}",
                            "function_name": "{function_name}"},
    "aws_codecommit_repository": {"arn": ARN + "codecommit:{region}:{account}:{repository_name}",
                                  "repository_name": "{repository_name}"},
    "aws_codebuild_project": {"arn": ARN + "codebuild:{region}:{account}:project/{name}", "name": "{name}"},
    "aws_codepipeline": {"arn": ARN + "codepipeline:{region}:{account}:{name}", "name": "{name}"},
    "aws_ecr_repository": {"arn": ARN + "ecr:{region}:{account}:repository/{name}",
                           "repository_url": "{account}.dkr.ecr.{region}.amazonaws.com/{name}", "name": "{name}"},
    "aws_ecs_cluster": {"arn": ARN + "ecs:{region}:{account}:cluster/{name}", "name": "{name}"},
    "aws_ecs_service": {"name": "{name}"},
    "aws_codedeploy_app": {"name": "{name}"},
    "aws_codedeploy_deployment_group": {"deployment_group_name": "{deployment_group_name}"},
    "aws_cloudwatch_metric_alarm": {"arn": ARN + "cloudwatch:{region}:{account}:alarm:{alarm_name}",
                                    "alarm_name": "{alarm_name}"},
    "aws_cloudwatch_event_rule": {"arn": ARN + "events:{region}:{account}:rule/{name}", "name": "{name}"},
    "aws_lb": {"arn": ARN + "elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}/{hex16}",
               "arn_suffix": "app/{name}/{hex16}", "name": "{name}"},
    # A listener's ARN continues its load balancer's: listener/app/<lb name>/<lb id>/<listener id>.
    "aws_lb_listener": {"arn": "{load_balancer_arn|listener}/{hex16}"},
    "aws_lb_listener_rule": {"arn": "{listener_arn|rule}/{hex16}"},
    "aws_lb_target_group": {"arn": ARN + "elasticloadbalancing:{region}:{account}:targetgroup/{name}/{hex16}",
                            "arn_suffix": "targetgroup/{name}/{hex16}", "name": "{name}"},
    "aws_wafv2_web_acl": {"arn": ARN + "wafv2:{region}:{account}:regional/webacl/{name}/{uuid}"},
    "aws_codeconnections_connection": {"arn": ARN + "codeconnections:{region}:{account}:connection/{uuid}"},
    "aws_security_group": {"id": "sg-{hex16}"},
    # Application Auto Scaling names a target by an id it assigns (scalable-target/<hex>)
    "aws_appautoscaling_target": {"arn": ARN + "application-autoscaling:{region}:{account}:scalable-target/{hex16}"},
    "aws_subnet": {"id": "subnet-{hex16}"},
    "aws_vpc": {"id": "vpc-{hex16}"},
}
DATA = {("aws_caller_identity", "account_id"): "{account}", ("aws_partition", "partition"): "{partition}"}


class Resolver:
    """Resolves `${...}` references in strings of one region's synthesized configuration."""

    def __init__(self, doc: Mapping[str, Any], region: str, lookup: Optional[Callable[[str], Optional[str]]] = None):
        self.doc = doc
        self.region = region
        self._lookup = lookup  # state-backed resolution (from_state), else the templates

    @classmethod
    def from_state(cls, doc: Mapping[str, Any], region: str, state: Mapping[str, Any]) -> "Resolver":
        """References resolved from `terraform show -json` of an applied state."""
        values: Dict[str, Any] = {}
        for resource in ((state.get("values") or {}).get("root_module") or {}).get("resources") or []:
            values[resource["address"]] = resource.get("values") or {}

        def lookup(expression: str) -> Optional[str]:
            parts = expression.split(".")
            address, attr = ".".join(parts[:-1]), parts[-1]
            value = (values.get(address) or {}).get(attr)
            return value if isinstance(value, str) else None
        return cls(doc, region, lookup)

    def value(self, text: str) -> str:
        """`text` with every reference replaced."""
        return REFERENCE.sub(lambda m: self._expression(m.group(1)), text)

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.value(value)
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        return value

    def _expression(self, expression: str) -> str:
        if self._lookup is not None:
            found = self._lookup(expression)
            if found is not None:
                return found
        parts = expression.split(".")
        if parts[0] == "data" and len(parts) == 4:
            template = DATA.get((parts[1], parts[3]))
            return self._fill(template, {}, parts[2]) if template else f"<unresolved:{expression}>"
        if len(parts) != 3:
            return f"<unresolved:{expression}>"
        rtype, name, attr = parts
        body = ((self.doc.get("resource") or {}).get(rtype) or {}).get(name)
        template = TEMPLATES.get(rtype, {}).get(attr)
        if body is None or template is None:
            return f"<unresolved:{expression}>"
        return self._fill(template, body, f"{rtype}.{name}")

    def _fill(self, template: str, body: Mapping[str, Any], key: str) -> str:
        def field(match: "re.Match[str]") -> str:
            token = match.group(1)
            if token == "region":
                return self.region
            if token == "account":
                return ACCOUNT
            if token == "partition":
                return PARTITION
            if token == "uuid":
                return _uuid(key)
            if token.startswith("hex"):
                return _hex(key, int(token[3:]))
            field_name, _, rewrite = token.partition("|")
            raw = body.get(field_name)
            if not isinstance(raw, str):
                return f"<unresolved:{key}.{field_name}>"
            value = self.value(raw)
            if rewrite == "listener":  # loadbalancer/app/... -> listener/app/...
                value = value.replace(":loadbalancer/", ":listener/", 1)
            elif rewrite == "rule":  # listener/app/... -> listener-rule/app/...
                value = value.replace(":listener/", ":listener-rule/", 1)
            return value
        return re.sub(r"\{([a-z_0-9|]+)\}", field, template)
