"""Network: VPC, subnets, routing without internet egress from private subnets, endpoints,
security groups, the closed default security group and flow logs."""
from __future__ import annotations

import ipaddress
import json
from typing import Dict, List, Set, Tuple

from cicd.workspace.config import DEPLOY_STAGES

INTERFACE_ENDPOINTS = {"ecr.api", "ecr.dkr", "logs", "ssm"}
ANYWHERE = ("0.0.0.0/0", "::/0")


def _vpc(stack) -> Tuple[str, dict]:
    return stack.one("aws_vpc")


def _route_tables_with_default_route(stack) -> Set[str]:
    """Route tables with a default route, whether as aws_route or inline `route` blocks."""
    tables = set()
    for route in stack.bodies("aws_route"):
        if route.get("destination_cidr_block") in ANYWHERE or route.get("destination_ipv6_cidr_block") in ANYWHERE:
            tables.add(stack.ref(route["route_table_id"], "aws_route_table")[0])
    for name, table in stack.resources("aws_route_table").items():
        for route in table.get("route") or []:
            if route.get("cidr_block") in ANYWHERE or route.get("ipv6_cidr_block") in ANYWHERE:
                tables.add(name)
    return tables


def _subnet_tables(stack) -> Dict[str, str]:
    """subnet logical id -> route table logical id (explicit associations)."""
    table_of = {}
    for assoc in stack.bodies("aws_route_table_association"):
        subnet = stack.ref(assoc["subnet_id"], "aws_subnet", "id")[0]
        assert subnet not in table_of, f"{stack.region}: subnet {subnet} has two route table associations"
        table_of[subnet] = stack.ref(assoc["route_table_id"], "aws_route_table", "id")[0]
    return table_of


def _tiers(stack) -> Tuple[List[str], List[str]]:
    """(public, private) subnet logical ids: the ALBs' subnets and the ECS services' subnets."""
    public = {stack.ref(s, "aws_subnet", "id")[0] for lb in stack.bodies("aws_lb") for s in lb["subnets"]}
    private = {stack.ref(s, "aws_subnet", "id")[0] for svc in stack.bodies("aws_ecs_service")
               for s in svc["network_configuration"]["subnets"]}
    assert public.isdisjoint(private), f"{stack.region}: ALBs and tasks share subnets"
    assert public | private == set(stack.resources("aws_subnet")), f"{stack.region}: unused subnets"
    return sorted(public), sorted(private)


def test_vpc_uses_the_configured_cidr(stack, cfg):
    _, vpc = _vpc(stack)
    assert vpc["cidr_block"] == cfg.vpc_cidr
    assert vpc.get("enable_dns_support") is True and vpc.get("enable_dns_hostnames") is True  # interface endpoints


def test_three_public_and_three_private_subnets_across_the_configured_zones(stack, cfg):
    vpc_name, _ = _vpc(stack)
    network = ipaddress.IPv4Network(cfg.vpc_cidr)
    public, private = _tiers(stack)
    assert len(public) == 3 and len(private) == 3
    subnets = stack.resources("aws_subnet")
    for tier in (public, private):
        assert sorted(subnets[s]["availability_zone"] for s in tier) == sorted(cfg.availability_zones)
    blocks = []
    for name, subnet in subnets.items():
        assert stack.refers_to(subnet["vpc_id"], "aws_vpc", vpc_name)
        block = ipaddress.IPv4Network(subnet["cidr_block"])
        assert block.subnet_of(network), f"{subnet['cidr_block']} is outside {cfg.vpc_cidr}"
        blocks.append(block)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:]), "subnets overlap"
    for name in private:
        assert not subnets[name].get("map_public_ip_on_launch"), f"private subnet {name} maps public IPs"


def test_public_subnets_route_to_an_internet_gateway(stack):
    public, _ = _tiers(stack)
    table_of = _subnet_tables(stack)
    assert set(table_of) == set(stack.resources("aws_subnet")), "every subnet needs an explicit route table"
    public_tables = {table_of[s] for s in public}
    assert public_tables <= _route_tables_with_default_route(stack)
    for route in stack.bodies("aws_route"):
        if route.get("destination_cidr_block") == "0.0.0.0/0" and \
                stack.ref(route["route_table_id"], "aws_route_table")[0] in public_tables:
            assert stack.is_ref(route.get("gateway_id"), "aws_internet_gateway", "id")


