"""Run-time flows of a blue/green release once CodeDeploy has it: CodeDeploy's own role and the ECS tasks it starts.

CodeDeploy drives the ECS service (task sets, listeners and their rules), polls the rollback alarms,
invokes the AppSpec hook, publishes its triggers and passes the task's roles; the tasks' execution role
pulls the image, writes the awslogs stream and reads each secret. What the pipeline's deploy stages call
to start a deployment is cicd.policy.authz.flows.pipeline.
"""
from __future__ import annotations

import json

from cicd.policy.authz.builder import Builder
from cicd.policy.authz.flows.health_lambda import any_alarm, health_function
from cicd.policy.authz.flows.pipeline import taskdef_for


def codedeploy(b: Builder) -> None:
    s = b.stack
    for _, group in s.items("aws_codedeploy_deployment_group"):
        role = s.value(group["service_role_arn"])
        name = s.value(group["deployment_group_name"])
        b.assume(role, "codedeploy.amazonaws.com", name)
        cluster = s.value(group["ecs_service"]["cluster_name"])
        service = s.value(group["ecs_service"]["service_name"])
        for act in ("DescribeServices", "UpdateServicePrimaryTaskSet"):
            b.as_role(f"{name}: CodeDeploy drives the service", "codedeploy-ecs", role, f"ecs:{act}",
                      s.arn("ecs", f"service/{cluster}/{service}"))
        for act in ("CreateTaskSet", "DeleteTaskSet"):
            b.as_role(f"{name}: CodeDeploy creates/removes task sets", "codedeploy-ecs", role, f"ecs:{act}",
                      s.arn("ecs", f"task-set/{cluster}/{service}/ecs-svc/1234567890"))
        for act in ("DescribeTargetGroups", "DescribeListeners", "DescribeRules"):
            b.as_role(f"{name}: CodeDeploy reads the ALB", "codedeploy-ecs", role, f"elasticloadbalancing:{act}", "*")
        routes = group["load_balancer_info"]["target_group_pair_info"]
        listeners = [s.value(a) for route in ("prod_traffic_route", "test_traffic_route")
                     for a in routes[route]["listener_arns"]]
        for listener in listeners:
            b.as_role(f"{name}: CodeDeploy shifts the listener", "codedeploy-ecs", role,
                      "elasticloadbalancing:ModifyListener", listener)
            for rule_name, rule in s.items("aws_lb_listener_rule"):
                if s.value(rule["listener_arn"]) == listener:
                    b.as_role(f"{name}: CodeDeploy shifts the listener's rules", "codedeploy-ecs", role,
                              "elasticloadbalancing:ModifyRule", s.attr("aws_lb_listener_rule", rule_name, "arn"))
        b.as_role(f"{name}: CodeDeploy polls the rollback alarms", "codedeploy-ecs", role, "cloudwatch:DescribeAlarms",
                  any_alarm(s))
        function = health_function(s)  # the AppSpec hook; the probe is the hook's to invoke, not CodeDeploy's
        b.as_role(f"{name}: CodeDeploy invokes the hook", "hook", role, "lambda:InvokeFunction",
                  s.arn("lambda", f"function:{s.value(function['function_name'])}"))
        for trigger in group.get("trigger_configuration") or []:
            b.publish(f"{name}: CodeDeploy trigger {trigger['trigger_name']}", "codedeploy-ecs",
                      s.value(trigger["trigger_target_arn"]), role_arn=role)
        taskdef = taskdef_for(s, service)
        for key in ("execution_role_arn", "task_role_arn"):
            b.as_role(f"{name}: CodeDeploy passes the task's roles", "codedeploy-ecs", role, "iam:PassRole",
                      s.value(taskdef[key]), iam_PassedToService="ecs-tasks.amazonaws.com")


def tasks(b: Builder) -> None:
    s = b.stack
    for _, taskdef in s.items("aws_ecs_task_definition"):
        family = taskdef["family"]
        for key in ("execution_role_arn", "task_role_arn"):
            b.assume(s.value(taskdef[key]), "ecs-tasks.amazonaws.com", family)
        role = s.value(taskdef["execution_role_arn"])
        b.as_role(f"{family}: ECS gets an ECR token", "exec-role", role, "ecr:GetAuthorizationToken", "*")
        for container in json.loads(s.value(taskdef["container_definitions"])):
            repo = container["image"].split("/", 1)[1].rsplit(":", 1)[0]
            for act in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage"):
                b.as_role(f"{family}: ECS pulls the image", "exec-role", role, f"ecr:{act}",
                          s.arn("ecr", f"repository/{repo}"))
            logs = (container.get("logConfiguration") or {}).get("options") or {}
            if logs.get("awslogs-group"):
                b.log_stream(f"{family}: the awslogs driver writes", "exec-role", role, logs["awslogs-group"])
            for secret in container.get("secrets") or []:
                b.as_role(f"{family}: ECS injects {secret['name']}", "ssm-secrets", role, "ssm:GetParameters",
                          secret["valueFrom"])
            if container.get("secrets"):
                b.kms(f"{family}: SecureString key", "ssm-secrets", role, "kms:Decrypt")
