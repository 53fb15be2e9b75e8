"""ECS on Fargate: the cluster, the task definitions rendered from the template, and the services."""
from __future__ import annotations

import json
import re

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, Stage
from cicd.workspace.render import Refs, render_taskdef


def _cases(cfg):
    return [(stage, service) for stage in DEPLOY_STAGES for service in cfg.services]


def _taskdef(stack, stage, service):
    return stack.the("aws_ecs_task_definition", family=naming.task_family(stack.cfg, stage, service))


def _service(stack, stage, service):
    return stack.the("aws_ecs_service", name=naming.ecs_service(stack.cfg, stage, service))


def _private_subnets(stack):
    return {n for n, s in stack.resources("aws_subnet").items() if (s.get("tags") or {}).get("tier") == "private"}


def test_cluster_has_container_insights(stack, cfg):
    _, cluster = stack.one("aws_ecs_cluster")
    assert cluster["name"] == naming.cluster(cfg)
    settings = {s["name"]: s["value"] for s in cluster["setting"]}
    assert settings.get("containerInsights") in ("enabled", "enhanced")


def test_one_fargate_task_definition_per_service_and_stage(stack, cfg):
    assert len(stack.resources("aws_ecs_task_definition")) == len(cfg.services) * len(DEPLOY_STAGES)
    for stage, service in _cases(cfg):
        _, taskdef = _taskdef(stack, stage, service)
        size = cfg.size(stage)
        assert (taskdef["cpu"], taskdef["memory"]) == (str(size.cpu), str(size.memory)), (stage, service.name)
        assert taskdef["requires_compatibilities"] == ["FARGATE"]
        assert taskdef["network_mode"] == "awsvpc"
        _, exec_role = stack.ref(taskdef["execution_role_arn"], "aws_iam_role", "arn")
        _, task_role = stack.ref(taskdef["task_role_arn"], "aws_iam_role", "arn")
        assert exec_role["name"] == naming.task_role(cfg, stage, service, "exec")
        assert task_role["name"] == naming.task_role(cfg, stage, service, "task")


def test_configured_sizes_are_the_documented_ones(synthesized):
    """staging 256 CPU / 512 MiB, production 512 / 1024 in both regions (as the .env files set)."""
    for stack in synthesized.values():
        sizes = {}
        for taskdef in stack.bodies("aws_ecs_task_definition"):
            stage = taskdef["tags"]["stage"]
            sizes.setdefault(stage, set()).add((taskdef["cpu"], taskdef["memory"]))
        assert sizes == {"staging": {("256", "512")}, "production": {("512", "1024")}}, stack.region


def test_container_definitions_are_the_rendered_template(stack, cfg, deployment_id):
    for stage, service in _cases(cfg):
        _, taskdef = _taskdef(stack, stage, service)
        containers = json.loads(taskdef["container_definitions"])
        assert len(containers) == 1
        container = containers[0]
        where = f"{stage.value}/{service.name}"

        # the image: the service's own ECR repository, at the bootstrap tag until the first release
        image_repo, tag = container["image"].rsplit(":", 1)
        _, repo = stack.ref(image_repo, "aws_ecr_repository", "repository_url")
        assert repo["name"] == naming.ecr_repository(cfg, service) and tag == "bootstrap", where

        assert container["name"] == naming.container(service)
        assert [p["containerPort"] for p in container["portMappings"]] == [service.port], where
        assert container["readonlyRootFilesystem"] is True, where
        log = container["logConfiguration"]
        assert log["logDriver"] == "awslogs"
        assert log["options"]["awslogs-group"] == f"/ecs/{cfg.project}/{stage.value}/{service.name}", where
        assert log["options"]["awslogs-region"] == cfg.region
        assert stack.the("aws_cloudwatch_log_group", name=log["options"]["awslogs-group"])
        partition = re.escape("${data.aws_partition.partition.partition}")
        secret_arn = re.compile(rf"^arn:{partition}:ssm:{re.escape(cfg.region)}:{re.escape(stack.account_token())}"
                                rf":parameter(/pipeline/{stage.value}/{re.escape(service.name)}/[A-Za-z0-9_]+)$")
        parameters = {p["name"] for p in stack.bodies("aws_ssm_parameter")}
        assert container["secrets"], where
        for secret in container["secrets"]:
            match = secret_arn.match(secret["valueFrom"])
            assert match, f"{where}: {secret['valueFrom']}"
            assert match.group(1) in parameters, f"{where}: {match.group(1)} is not a managed parameter"

        # exactly what the template renders for the same references
        refs = Refs(account_id=stack.account_token(), execution_role_arn=taskdef["execution_role_arn"],
                    task_role_arn=taskdef["task_role_arn"], image=container["image"],
                    partition="${data.aws_partition.partition.partition}")
        rendered = render_taskdef(cfg, stage, service, refs, deployment_id)
        assert containers == rendered["containerDefinitions"], where
        assert (taskdef["cpu"], taskdef["memory"], taskdef["family"]) == (
            rendered["cpu"], rendered["memory"], rendered["family"])


def test_task_definitions_carry_the_deployment_id(stack, cfg, deployment_id):
    for stage, service in _cases(cfg):
        _, taskdef = _taskdef(stack, stage, service)
        assert taskdef["tags"]["deployment-id"] == deployment_id, (stage, service.name)


def test_ecs_services_run_on_fargate_in_private_subnets_under_codedeploy(stack, cfg):
    cluster_name, _ = stack.one("aws_ecs_cluster")
    private = _private_subnets(stack)
    assert len(private) == 3
    assert len(stack.resources("aws_ecs_service")) == len(cfg.services) * len(DEPLOY_STAGES)
    for stage, service in _cases(cfg):
        where = f"{stage.value}/{service.name}"
        _, ecs = _service(stack, stage, service)
        assert ecs["launch_type"] == "FARGATE", where
        assert ecs["deployment_controller"]["type"] == "CODE_DEPLOY", where
        assert stack.refers_to(ecs["cluster"], "aws_ecs_cluster", cluster_name)
        network = ecs["network_configuration"]
        assert {stack.ref(s, "aws_subnet", "id")[0] for s in network["subnets"]} == private, where
        assert network["assign_public_ip"] is False, where
        assert {"task_definition", "load_balancer", "desired_count"} <= set(ecs["lifecycle"]["ignore_changes"]), where
        assert ecs["desired_count"] == 0, where  # a fresh install runs no task (test_stack_first_install.py)
        taskdef_name, _ = _taskdef(stack, stage, service)
        assert stack.refers_to(ecs["task_definition"], "aws_ecs_task_definition", taskdef_name), where
        balancers = ecs["load_balancer"]
        assert len(balancers) == 1, where
        assert (balancers[0]["container_name"], balancers[0]["container_port"]) == (service.name, service.port)
        stack.ref(balancers[0]["target_group_arn"], "aws_lb_target_group", "arn")


def test_dr_production_runs_the_standby_count(synthesized):
    for stack in synthesized.values():
        cfg = stack.cfg
        expected = (cfg.sizes[Stage.PRODUCTION].desired_count if cfg.is_primary else cfg.standby_production_count)
        from first_install import minimum

        counts = {minimum(stack, b["min_capacity"], "released") for b in stack.bodies("aws_appautoscaling_target")
                  if b["resource_id"].split("/")[-1].startswith(f"{cfg.project}-production-")}
        assert counts == {expected}, stack.region
