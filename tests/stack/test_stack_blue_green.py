"""Blue/green: ALBs, listeners, target groups, CodeDeploy groups and the alarms that roll them back."""
from __future__ import annotations

from typing import Dict, List, Tuple

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES

MAX_ALARMS = 10  # CodeDeploy's limit per deployment group


def _cases(cfg):
    return [(stage, service) for stage in DEPLOY_STAGES for service in cfg.services]


def _alb(stack, stage) -> Tuple[str, dict]:
    return stack.the("aws_lb", name=naming.alb(stack.cfg, stage))


def _group(stack, stage, service) -> Tuple[str, dict]:
    return stack.the("aws_codedeploy_deployment_group",
                     deployment_group_name=naming.deployment_group(stack.cfg, stage, service))


def _target_groups(stack, group: dict) -> List[Tuple[str, dict]]:
    pair = group["load_balancer_info"]["target_group_pair_info"]
    return [stack.ref(tg["name"], "aws_lb_target_group", "name") for tg in pair["target_group"]]


def _listener(stack, arns: List[str]) -> Tuple[str, dict]:
    assert len(arns) == 1
    return stack.ref(arns[0], "aws_lb_listener", "arn")


def test_one_internet_facing_alb_per_stage_in_the_public_subnets(stack):
    public = {n for n, s in stack.resources("aws_subnet").items() if (s.get("tags") or {}).get("tier") == "public"}
    assert len(public) == 3
    assert len(stack.resources("aws_lb")) == len(DEPLOY_STAGES)
    for stage in DEPLOY_STAGES:
        _, alb = _alb(stack, stage)
        assert alb["load_balancer_type"] == "application"
        assert alb.get("internal") is False
        assert {stack.ref(s, "aws_subnet", "id")[0] for s in alb["subnets"]} == public, stage.value


def test_each_alb_has_a_production_and_a_test_listener(stack, cfg):
    prod_port, prod_protocol = (443, "HTTPS") if cfg.certificate_arn else (80, "HTTP")
    for stage in DEPLOY_STAGES:
        alb_name, _ = _alb(stack, stage)
        routes = set()
        for service in cfg.services:
            pair = _group(stack, stage, service)[1]["load_balancer_info"]["target_group_pair_info"]
            prod = _listener(stack, pair["prod_traffic_route"]["listener_arns"])
            test = _listener(stack, pair["test_traffic_route"]["listener_arns"])
            routes.add((prod[0], test[0]))
            for _, listener in (prod, test):
                assert stack.refers_to(listener["load_balancer_arn"], "aws_lb", alb_name), stage.value
            assert (prod[1]["port"], prod[1]["protocol"]) == (prod_port, prod_protocol)
            assert test[1]["port"] != prod_port and test[1]["protocol"] == "HTTP"
        assert len(routes) == 1, f"{stage.value}: the services of a stage share its two listeners"
        prod_name, test_name = routes.pop()
        assert prod_name != test_name


def test_two_target_groups_per_service_and_stage_with_the_health_path(stack, cfg):
    vpc_name, _ = stack.one("aws_vpc")
    seen = set()
    for stage, service in _cases(cfg):
        where = f"{stage.value}/{service.name}"
        _, group = _group(stack, stage, service)
        pair = _target_groups(stack, group)
        assert len(pair) == 2 and pair[0][0] != pair[1][0], where
        for name, tg in pair:
            assert tg["health_check"]["path"] == service.health_path, where
            assert tg["port"] == service.port and tg["protocol"] == "HTTP", where
            assert tg["target_type"] == "ip", f"{where}: awsvpc tasks register by IP"
            assert stack.refers_to(tg["vpc_id"], "aws_vpc", vpc_name)
            seen.add(name)
        # The service starts behind the first (blue) target group of its pair.
        _, ecs = stack.the("aws_ecs_service", name=naming.ecs_service(cfg, stage, service))
        first = stack.ref(ecs["load_balancer"][0]["target_group_arn"], "aws_lb_target_group", "arn")[0]
        assert first in {n for n, _ in pair}, where
    assert seen == set(stack.resources("aws_lb_target_group"))
    assert len(seen) == 2 * len(cfg.services) * len(DEPLOY_STAGES)


def test_codedeploy_ecs_application(stack, cfg):
    _, app = stack.one("aws_codedeploy_app")
    assert app["compute_platform"] == "ECS"
    assert app["name"] == naming.codedeploy_application(cfg)