def test_private_route_tables_have_no_default_route_and_reach_aws_through_endpoints(stack, cfg):
    public, private = _tiers(stack)
    table_of = _subnet_tables(stack)
    private_tables = {table_of[s] for s in private}
    with_default = private_tables & _route_tables_with_default_route(stack)
    assert not with_default, f"private route tables with a 0.0.0.0/0 route: {with_default}"
    assert private_tables.isdisjoint({table_of[s] for s in public})
    assert not stack.resources("aws_nat_gateway"), "private subnets are meant to have no internet egress"

    endpoints = stack.bodies("aws_vpc_endpoint")
    gateway = [e for e in endpoints if e["service_name"] == f"com.amazonaws.{cfg.region}.s3"]
    assert len(gateway) == 1 and gateway[0]["vpc_endpoint_type"] == "Gateway"
    assert {stack.ref(t, "aws_route_table", "id")[0] for t in gateway[0]["route_table_ids"]} >= private_tables

    interface = {e["service_name"].rsplit(f"com.amazonaws.{cfg.region}.", 1)[-1]: e for e in endpoints
                 if e.get("vpc_endpoint_type") == "Interface"}
    assert set(interface) >= INTERFACE_ENDPOINTS
    for service in INTERFACE_ENDPOINTS:
        endpoint = interface[service]
        assert endpoint["service_name"] == f"com.amazonaws.{cfg.region}.{service}"
        assert endpoint.get("private_dns_enabled") is True, service
        assert {stack.ref(s, "aws_subnet", "id")[0] for s in endpoint["subnet_ids"]} == set(private), service
        for sg in endpoint["security_group_ids"]:
            rules = _ingress(stack, stack.ref(sg, "aws_security_group", "id")[0])
            assert rules == {(443, "tcp", ("cidr", cfg.vpc_cidr))}, f"{service} endpoint: {rules}"


def _ingress(stack, sg_name: str) -> Set[Tuple[int, str, Tuple[str, str]]]:
    """(port, protocol, (source kind, source)) of every ingress rule of a security group, in any form."""
    rules = set()
    sg = stack.resources("aws_security_group")[sg_name]
    inline = sg.get("ingress") or []
    for rule in inline:
        assert rule["from_port"] == rule["to_port"], f"port range in {sg_name}"
        for cidr in rule.get("cidr_blocks") or []:
            rules.add((rule["from_port"], rule["protocol"], ("cidr", cidr)))
        for other in rule.get("security_groups") or []:
            rules.add((rule["from_port"], rule["protocol"], ("sg", stack.ref(other, "aws_security_group")[0])))
    for name, rule in stack.targeting("aws_vpc_security_group_ingress_rule", "security_group_id",
                                      "aws_security_group", sg_name):
        assert rule["from_port"] == rule["to_port"], f"port range in {name}"
        if rule.get("cidr_ipv4"):
            source = ("cidr", rule["cidr_ipv4"])
        elif rule.get("cidr_ipv6"):
            source = ("cidr", rule["cidr_ipv6"])
        elif rule.get("referenced_security_group_id"):
            source = ("sg", stack.ref(rule["referenced_security_group_id"], "aws_security_group", "id")[0])
        else:
            source = ("prefix-list", rule.get("prefix_list_id"))
        rules.add((rule["from_port"], rule["ip_protocol"], source))
    for name, rule in stack.targeting("aws_security_group_rule", "security_group_id", "aws_security_group", sg_name):
        if rule["type"] != "ingress":
            continue
        for cidr in rule.get("cidr_blocks") or []:
            rules.add((rule["from_port"], rule["protocol"], ("cidr", cidr)))
        if rule.get("source_security_group_id"):
            rules.add((rule["from_port"], rule["protocol"],
                       ("sg", stack.ref(rule["source_security_group_id"], "aws_security_group")[0])))
    return rules


def _stage_security_groups(stack, stage) -> Tuple[Set[str], Set[str]]:
    """(ALB security groups, task security groups) of a stage, found through the ALB and the ECS services."""
    albs = [b for b in stack.bodies("aws_lb") if (b.get("tags") or {}).get("stage") == stage.value]
    assert len(albs) == 1, f"{stack.region}: expected one {stage.value} ALB"
    alb_sgs = {stack.ref(sg, "aws_security_group", "id")[0] for sg in albs[0]["security_groups"]}
    task_sgs = set()
    for service in stack.bodies("aws_ecs_service"):
        if service["name"].startswith(f"{stack.cfg.project}-{stage.value}-"):
            for sg in service["network_configuration"]["security_groups"]:
                task_sgs.add(stack.ref(sg, "aws_security_group", "id")[0])
    assert alb_sgs and task_sgs and alb_sgs.isdisjoint(task_sgs)
    return alb_sgs, task_sgs


