"""Run-time flows of the Lambda functions, above all every AWS call the health hook's own code makes.

The hook's calls are read from its source (every hc_aws.call / hc_aws.paginate in lambda/health_check),
so a call added there without a grant fails the gate; lambda_requests says which IAM action and
resource AWS authorizes for each, per deployment group. Also each function's log stream and its
dead-letter queue.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from cicd.policy.authz.builder import Builder
from cicd.policy.authz.catalogue import Stack

LAMBDA_DIR = Path(__file__).resolve().parents[4] / "lambda" / "health_check"


def handler_calls(directory: Path = LAMBDA_DIR) -> Set[Tuple[str, str]]:
    """(service, operation) of every hc_aws.call / hc_aws.paginate in the function's code."""
    calls: Set[Tuple[str, str]] = set()
    for path in sorted(directory.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("call", "paginate") and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "hc_aws" and len(node.args) >= 2
                    and all(isinstance(a, ast.Constant) for a in node.args[:2])):
                calls.add((node.args[0].value, node.args[1].value))
    return calls


def any_alarm(s: Stack) -> str:
    """An alarm of any name: what a DescribeAlarms that may return composite alarms must be allowed on.

    The API reference requires the permission on "*" for composite results. Asked with the resource
    "*", the engine answers whether *some* grant matches; an alarm named outside every prefix the
    stack uses is matched only by a grant on every alarm, which is AWS's rule.
    """
    return s.arn("cloudwatch", "alarm:any-composite-alarm-in-the-account")


def health_function(s: Stack) -> Dict[str, Any]:
    """The hook function: the one whose environment names the CodeDeploy application (the other one,
    the pre-traffic test probe, calls no AWS API)."""
    (function,) = [f for _, f in s.items("aws_lambda_function")
                   if "CODEDEPLOY_APPLICATION" in ((f.get("environment") or {}).get("variables") or {})]
    return function


def lambda_requests(s: Stack, group: Dict[str, Any]) -> Dict[Tuple[str, str], List[Tuple[str, str]]]:
    """(service, operation) -> the (action, resource) AWS authorizes, for one deployment group.

    Resources follow the Service Authorization Reference and the parameters the handler sends:
    DescribeAlarms asks for composite alarms too, which AWS authorizes only on "*" (any_alarm).
    """
    app, name = s.value(group["app_name"]), s.value(group["deployment_group_name"])
    group_arn = s.arn("codedeploy", f"deploymentgroup:{app}/{name}")
    service = s.arn("ecs", f"service/{s.value(group['ecs_service']['cluster_name'])}/"
                           f"{s.value(group['ecs_service']['service_name'])}")
    function = health_function(s)
    variables = function["environment"]["variables"]
    topic = s.value(variables["NOTIFICATION_TOPIC_ARN"])
    # the group's service's repository (ECR repositories are `<project>/<service>`, cicd/workspace/naming.py)
    repository = s.arn("ecr", f"repository/{s.value(variables['PROJECT_NAME'])}/{s.value(group['tags']['service'])}")
    probe = s.arn("lambda", f"function:{s.value(variables['PROBE_FUNCTION'])}")
    return {
        ("codedeploy", "get_deployment"): [("codedeploy:GetDeployment", group_arn)],
        ("codedeploy", "get_deployment_group"): [("codedeploy:GetDeploymentGroup", group_arn)],
        ("codedeploy", "list_deployment_groups"): [("codedeploy:ListDeploymentGroups",
                                                    s.arn("codedeploy", f"application:{app}"))],
        ("codedeploy", "list_deployments"): [("codedeploy:ListDeployments", group_arn)],
        ("codedeploy", "stop_deployment"): [("codedeploy:StopDeployment", "*")],
        ("codedeploy", "put_lifecycle_event_hook_execution_status"):
            [("codedeploy:PutLifecycleEventHookExecutionStatus", "*")],
        ("cloudwatch", "describe_alarms"): [("cloudwatch:DescribeAlarms", any_alarm(s))],
        ("elbv2", "describe_target_groups"): [("elasticloadbalancing:DescribeTargetGroups", "*")],
        ("elbv2", "describe_target_health"): [("elasticloadbalancing:DescribeTargetHealth", "*")],
        ("ecs", "describe_services"): [("ecs:DescribeServices", service)],
        # release images protected from expiry (hc_release): DescribeTaskDefinition has no resource type
        ("ecs", "describe_task_definition"): [("ecs:DescribeTaskDefinition", "*")],
        ("ecr", "batch_get_image"): [("ecr:BatchGetImage", repository)],
        ("ecr", "put_image"): [("ecr:PutImage", repository)],
        # the pre-traffic test (hc_remote): the ALB nodes' addresses (no resource type), the probe function
        ("ec2", "describe_network_interfaces"): [("ec2:DescribeNetworkInterfaces", "*")],
        ("lambda", "invoke"): [("lambda:InvokeFunction", probe)],
        ("sns", "publish"): [("sns:Publish", topic), ("kms:GenerateDataKey", s.key_arn()),
                             ("kms:Decrypt", s.key_arn())],
    }


def functions(b: Builder) -> None:
    s = b.stack
    for _, function in s.items("aws_lambda_function"):
        role = s.value(function["role"])
        fname = s.value(function["function_name"])
        b.assume(role, "lambda.amazonaws.com", fname)
        b.log_stream(f"{fname} writes its log", "lambda-role", role, f"/aws/lambda/{fname}")
        dlq = (function.get("dead_letter_config") or {}).get("target_arn")
        if dlq:
            b.as_role(f"{fname}: Lambda sends a failed event to the DLQ", "lambda-dlq", role, "sqs:SendMessage",
                      s.value(dlq))
            b.kms(f"{fname}: DLQ key", "lambda-dlq", role, "kms:GenerateDataKey")
        if function is not health_function(s):
            continue  # the probe runs no AWS call of its own
        calls = handler_calls()
        for _, group in s.items("aws_codedeploy_deployment_group"):
            requests = lambda_requests(s, group)
            for call in sorted(calls):
                for action, resource in requests.get(call, [("<not in the catalogue>", "*")]):
                    policy = s.topic_policy(resource) if action == "sns:Publish" else (
                        s.key_policy() if action.startswith("kms:") else None)
                    b.as_role(f"{fname} handler {call[0]}.{call[1]} ({s.value(group['deployment_group_name'])})",
                              "hook", role, action, resource, resource_policy=policy)
