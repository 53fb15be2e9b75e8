"""The delivery resources of the emulator smoke test's Terraform configuration (see smoke_config.py):
CodeCommit -> CodeBuild -> CodeDeploy blue/green to an ECS service, driven by CodePipeline.
"""

from __future__ import annotations

import json
from typing import Any, Dict


def delivery_resources(p: str, region: str, tags: Dict[str, str]) -> Dict[str, Any]:
    """CodeCommit, CodeBuild, ECS (cluster, task definition, a blue/green and a rolling service),
    CodeDeploy and CodePipeline resources, named with prefix ``p``."""
    container = "web"
    container_defs = json.dumps(
        [
            {
                "name": container,
                "image": "public.ecr.aws/nginx/nginx:stable",
                "essential": True,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": f"/ecs/{p}",
                        "awslogs-region": region,
                        "awslogs-stream-prefix": "web",
                    },
                },
            }
        ]
    )
    fargate_service_common = {
        "cluster": "${aws_ecs_cluster.main.id}",
        "task_definition": "${aws_ecs_task_definition.web.arn}",
        "desired_count": 1,
        "launch_type": "FARGATE",
        "platform_version": "LATEST",
        "health_check_grace_period_seconds": 60,
        "propagate_tags": "SERVICE",
        "enable_ecs_managed_tags": True,
        "network_configuration": {
            "subnets": ["${aws_subnet.a.id}", "${aws_subnet.b.id}"],
            "security_groups": ["${aws_security_group.svc.id}"],
            "assign_public_ip": False,
        },
        "tags": tags,
    }
    return {
        # ---------------------------------------------------------------- CodeCommit
        "aws_codecommit_repository": {
            "app": {
                "repository_name": f"{p}-app",
                "description": "application source",
                "default_branch": "main",  # a no-op on an empty repository, as on AWS
                "kms_key_id": "${aws_kms_key.main.arn}",
                "tags": tags,
            }
        },
        # ---------------------------------------------------------------- CodeBuild
        "aws_codebuild_project": {
            "build": {
                "name": f"{p}-build",
                "description": "build the image",
                "service_role": "${aws_iam_role.codebuild.arn}",
                "build_timeout": 30,
                "concurrent_build_limit": 1,
                "encryption_key": "${aws_kms_key.main.arn}",
                "source": {"type": "CODEPIPELINE", "buildspec": "buildspec.yml"},
                "artifacts": {"type": "CODEPIPELINE"},
                "environment": {
                    "type": "LINUX_CONTAINER",
                    "compute_type": "BUILD_GENERAL1_SMALL",
                    "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
                    "privileged_mode": True,
                    "image_pull_credentials_type": "CODEBUILD",
                    "environment_variable": [{"name": "SERVICE", "value": "web"}],
                },
                "logs_config": {"cloudwatch_logs": {"group_name": f"/codebuild/{p}", "status": "ENABLED"}},
                "tags": tags,
            }
        },
        # ---------------------------------------------------------------- ECS
        "aws_ecs_cluster": {
            "main": {"name": f"{p}-cluster", "setting": {"name": "containerInsights", "value": "enabled"}}
        },
        "aws_ecs_task_definition": {
            "web": {
                "family": f"{p}-web",
                "requires_compatibilities": ["FARGATE"],
                "network_mode": "awsvpc",
                "cpu": "256",
                "memory": "512",
                "execution_role_arn": "${aws_iam_role.task_execution.arn}",
                "container_definitions": container_defs,
            }
        },
        "aws_ecs_service": {
            # blue/green: CodeDeploy owns task definition, load balancer and desired count after create
            "web": {
                **fargate_service_common,
                "name": f"{p}-web",
                "deployment_controller": {"type": "CODE_DEPLOY"},
                "load_balancer": {
                    "target_group_arn": "${aws_lb_target_group.blue.arn}",
                    "container_name": container,
                    "container_port": 80,
                },
                "depends_on": ["aws_lb_listener.prod", "aws_lb_listener.test"],
                "lifecycle": {"ignore_changes": ["task_definition", "load_balancer", "desired_count"]},
            },
            # rolling; availability_zone_rebalancing set to the provider's default (the provider sends it
            # even when unset, as for "web" above)
            "worker": {
                **fargate_service_common,
                "name": f"{p}-worker",
                "availability_zone_rebalancing": "DISABLED",
                "deployment_controller": {"type": "ECS"},
                "deployment_circuit_breaker": {"enable": True, "rollback": True},
                "enable_execute_command": True,
            },
        },
        # ---------------------------------------------------------------- CodeDeploy
        "aws_codedeploy_app": {"web": {"name": f"{p}-web", "compute_platform": "ECS", "tags": tags}},
        "aws_codedeploy_deployment_group": {
            "web": {
                "app_name": "${aws_codedeploy_app.web.name}",
                "deployment_group_name": f"{p}-web",
                "deployment_config_name": "CodeDeployDefault.ECSAllAtOnce",
                "service_role_arn": "${aws_iam_role.codedeploy.arn}",
                "deployment_style": {
                    "deployment_type": "BLUE_GREEN",
                    "deployment_option": "WITH_TRAFFIC_CONTROL",
                },
                "blue_green_deployment_config": {
                    "deployment_ready_option": {"action_on_timeout": "CONTINUE_DEPLOYMENT"},
                    "terminate_blue_instances_on_deployment_success": {
                        "action": "TERMINATE",
                        "termination_wait_time_in_minutes": 5,
                    },
                },
                "ecs_service": {
                    "cluster_name": "${aws_ecs_cluster.main.name}",
                    "service_name": "${aws_ecs_service.web.name}",
                },
                "load_balancer_info": {
                    "target_group_pair_info": {
                        "prod_traffic_route": {"listener_arns": ["${aws_lb_listener.prod.arn}"]},
                        "test_traffic_route": {"listener_arns": ["${aws_lb_listener.test.arn}"]},
                        "target_group": [
                            {"name": "${aws_lb_target_group.blue.name}"},
                            {"name": "${aws_lb_target_group.green.name}"},
                        ],
                    }
                },
                "alarm_configuration": {
                    "enabled": True,
                    "alarms": ["${aws_cloudwatch_metric_alarm.errors.alarm_name}"],
                },
                "auto_rollback_configuration": {
                    "enabled": True,
                    "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
                },
                "tags": tags,
            }
        },
        # ---------------------------------------------------------------- CodePipeline
        "aws_codepipeline": {
            "main": {
                "name": f"{p}-pipeline",
                "role_arn": "${aws_iam_role.codepipeline.arn}",
                "artifact_store": {
                    "type": "S3",
                    "location": "${aws_s3_bucket.artifacts.bucket}",
                    "encryption_key": {"id": "${aws_kms_key.main.arn}", "type": "KMS"},
                },
                "stage": [
                    {
                        "name": "Source",
                        "action": {
                            "name": "Source",
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "CodeCommit",
                            "version": "1",
                            "output_artifacts": ["source"],
                            "configuration": {
                                "RepositoryName": "${aws_codecommit_repository.app.repository_name}",
                                "BranchName": "main",
                                "PollForSourceChanges": "false",
                            },
                        },
                    },
                    {
                        "name": "Build",
                        "action": {
                            "name": "Build",
                            "category": "Build",
                            "owner": "AWS",
                            "provider": "CodeBuild",
                            "version": "1",
                            "input_artifacts": ["source"],
                            "output_artifacts": ["build"],
                            "configuration": {"ProjectName": "${aws_codebuild_project.build.name}"},
                        },
                    },
                    {
                        "name": "Deploy",
                        "action": {
                            "name": "Deploy",
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "CodeDeployToECS",
                            "version": "1",
                            "input_artifacts": ["build"],
                            "configuration": {
                                "ApplicationName": "${aws_codedeploy_app.web.name}",
                                "DeploymentGroupName": "${aws_codedeploy_deployment_group.web.deployment_group_name}",
                                "TaskDefinitionTemplateArtifact": "build",
                                "TaskDefinitionTemplatePath": "taskdef.json",
                                "AppSpecTemplateArtifact": "build",
                                "AppSpecTemplatePath": "appspec.yaml",
                                "Image1ArtifactName": "build",
                                "Image1ContainerName": "IMAGE1_NAME",
                            },
                        },
                    },
                ],
                "tags": tags,
            }
        },
    }