def _test_listener_port(stack, stage) -> int:
    groups = [g for g in stack.bodies("aws_codedeploy_deployment_group")
              if g["deployment_group_name"].startswith(f"{stack.cfg.project}-{stage.value}-")]
    ports = {stack.ref(arn, "aws_lb_listener", "arn")[1]["port"]
             for g in groups for arn in g["load_balancer_info"]["target_group_pair_info"]["test_traffic_route"]["listener_arns"]}
    assert len(ports) == 1
    return ports.pop()


def test_alb_security_group_admits_only_the_listener_ports(stack, cfg):
    public_ports = {443, 80} if cfg.certificate_arn else {80}
    for stage in DEPLOY_STAGES:
        alb_sgs, _ = _stage_security_groups(stack, stage)
        test_port = _test_listener_port(stack, stage)
        assert test_port not in public_ports
        expected = {(port, "tcp", ("cidr", "0.0.0.0/0")) for port in public_ports}
        # the test listener: from the pre-traffic probe's security group only (not the internet, not the VPC)
        probe_sg, _ = stack.the("aws_security_group", name=f"{cfg.project}-test-probe")
        expected.add((test_port, "tcp", ("sg", probe_sg)))
        for sg in alb_sgs:
            assert _ingress(stack, sg) == expected, f"{stage.value} ALB security group {sg}"


def test_the_probe_reaches_only_the_test_listeners_from_the_private_subnets(stack, cfg):
    """Issue 14, hole 1: the pre-traffic test reaches the test listener without a NAT gateway and without
    opening it to the internet - a function in the private subnets whose only egress is the test port."""
    probe_sg, _ = stack.the("aws_security_group", name=f"{cfg.project}-test-probe")
    egress = stack.targeting("aws_vpc_security_group_egress_rule", "security_group_id", "aws_security_group",
                             probe_sg)
    albs = set()
    for stage in DEPLOY_STAGES:
        albs |= set(_stage_security_groups(stack, stage)[0])
    assert {(r["from_port"], r["to_port"]) for _, r in egress} == {(8080, 8080)}
    assert {stack.ref(r["referenced_security_group_id"], "aws_security_group")[0] for _, r in egress} == albs
    _, probe = stack.the("aws_lambda_function", function_name=f"{cfg.project}-test-probe")
    _, private = _tiers(stack)
    assert {stack.ref(s, "aws_subnet", "id")[0] for s in probe["vpc_config"]["subnet_ids"]} == set(private)
    assert [stack.ref(s, "aws_security_group", "id")[0] for s in probe["vpc_config"]["security_group_ids"]] == [
        probe_sg]
    assert not stack.resources("aws_nat_gateway")


def test_task_security_groups_admit_only_their_alb_on_the_service_ports(stack, cfg):
    ports = {s.port for s in cfg.services}
    for stage in DEPLOY_STAGES:
        alb_sgs, task_sgs = _stage_security_groups(stack, stage)
        for sg in task_sgs:
            rules = _ingress(stack, sg)
            assert rules, f"{stage.value} task security group {sg} admits nothing"
            assert all(kind == "sg" and source in alb_sgs for _, _, (kind, source) in rules), rules
            assert {port for port, _, _ in rules} == ports
            assert {proto for _, proto, _ in rules} == {"tcp"}


def test_default_security_group_has_no_rules(stack):
    vpc_name, _ = _vpc(stack)
    _, default = stack.one("aws_default_security_group")
    assert stack.refers_to(default["vpc_id"], "aws_vpc", vpc_name)
    assert not default.get("ingress") and not default.get("egress")


def test_vpc_flow_log_goes_to_a_cloudwatch_log_group(stack):
    vpc_name, _ = _vpc(stack)
    _, flow_log = stack.one("aws_flow_log")
    assert stack.refers_to(flow_log["vpc_id"], "aws_vpc", vpc_name)
    assert flow_log["log_destination_type"] == "cloud-watch-logs"
    assert flow_log["traffic_type"] == "ALL"
    stack.ref(flow_log["log_destination"], "aws_cloudwatch_log_group", "arn")
    _, role = stack.ref(flow_log["iam_role_arn"], "aws_iam_role", "arn")
    principals = [s["Principal"] for s in json.loads(role["assume_role_policy"])["Statement"]]
    assert principals == [{"Service": "vpc-flow-logs.amazonaws.com"}]
