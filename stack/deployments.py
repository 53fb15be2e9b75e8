"""CodeDeploy blue/green for every service x stage, rolled back on failure or on alarm."""
from __future__ import annotations

from typing import Dict, Tuple

from cdktf_cdktf_provider_aws.codedeploy_app import CodedeployApp
from cdktf_cdktf_provider_aws.codedeploy_deployment_group import CodedeployDeploymentGroup
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, Stage
from stack.blocks import blocks
from stack.context import StackContext
from stack.encryption import Encryption
from stack.iam import Role
from stack.load_balancing import LoadBalancing
from stack.monitoring import Monitoring
from stack.notifications import Notifications
from stack.services import Services
from stack.storage import Storage

# Staging shifts everything at once; production sends 10% first and watches the alarms.
DEPLOYMENT_CONFIG = {Stage.STAGING: "CodeDeployDefault.ECSAllAtOnce",
                     Stage.PRODUCTION: "CodeDeployDefault.ECSCanary10Percent5Minutes"}
# How long the old (blue) tasks stay up after a successful switch, for a fast manual rollback.
TERMINATION_WAIT_MINUTES = {Stage.STAGING: 5, Stage.PRODUCTION: 60}


class Deployments(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption, storage: Storage,
                 traffic: LoadBalancing, services: Services, monitoring: Monitoring, notifications: Notifications,
                 hook_function_arn: str):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.application = CodedeployApp(self, "app", name=naming.codedeploy_application(cfg), compute_platform="ECS")
        role = ctx.role(Role(self, "role", name=naming.role(cfg, "codedeploy"),
                             description="CodeDeploy shifts ECS traffic between blue and green task sets",
                             service="codedeploy.amazonaws.com",
                             conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        self.role = role
        cluster = naming.cluster(cfg)
        # The Service Authorization Reference authorizes task-set calls on the task set, the others on the service.
        role.allow(["ecs:DescribeServices", "ecs:UpdateServicePrimaryTaskSet"],
                   [ctx.arn("ecs", f"service/{cluster}/{cfg.project}-*")])
        role.allow(["ecs:CreateTaskSet", "ecs:DeleteTaskSet"], [ctx.arn("ecs", f"task-set/{cluster}/{cfg.project}-*/*")])
        role.allow_unscoped(["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeListeners",
                             "elasticloadbalancing:DescribeRules"])
        listeners = [listener.arn for t in traffic.stages.values() for listener in (t.production, t.test)]
        role.allow(["elasticloadbalancing:ModifyListener"], listeners)
        role.allow(["elasticloadbalancing:ModifyRule"],
                   [ctx.arn("elasticloadbalancing", f"listener-rule/app/{naming.alb(cfg, s)}/*") for s in DEPLOY_STAGES])
        role.allow(["lambda:InvokeFunction"], [hook_function_arn])
        role.allow_on_all(["cloudwatch:DescribeAlarms"], exception=(
            "CodeDeploy polls the group's alarms with its own DescribeAlarms request, whose AlarmTypes we "
            "cannot see; composite results need the permission on '*' (CloudWatch API reference), and a "
            "failed poll stops the deployment (ignorePollAlarmFailure is false). AWS's managed "
            "AWSCodeDeployRoleForECS grants it on '*' too (read-only)"))
        role.allow(["sns:Publish"], [notifications.topic.arn])
        role.allow(["s3:GetObject", "s3:GetObjectVersion"], [f"{storage.artifacts.arn}/*"])
        role.allow(["kms:Decrypt", "kms:GenerateDataKey"], [encryption.arn])
        role.allow(["iam:PassRole"], [d.exec_role.arn for d in services.deployables.values()]
                   + [d.task_role.arn for d in services.deployables.values()],
                   Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})

        self.groups: Dict[Tuple[Stage, str], CodedeployDeploymentGroup] = {}
        for stage in DEPLOY_STAGES:
            stage_traffic = traffic.stages[stage]
            for service in cfg.services:
                tgs = stage_traffic.services[service.name]
                group = CodedeployDeploymentGroup(
                    self, f"{stage.value}-{service.name}", app_name=self.application.name,
                    deployment_group_name=naming.deployment_group(cfg, stage, service),
                    service_role_arn=role.arn, deployment_config_name=DEPLOYMENT_CONFIG[stage],
                    deployment_style={"deployment_type": "BLUE_GREEN", "deployment_option": "WITH_TRAFFIC_CONTROL"},
                    blue_green_deployment_config={
                        "deployment_ready_option": {"action_on_timeout": "CONTINUE_DEPLOYMENT"},
                        "terminate_blue_instances_on_deployment_success": {
                            "action": "TERMINATE",
                            "termination_wait_time_in_minutes": TERMINATION_WAIT_MINUTES[stage]},
                    },
                    auto_rollback_configuration={"enabled": True,
                                                 "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
                    alarm_configuration={"enabled": True, "alarms": [a.alarm_name for a in
                                                                     monitoring.alarms[(stage, service.name)]]},
                    ecs_service={"cluster_name": services.cluster.name,
                                 "service_name": services.deployables[(stage, service.name)].service.name},
                    load_balancer_info={"target_group_pair_info": {
                        "prod_traffic_route": {"listener_arns": [stage_traffic.production.arn]},
                        "test_traffic_route": {"listener_arns": [stage_traffic.test.arn]},
                        "target_group": blocks({"name": tgs.blue.name}, {"name": tgs.green.name}),
                    }},
                    trigger_configuration=blocks({
                        "trigger_name": "failures-and-rollbacks",
                        "trigger_target_arn": notifications.topic.arn,
                        "trigger_events": ["DeploymentFailure", "DeploymentRollback", "DeploymentStop"],
                    }),
                )
                self.groups[(stage, service.name)] = group
