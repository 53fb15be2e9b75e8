"""CloudWatch alarms per service x stage that stop a deployment and roll it back, and stage-wide
alarms that only notify.

A deployment group's rollback alarms watch only what belongs to its service: its ECS service
(Container Insights) and its own two target groups. Staging deploys all services at once on one
ALB, so an ALB-wide signal in every group would let one failing service stop and roll back the
others. ALB-wide signals (`HTTPCode_ELB_5XX_Count` has no TargetGroup dimension) are therefore
stage alarms (`self.stage_alarms`): they notify people, and no deployment group lists them.

Rollback alarm names start with the deployment group's name (`{project}-{stage}-{service}-`): the
health Lambda finds a group's alarms, and the group of a firing alarm, by that prefix. Five alarms
per group, within CodeDeploy's limit of ten.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, Stage
from stack.blocks import blocks
from stack.context import StackContext
from stack.load_balancing import LoadBalancing
from stack.notifications import Notifications
from stack.services import Services

MAX_ALARMS_PER_GROUP = 10  # CodeDeploy's limit


def _metric(id: str, namespace: str, name: str, stat: str, period: int, dims: Dict[str, str],
            return_data: bool = False) -> dict:
    return {"id": id, "return_data": return_data,
            "metric": {"namespace": namespace, "metric_name": name, "stat": stat, "period": period,
                       "dimensions": dims}}


class Monitoring(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, traffic: LoadBalancing, services: Services,
                 notifications: Notifications):
        super().__init__(scope, id)
        self.alarms: Dict[Tuple[Stage, str], List[CloudwatchMetricAlarm]] = {}
        self.stage_alarms: Dict[Stage, List[CloudwatchMetricAlarm]] = {}
        cfg = ctx.cfg
        period, periods = cfg.alarms.period_seconds, cfg.alarms.evaluation_periods
        for stage in DEPLOY_STAGES:
            stage_traffic = traffic.stages[stage]
            lb = stage_traffic.alb.arn_suffix
            for service in cfg.services:
                tgs = stage_traffic.services[service.name]
                ecs_dims = {"ClusterName": naming.cluster(cfg), "ServiceName": naming.ecs_service(cfg, stage, service)}
                tg_dims = {c: {"TargetGroup": tg.arn_suffix, "LoadBalancer": lb}
                           for c, tg in (("blue", tgs.blue), ("green", tgs.green))}
                # ALARM transitions only: every new alarm goes INSUFFICIENT_DATA -> OK once, and OK actions
                # would e-mail the alarm topic's subscribers on every fresh install.
                common = dict(alarm_actions=[notifications.alarm_topic.arn],
                              evaluation_periods=periods, datapoints_to_alarm=periods)

                def alarm(kind: str, description: str, **kwargs) -> CloudwatchMetricAlarm:
                    return CloudwatchMetricAlarm(
                        self, f"{stage.value}-{service.name}-{kind}",
                        alarm_name=naming.alarm(cfg, stage, service, kind),
                        alarm_description=f"{service.name} ({stage.value}): {description}", **common, **kwargs)

                alarms = [
                    alarm("running-tasks", "fewer running tasks than desired (Container Insights)",
                          comparison_operator="GreaterThanThreshold", threshold=0, treat_missing_data="notBreaching",
                          metric_query=blocks(*[
                              _metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", "Maximum", period,
                                      ecs_dims),
                              _metric("running", "ECS/ContainerInsights", "RunningTaskCount", "Minimum", period,
                                      ecs_dims),
                              {"id": "missing", "expression": "desired - running", "label": "tasks missing",
                               "return_data": True}])),
                    # Only while the service should run tasks: a fresh install (and a standby at 0) has
                    # none by design, and an ALB reports 0 healthy hosts for its empty target groups.
                    alarm("healthy-hosts", "no healthy target behind the ALB while tasks are desired",
                          comparison_operator="LessThanThreshold", threshold=1, treat_missing_data="notBreaching",
                          metric_query=blocks(*[
                              _metric("blue", "AWS/ApplicationELB", "HealthyHostCount", "Minimum", period,
                                      tg_dims["blue"]),
                              _metric("green", "AWS/ApplicationELB", "HealthyHostCount", "Minimum", period,
                                      tg_dims["green"]),
                              _metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", "Maximum", period,
                                      ecs_dims),
                              {"id": "healthy",
                               "expression": "IF(FILL(desired, 0) > 0, FILL(blue, 0) + FILL(green, 0), 1)",
                               "label": "healthy targets (1 while no task is desired)", "return_data": True}])),
                ]
                for colour in ("blue", "green"):
                    alarms.append(alarm(f"unhealthy-hosts-{colour}", f"unhealthy targets in the {colour} target group",
                                        comparison_operator="GreaterThanThreshold", threshold=0,
                                        treat_missing_data="notBreaching", namespace="AWS/ApplicationELB",
                                        metric_name="UnHealthyHostCount", statistic="Maximum", period=period,
                                        dimensions=tg_dims[colour]))
                alarms.append(alarm("target-5xx", "5XX responses from the service's targets",
                                    comparison_operator="GreaterThanOrEqualToThreshold",
                                    threshold=cfg.alarms.http_5xx_threshold, treat_missing_data="notBreaching",
                                    metric_query=blocks(*[
                                        _metric("blue", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum",
                                                period, tg_dims["blue"]),
                                        _metric("green", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum",
                                                period, tg_dims["green"]),
                                        {"id": "errors", "expression": "FILL(blue, 0) + FILL(green, 0)",
                                         "label": "target 5XX", "return_data": True}])))
                assert len(alarms) <= MAX_ALARMS_PER_GROUP
                self.alarms[(stage, service.name)] = alarms
            # Notify-only: it names no service, so the health Lambda's alarm path ignores it, and no
            # deployment group lists it (it would roll back every service of the stage).
            self.stage_alarms[stage] = [CloudwatchMetricAlarm(
                self, f"{stage.value}-alb-5xx", alarm_name=naming.stage_alarm(cfg, stage, "elb-5xx"),
                alarm_description=f"{stage.value}: 5XX responses generated by the stage's ALB (notify only)",
                alarm_actions=[notifications.alarm_topic.arn],
                evaluation_periods=periods, datapoints_to_alarm=periods,
                comparison_operator="GreaterThanOrEqualToThreshold", threshold=cfg.alarms.http_5xx_threshold,
                treat_missing_data="notBreaching", namespace="AWS/ApplicationELB",
                metric_name="HTTPCode_ELB_5XX_Count", statistic="Sum", period=period,
                dimensions={"LoadBalancer": lb})]
