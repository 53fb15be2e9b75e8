"""The Terraform configuration (main.tf.json) of the emulator smoke test (test_terraform_smoke.py).

It covers every resource that needed a moto patch (see cicd/emulator/moto_patches/), wired the way the real stack
wires them: CodeCommit -> CodeBuild -> CodeDeploy blue/green to an ECS service behind an ALB with two
target groups and two listeners. This module builds the provider block and the infrastructure (network and
ALB, IAM, KMS, S3, logs, Lambda, auto scaling, alarm); smoke_config_delivery.py the delivery resources
(CodeCommit, CodeBuild, ECS, CodeDeploy, CodePipeline).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Dict

from .smoke_config_delivery import delivery_resources

REGION = "eu-west-1"
PREFIX = "emu-smoke"


def _assume(*services: str) -> str:
    principal: Any = list(services) if len(services) > 1 else services[0]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def write_lambda_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return {'ok': True}\n")


def build_config(region: str = REGION) -> Dict[str, Any]:
    """A small .tf.json that exercises every patched operation (expects hook.zip next to it)."""
    p = PREFIX
    tags = {"Project": "cicd", "Component": "emulator-smoke"}
    resource: Dict[str, Any] = {**_infrastructure(p, region, tags), **delivery_resources(p, region, tags)}
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {
            "aws": {
                "region": region,
                "access_key": "testing",
                "secret_key": "testing",
                "skip_credentials_validation": True,
                # Not skip_requesting_account_id: with it the provider builds some ARNs with an empty
                # account (e.g. CodeDeploy app/group ARNs for tagging), so tags never read back.
                # moto answers sts:GetCallerIdentity (account 123456789012).
                "skip_metadata_api_check": True,
                "s3_use_path_style": True,
            }
        },
        "resource": resource,
    }


def _infrastructure(p: str, region: str, tags: Dict[str, str]) -> Dict[str, Any]:
    """Network and ALB, IAM, KMS, S3 (with server access logging), Lambda, auto scaling, logs, alarm."""
    return {
        # ---------------------------------------------------------------- network + ALB
        "aws_vpc": {"main": {"cidr_block": "10.42.0.0/16", "tags": tags}},
        "aws_subnet": {
            "a": {
                "vpc_id": "${aws_vpc.main.id}",
                "cidr_block": "10.42.1.0/24",
                "availability_zone": f"{region}a",
            },
            "b": {
                "vpc_id": "${aws_vpc.main.id}",
                "cidr_block": "10.42.2.0/24",
                "availability_zone": f"{region}b",
            },
        },
        # S3 gateway endpoint: its prefix list is the destination of a described egress rule
        "aws_vpc_endpoint": {
            "s3": {
                "vpc_id": "${aws_vpc.main.id}",
                "service_name": f"com.amazonaws.{region}.s3",
                "vpc_endpoint_type": "Gateway",
            }
        },
        # rules that reference a security group / a prefix list, with descriptions
        "aws_vpc_security_group_ingress_rule": {
            "svc_from_alb": {
                "security_group_id": "${aws_security_group.svc.id}",
                "referenced_security_group_id": "${aws_security_group.alb.id}",
                "ip_protocol": "tcp",
                "from_port": 80,
                "to_port": 80,
                "description": "from the ALB",
            },
            "alb_http": {
                "security_group_id": "${aws_security_group.alb.id}",
                "cidr_ipv4": "0.0.0.0/0",
                "ip_protocol": "tcp",
                "from_port": 80,
                "to_port": 80,
                "description": "HTTP from anywhere",
            },
        },
        "aws_vpc_security_group_egress_rule": {
            "alb_to_svc": {
                "security_group_id": "${aws_security_group.alb.id}",
                "referenced_security_group_id": "${aws_security_group.svc.id}",
                "ip_protocol": "tcp",
                "from_port": 80,
                "to_port": 80,
                "description": "to the tasks",
            },
            "svc_to_s3": {
                "security_group_id": "${aws_security_group.svc.id}",
                "prefix_list_id": "${aws_vpc_endpoint.s3.prefix_list_id}",
                "ip_protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "description": "HTTPS to S3 through the gateway endpoint",
            },
        },
        "aws_security_group": {
            "alb": {
                "name": f"{p}-alb",
                "description": "ALB",
                "vpc_id": "${aws_vpc.main.id}",
            },
            "svc": {
                "name": f"{p}-svc",
                "description": "service",
                "vpc_id": "${aws_vpc.main.id}",
            },
        },
        "aws_lb": {
            "main": {
                "name": f"{p}-alb",
                "load_balancer_type": "application",
                "internal": False,
                "subnets": ["${aws_subnet.a.id}", "${aws_subnet.b.id}"],
                "security_groups": ["${aws_security_group.alb.id}"],
            }
        },
        "aws_lb_target_group": {
            colour: {
                "name": f"{p}-{colour}",
                "port": 80,
                "protocol": "HTTP",
                "target_type": "ip",
                "vpc_id": "${aws_vpc.main.id}",
                "health_check": {"path": "/", "matcher": "200"},
            }
            for colour in ("blue", "green")
        },
        "aws_lb_listener": {
            "prod": {
                "load_balancer_arn": "${aws_lb.main.arn}",
                "port": 80,
                "protocol": "HTTP",
                "default_action": {"type": "forward", "target_group_arn": "${aws_lb_target_group.blue.arn}"},
                "lifecycle": {"ignore_changes": ["default_action"]},
            },
            "test": {
                "load_balancer_arn": "${aws_lb.main.arn}",
                "port": 8080,
                "protocol": "HTTP",
                "default_action": {"type": "forward", "target_group_arn": "${aws_lb_target_group.green.arn}"},
                "lifecycle": {"ignore_changes": ["default_action"]},
            },
        },
        # ---------------------------------------------------------------- IAM
        "aws_iam_role": {
            "codebuild": {"name": f"{p}-codebuild", "assume_role_policy": _assume("codebuild.amazonaws.com")},
            # a list Service principal: valid IAM that moto's CodePipeline check refused
            "codepipeline": {
                "name": f"{p}-codepipeline",
                "assume_role_policy": _assume("codepipeline.amazonaws.com", "events.amazonaws.com"),
            },
            "codedeploy": {"name": f"{p}-codedeploy", "assume_role_policy": _assume("codedeploy.amazonaws.com")},
            "task_execution": {
                "name": f"{p}-task-exec",
                "assume_role_policy": _assume("ecs-tasks.amazonaws.com"),
            },
            "lambda": {"name": f"{p}-hook", "assume_role_policy": _assume("lambda.amazonaws.com")},
        },
        "aws_iam_role_policy_attachment": {
            "codedeploy": {
                "role": "${aws_iam_role.codedeploy.name}",
                "policy_arn": "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS",
            },
        },
        # ---------------------------------------------------------------- KMS, S3, logs, alarm
        "aws_kms_key": {"main": {"description": f"{p} artifacts", "enable_key_rotation": True}},
        # moto writes server access logs into the logs bucket as AWS does, hence force_destroy there too
        "aws_s3_bucket": {
            "artifacts": {"bucket": f"{p}-artifacts-{region}", "force_destroy": True},
            "logs": {"bucket": f"{p}-logs-{region}", "force_destroy": True},
        },
        "aws_s3_bucket_policy": {
            "logs": {
                "bucket": "${aws_s3_bucket.logs.id}",
                "policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "DenyInsecureTransport",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": ["${aws_s3_bucket.logs.arn}", "${aws_s3_bucket.logs.arn}/*"],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                            {
                                "Sid": "S3ServerAccessLogs",
                                "Effect": "Allow",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Action": "s3:PutObject",
                                "Resource": "${aws_s3_bucket.logs.arn}/s3/*",
                            },
                        ],
                    }
                ),
            }
        },
        "aws_s3_bucket_logging": {
            "artifacts": {
                "bucket": "${aws_s3_bucket.artifacts.id}",
                "target_bucket": "${aws_s3_bucket.logs.id}",
                "target_prefix": "s3/artifacts/",
                "depends_on": ["aws_s3_bucket_policy.logs"],
            }
        },
        # Lambda with a dead-letter queue
        "aws_sqs_queue": {"dlq": {"name": f"{p}-hook-dlq"}},
        "aws_lambda_function": {
            "hook": {
                "function_name": f"{p}-hook",
                "role": "${aws_iam_role.lambda.arn}",
                "handler": "handler.handler",
                "runtime": "python3.12",
                "filename": "hook.zip",
                "source_code_hash": '${filebase64sha256("hook.zip")}',
                "dead_letter_config": {"target_arn": "${aws_sqs_queue.dlq.arn}"},
            }
        },
        # ECS service auto scaling (tagging of scalable targets)
        "aws_appautoscaling_target": {
            "worker": {
                "service_namespace": "ecs",
                "resource_id": "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker.name}",
                "scalable_dimension": "ecs:service:DesiredCount",
                "min_capacity": 1,
                "max_capacity": 3,
                "tags": tags,
            }
        },
        "aws_cloudwatch_log_group": {"ecs": {"name": f"/ecs/{p}", "retention_in_days": 7}},
        "aws_cloudwatch_metric_alarm": {
            "errors": {
                "alarm_name": f"{p}-5xx",
                "namespace": "AWS/ApplicationELB",
                "metric_name": "HTTPCode_Target_5XX_Count",
                "statistic": "Sum",
                "period": 60,
                "evaluation_periods": 1,
                "threshold": 5,
                "comparison_operator": "GreaterThanOrEqualToThreshold",
                "treat_missing_data": "notBreaching",
                "dimensions": {"LoadBalancer": "${aws_lb.main.arn_suffix}"},
            }
        },
    }
