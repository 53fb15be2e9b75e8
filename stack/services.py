"""ECS on Fargate: the cluster, and per service x stage its log group, roles, task definition,
service (CODE_DEPLOY controller, private subnets, no public IP) and auto scaling.

CodeDeploy owns a service's task definition, load balancer and desired count after the first
deployment, so Terraform ignores changes to them; the desired count is steered through the
auto-scaling minimum instead, which is how the DR failover scales production up.

A fresh install runs no task. The first task definition names the `bootstrap` tag, which only the
service's first build pushes; a task started before that would loop on CannotPullContainerError and
set off the alarms. So each service starts at desired count 0 with an auto-scaling minimum of 0, and
stays there while its release marker (a String parameter, `none`) says it was never released. The
pipeline's Activate action (stack/activation.py) raises the minimum and sets the marker at the
stage's first release, after the build pushed `bootstrap`; from then on Terraform reads the marker
back on every plan and keeps the configured minimum (Terraform never writes the marker's value).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Dict, Tuple

from cdktf import TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.appautoscaling_policy import AppautoscalingPolicy
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from cdktf_cdktf_provider_aws.ecs_service import EcsService
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, LOG_RETENTION_DAYS, Service, Stage
from cicd.workspace.parameters import UNRELEASED, runtime_parameters
from cicd.workspace.render import BOOTSTRAP_TAG, Refs, render_taskdef
from stack.blocks import blocks
from stack.context import StackContext
from stack.encryption import Encryption
from stack.iam import Role
from stack.load_balancing import LoadBalancing
from stack.network import Network
from stack.policy import LOG_RETENTION, skip
from stack.registry import Registry

CPU_TARGET_PERCENT = 60


@dataclass
class Deployable:
    service: EcsService
    exec_role: Role
    task_role: Role
    log_group: CloudwatchLogGroup
    bare_taskdef: dict  # with <IMAGE1_NAME>, for the build's taskdef.json
    release_marker: SsmParameter
    scaling: AppautoscalingTarget


def released_count(marker: SsmParameter, count: int) -> str:
    """Terraform expression: `count` once the marker records a release, else 0 (no task to pull `bootstrap`)."""
    return f'${{{marker.fqn}.insecure_value == "{UNRELEASED}" ? 0 : {count}}}'


class Services(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption, network: Network,
                 registry: Registry, traffic: LoadBalancing):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.cluster = EcsCluster(self, "cluster", name=naming.cluster(cfg),
                                  setting=blocks({"name": "containerInsights", "value": "enabled"}))
        self.deployables: Dict[Tuple[Stage, str], Deployable] = {}
        for stage in DEPLOY_STAGES:
            for service in cfg.services:
                self.deployables[(stage, service.name)] = self._deployable(
                    ctx, encryption, network, registry, traffic, stage, service)

    def _deployable(self, ctx: StackContext, encryption: Encryption, network: Network, registry: Registry,
                    traffic: LoadBalancing, stage: Stage, service: Service) -> Deployable:
        cfg = ctx.cfg
        prefix = f"{stage.value}-{service.name}"
        repo = registry.repositories[service.name]
        log_group = CloudwatchLogGroup(self, f"{prefix}-logs", name=naming.service_log_group(cfg, stage, service),
                                       retention_in_days=LOG_RETENTION_DAYS, kms_key_id=encryption.arn)
        skip(log_group, "CKV_AWS_338", LOG_RETENTION)
        params = [p.arn(cfg.region, ctx.account_id, ctx.partition) for p in runtime_parameters(cfg, stage, service)]
        param_path = ctx.arn("ssm", f"parameter{naming.parameter_path(stage, service)}*")

        exec_role = ctx.role(Role(self, f"{prefix}-exec", name=naming.task_role(cfg, stage, service, "exec"),
                                  description=f"ECS pulls, logs and injects secrets for {service.name} ({stage.value})",
                                  service="ecs-tasks.amazonaws.com",
                                  conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        exec_role.allow(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                        [repo.arn])
        exec_role.allow_unscoped(["ecr:GetAuthorizationToken"])
        exec_role.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group.arn}:*"])
        exec_role.allow(["ssm:GetParameters"], params)
        exec_role.allow(["kms:Decrypt"], [encryption.arn])

        task_role = ctx.role(Role(self, f"{prefix}-task", name=naming.task_role(cfg, stage, service, "task"),
                                  description=f"The {service.name} application itself ({stage.value})",
                                  service="ecs-tasks.amazonaws.com",
                                  conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        task_role.allow(["ssm:GetParametersByPath", "ssm:GetParameter"], [param_path])
        task_role.allow(["kms:Decrypt"], [encryption.arn])

        refs = Refs(account_id=ctx.account_id, execution_role_arn=exec_role.arn, task_role_arn=task_role.arn,
                    partition=ctx.partition)
        first = render_taskdef(cfg, stage, service, replace(refs, image=f"{repo.repository_url}:{BOOTSTRAP_TAG}"),
                               ctx.deployment_id)
        taskdef = EcsTaskDefinition(
            self, f"{prefix}-taskdef", family=first["family"], cpu=first["cpu"], memory=first["memory"],
            network_mode=first["networkMode"], requires_compatibilities=first["requiresCompatibilities"],
            execution_role_arn=first["executionRoleArn"], task_role_arn=first["taskRoleArn"],
            runtime_platform={"operating_system_family": first["runtimePlatform"]["operatingSystemFamily"],
                              "cpu_architecture": first["runtimePlatform"]["cpuArchitecture"]},
            container_definitions=json.dumps(first["containerDefinitions"]),
            tags={t["key"]: t["value"] for t in first["tags"]},
            # Later revisions are registered by the pipeline; keep the ones CodeDeploy may roll back to.
            skip_destroy=True,
        )
        stage_traffic = traffic.stages[stage]
        size = cfg.size(stage)
        service_name = naming.ecs_service(cfg, stage, service)
        marker = SsmParameter(
            self, f"{prefix}-released", name=naming.release_marker(cfg, stage, service), type="String",
            insecure_value=UNRELEASED, description=f"First release of {service.name} ({stage.value}); "
            "set by the pipeline's Activate action", tags={"stage": stage.value, "service": service.name},
            # The pipeline writes it; Terraform only reads it back (refresh) to size the service.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["insecure_value"]))
        skip(marker, "CKV2_AWS_34", "a release marker (none or a build id) is no secret")
        ecs_service = EcsService(
            self, f"{prefix}-service", name=service_name, cluster=self.cluster.arn,
            # 0 at creation: nothing to pull before the first build (CodeDeploy owns the count afterwards).
            task_definition=taskdef.arn, desired_count=0, launch_type="FARGATE",
            platform_version="LATEST", deployment_controller={"type": "CODE_DEPLOY"},
            network_configuration={"subnets": [sn.id for sn in network.private_subnets],
                                   "security_groups": [stage_traffic.task_sg.id], "assign_public_ip": False},
            load_balancer=blocks({"target_group_arn": stage_traffic.services[service.name].blue.arn,
                                 "container_name": naming.container(service), "container_port": service.port}),
            health_check_grace_period_seconds=60, enable_ecs_managed_tags=True, propagate_tags="SERVICE",
            lifecycle=TerraformResourceLifecycle(ignore_changes=["task_definition", "load_balancer", "desired_count"]),
            depends_on=[stage_traffic.production, stage_traffic.test],
        )
        scaling = AppautoscalingTarget(
            self, f"{prefix}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{naming.cluster(cfg)}/{service_name}",
            min_capacity=Token.as_number(released_count(marker, size.desired_count)),
            max_capacity=max(size.desired_count * 4, 2),
            depends_on=[ecs_service],
        )
        AppautoscalingPolicy(
            self, f"{prefix}-cpu-policy", name=f"{service_name}-cpu", policy_type="TargetTrackingScaling",
            service_namespace=scaling.service_namespace, resource_id=scaling.resource_id,
            scalable_dimension=scaling.scalable_dimension,
            target_tracking_scaling_policy_configuration={
                "target_value": CPU_TARGET_PERCENT,
                "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"},
                "scale_in_cooldown": 300, "scale_out_cooldown": 60},
        )
        bare = render_taskdef(cfg, stage, service, refs, None)
        return Deployable(service=ecs_service, exec_role=exec_role, task_role=task_role, log_group=log_group,
                          bare_taskdef=bare, release_marker=marker, scaling=scaling)