def test_six_blue_green_deployment_groups_with_traffic_control_and_rollback(stack, cfg):
    app_name, _ = stack.one("aws_codedeploy_app")
    cluster_name, _ = stack.one("aws_ecs_cluster")
    alarm_names = {a["alarm_name"] for a in stack.bodies("aws_cloudwatch_metric_alarm")}
    assert len(stack.resources("aws_codedeploy_deployment_group")) == 6 == len(cfg.services) * len(DEPLOY_STAGES)
    for stage, service in _cases(cfg):
        where = f"{stage.value}/{service.name}"
        _, group = _group(stack, stage, service)
        assert stack.refers_to(group["app_name"], "aws_codedeploy_app", app_name)
        assert group["deployment_style"] == {"deployment_type": "BLUE_GREEN",
                                             "deployment_option": "WITH_TRAFFIC_CONTROL"}, where
        pair = group["load_balancer_info"]["target_group_pair_info"]
        assert pair["prod_traffic_route"]["listener_arns"] and pair["test_traffic_route"]["listener_arns"], where
        terminate = group["blue_green_deployment_config"]["terminate_blue_instances_on_deployment_success"]
        assert terminate["action"] == "TERMINATE", where
        assert terminate["termination_wait_time_in_minutes"] > 0, where
        rollback = group["auto_rollback_configuration"]
        assert rollback["enabled"] is True
        assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(rollback["events"]), where
        alarms = group["alarm_configuration"]
        assert alarms["enabled"] is True
        names = [stack.literal(a) for a in alarms["alarms"]]
        assert 1 <= len(names) <= MAX_ALARMS, where
        assert set(names) <= alarm_names, f"{where}: {set(names) - alarm_names} are not alarms of the stack"
        assert all(n.startswith(naming.deployment_group(cfg, stage, service) + "-") for n in names), where
        own = {a["alarm_name"] for a in _alarms_of(stack, stage, service)}
        assert set(names) == own, f"{where}: alarms not watched by the group: {own - set(names)}"
        ecs = group["ecs_service"]
        assert stack.refers_to(ecs["cluster_name"], "aws_ecs_cluster", cluster_name)
        assert stack.literal(ecs["service_name"]) == naming.ecs_service(cfg, stage, service), where


# --- alarms ---------------------------------------------------------------------------------------

def _metrics(alarm: dict) -> List[Tuple[str, str, Dict[str, str]]]:
    """(namespace, metric name, dimensions) of every metric an alarm reads, plain or metric math."""
    if alarm.get("metric_name"):
        return [(alarm["namespace"], alarm["metric_name"], alarm.get("dimensions") or {})]
    found = []
    for query in alarm.get("metric_query") or []:
        metric = query.get("metric")
        if metric:
            metric = metric[0] if isinstance(metric, list) else metric
            found.append((metric["namespace"], metric["metric_name"], metric.get("dimensions") or {}))
    return found


def _reads(alarm: dict, metric_name: str) -> bool:
    return any(name == metric_name for _, name, _ in _metrics(alarm))


def _alarms_of(stack, stage, service) -> List[dict]:
    prefix = naming.deployment_group(stack.cfg, stage, service) + "-"
    return [a for a in stack.bodies("aws_cloudwatch_metric_alarm") if a["alarm_name"].startswith(prefix)]


def _threshold(alarm: dict) -> Tuple[str, float]:
    return alarm["comparison_operator"], float(alarm["threshold"])


def test_running_task_alarm_compares_container_insights_running_and_desired(stack, cfg):
    for stage, service in _cases(cfg):
        where = f"{stage.value}/{service.name}"
        alarms = [a for a in _alarms_of(stack, stage, service)
                  if _reads(a, "RunningTaskCount") and _reads(a, "DesiredTaskCount")]
        assert len(alarms) == 1, where
        alarm = alarms[0]
        dims = {"ClusterName": naming.cluster(cfg), "ServiceName": naming.ecs_service(cfg, stage, service)}
        ids = {}
        for query in alarm["metric_query"]:
            if query.get("metric"):
                assert query["metric"]["namespace"] == "ECS/ContainerInsights", where
                assert query["metric"]["dimensions"] == dims, where
                ids[query["metric"]["metric_name"]] = query["id"]
        expression = [q for q in alarm["metric_query"] if q.get("return_data")]
        assert len(expression) == 1, where
        desired, running = ids["DesiredTaskCount"], ids["RunningTaskCount"]
        # alarm when running < desired, in either orientation of the expression
        if expression[0]["expression"].replace(" ", "") == f"{desired}-{running}":
            assert _threshold(alarm) == ("GreaterThanThreshold", 0.0), where
        else:
            assert expression[0]["expression"].replace(" ", "") == f"{running}-{desired}", where
            assert _threshold(alarm) == ("LessThanThreshold", 0.0), where


def _target_group_suffixes(stack, stage, service):
    _, group = _group(stack, stage, service)
    return {f"${{aws_lb_target_group.{name}.arn_suffix}}" for name, _ in _target_groups(stack, group)}


def test_unhealthy_and_healthy_host_alarms_cover_both_target_groups(stack, cfg):
    for stage, service in _cases(cfg):
        where = f"{stage.value}/{service.name}"
        alb_name, _ = _alb(stack, stage)
        suffixes = _target_group_suffixes(stack, stage, service)
        for metric, expected in (("UnHealthyHostCount", {("GreaterThanThreshold", 0.0),
                                                         ("GreaterThanOrEqualToThreshold", 1.0)}),
                                 ("HealthyHostCount", {("LessThanThreshold", 1.0),
                                                       ("LessThanOrEqualToThreshold", 0.0)})):
            alarms = [a for a in _alarms_of(stack, stage, service) if _reads(a, metric)]
            assert alarms, f"{where}: no {metric} alarm"
            covered = set()
            for alarm in alarms:
                assert _threshold(alarm) in expected, f"{where}: {alarm['alarm_name']} {_threshold(alarm)}"
                for namespace, name, dims in _metrics(alarm):
                    if (namespace, name) == ("ECS/ContainerInsights", "DesiredTaskCount"):
                        continue  # the healthy-hosts alarm's guard: only while tasks are desired
                    assert (namespace, name) == ("AWS/ApplicationELB", metric), where
                    assert stack.refers_to(dims["LoadBalancer"], "aws_lb", alb_name), where
                    covered.add(dims["TargetGroup"])
            assert covered == suffixes, f"{where}: {metric} alarms cover {covered}"


def test_target_5xx_alarms(stack, cfg):
    for stage, service in _cases(cfg):
        where = f"{stage.value}/{service.name}"
        alb_name, _ = _alb(stack, stage)
        target = [a for a in _alarms_of(stack, stage, service) if _reads(a, "HTTPCode_Target_5XX_Count")]
        assert target, where
        assert {dims["TargetGroup"] for a in target for _, _, dims in _metrics(a)} == \
            _target_group_suffixes(stack, stage, service), where
        for alarm in target:
            assert _threshold(alarm) == ("GreaterThanOrEqualToThreshold", float(cfg.alarms.http_5xx_threshold)), where
            for namespace, _, dims in _metrics(alarm):
                assert namespace == "AWS/ApplicationELB"
                assert stack.refers_to(dims["LoadBalancer"], "aws_lb", alb_name), where


def _rollback_alarms(stack, stage, service) -> List[dict]:
    _, group = _group(stack, stage, service)
    names = {stack.literal(a) for a in group["alarm_configuration"]["alarms"]}
    return [a for a in stack.bodies("aws_cloudwatch_metric_alarm") if a["alarm_name"] in names]


def test_rollback_alarms_watch_only_their_own_service(stack, cfg):
    """Issue 14, hole 2: staging deploys every service at once behind one ALB; an ALB-wide alarm in every
    group's rollback alarms let one failing service stop and roll back the others. Every metric a
    group's rollback alarm reads must name that group's own target group or ECS service."""
    for stage, service in _cases(cfg):
        where = f"{stage.value}/{service.name}"
        own_tgs = _target_group_suffixes(stack, stage, service)
        own_service = naming.ecs_service(cfg, stage, service)
        alarms = _rollback_alarms(stack, stage, service)
        assert alarms, where
        for alarm in alarms:
            for namespace, name, dims in _metrics(alarm):
                scoped = dims.get("TargetGroup") in own_tgs or dims.get("ServiceName") == own_service
                assert scoped, f"{where}: rollback alarm {alarm['alarm_name']} reads {namespace}/{name} {dims}"


def test_alb_wide_5xx_is_a_notify_only_stage_alarm(stack, cfg):
    in_groups = {stack.literal(a) for _, g in stack.resources("aws_codedeploy_deployment_group").items()
                 for a in g["alarm_configuration"]["alarms"]}
    for stage in DEPLOY_STAGES:
        alb_name, _ = _alb(stack, stage)
        elb = [a for a in stack.bodies("aws_cloudwatch_metric_alarm") if _reads(a, "HTTPCode_ELB_5XX_Count")
               and stack.refers_to(_metrics(a)[0][2]["LoadBalancer"], "aws_lb", alb_name)]
        assert len(elb) == 1, stage
        [alarm] = elb
        assert alarm["alarm_name"] == naming.stage_alarm(cfg, stage, "elb-5xx")
        assert alarm["alarm_name"] not in in_groups, f"{stage.value}: the ALB-wide alarm rolls deployments back"
        # no deployment group's name is a prefix of it: the health Lambda cannot take it for a service's
        assert not any(alarm["alarm_name"].startswith(naming.deployment_group(cfg, stage, s) + "-")
                       for s in cfg.services)
        assert alarm["alarm_actions"], stage


def test_every_alarm_notifies_an_sns_topic(stack, cfg):
    alarms = stack.bodies("aws_cloudwatch_metric_alarm")
    assert alarms
    for alarm in alarms:
        assert alarm["alarm_actions"], alarm["alarm_name"]
        for action in alarm["alarm_actions"]:
            stack.ref(action, "aws_sns_topic", "arn")
    for stage, service in _cases(cfg):
        assert len(_alarms_of(stack, stage, service)) <= MAX_ALARMS
