"""Blue/green traffic: one internet-facing ALB per stage, shared by the services through path rules.

Each ALB has a production listener (HTTPS with an HTTP redirect when CERTIFICATE_ARN is set, else
HTTP) and a test listener (HTTPS too when a certificate is set) that only the pre-traffic test probe
reaches: its security group admits the test port from the probe's security group alone (stack/probe.py),
nothing from the internet or the rest of the VPC.
Each service has a blue and a green target group; both listeners start on blue, and CodeDeploy moves
the service's listener rules between blue and green during a deployment, so Terraform ignores the
rules' actions afterwards. Until a certificate is set, the HTTP checks of the policy gate are skipped
with that reason (stack/policy.py); with one they pass outright.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_listener import LbListener
from cdktf_cdktf_provider_aws.lb_listener_rule import LbListenerRule
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, Service, Stage
from stack.blocks import blocks
from stack.context import StackContext
from stack.network import Network
from stack.policy import NO_CERTIFICATE, skip
from stack.storage import Storage, alb_log_prefix

TEST_LISTENER_PORT = 8080
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass
class ServiceTraffic:
    blue: LbTargetGroup
    green: LbTargetGroup


@dataclass
class StageTraffic:
    alb: Lb
    alb_sg: SecurityGroup
    task_sg: SecurityGroup
    production: LbListener
    test: LbListener
    scheme: str
    services: Dict[str, ServiceTraffic]


class LoadBalancing(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, network: Network, storage: Storage):
        super().__init__(scope, id)
        cfg = ctx.cfg
        # The pre-traffic test probe (a function in the private subnets) and nothing else reaches the test
        # listeners: its only way out is the test port of the stages' ALBs.
        self.probe_sg = SecurityGroup(self, "probe-sg", name=f"{cfg.project}-test-probe", vpc_id=network.vpc.id,
                                      description="pre-traffic test probe: to the ALBs' test listeners only",
                                      tags={"Name": f"{cfg.project}-test-probe"})
        self.stages: Dict[Stage, StageTraffic] = {}
        for stage in DEPLOY_STAGES:
            self.stages[stage] = self._stage(ctx, stage, network, storage)

    def _stage(self, ctx: StackContext, stage: Stage, network: Network, storage: Storage) -> StageTraffic:
        cfg = ctx.cfg
        s = stage.value
        https = cfg.certificate_arn is not None
        prod_port = 443 if https else 80
        alb_sg = SecurityGroup(self, f"{s}-alb-sg", name=f"{cfg.project}-{s}-alb", vpc_id=network.vpc.id,
                               description=f"{s} ALB: listener ports only", tags={"Name": f"{cfg.project}-{s}-alb"})
        task_sg = SecurityGroup(self, f"{s}-tasks-sg", name=f"{cfg.project}-{s}-tasks", vpc_id=network.vpc.id,
                                description=f"{s} ECS tasks: reachable only from their ALB",
                                tags={"Name": f"{cfg.project}-{s}-tasks"})
        public_ports = [prod_port] + ([80] if https else [])
        for port in public_ports:
            rule = VpcSecurityGroupIngressRule(self, f"{s}-alb-in-{port}", security_group_id=alb_sg.id,
                                               description=f"public listener {port}", cidr_ipv4="0.0.0.0/0",
                                               ip_protocol="tcp", from_port=port, to_port=port)
            if port == 80:
                skip(rule, "CKV_AWS_260", "port 80 only answers with a 301 redirect to HTTPS" if https
                     else NO_CERTIFICATE)
        VpcSecurityGroupIngressRule(self, f"{s}-alb-in-test", security_group_id=alb_sg.id,
                                    description="test listener, from the pre-traffic test probe only",
                                    referenced_security_group_id=self.probe_sg.id,
                                    ip_protocol="tcp", from_port=TEST_LISTENER_PORT, to_port=TEST_LISTENER_PORT)
        VpcSecurityGroupEgressRule(self, f"{s}-probe-out-test", security_group_id=self.probe_sg.id,
                                   description=f"to the {s} ALB's test listener",
                                   referenced_security_group_id=alb_sg.id,
                                   ip_protocol="tcp", from_port=TEST_LISTENER_PORT, to_port=TEST_LISTENER_PORT)
        for port in sorted({svc.port for svc in cfg.services}):
            VpcSecurityGroupEgressRule(self, f"{s}-alb-out-{port}", security_group_id=alb_sg.id,
                                       description=f"to tasks on {port}", referenced_security_group_id=task_sg.id,
                                       ip_protocol="tcp", from_port=port, to_port=port)
            VpcSecurityGroupIngressRule(self, f"{s}-tasks-in-{port}", security_group_id=task_sg.id,
                                        description=f"from the {s} ALB on {port}",
                                        referenced_security_group_id=alb_sg.id,
                                        ip_protocol="tcp", from_port=port, to_port=port)
        VpcSecurityGroupEgressRule(self, f"{s}-tasks-out-endpoints", security_group_id=task_sg.id,
                                   description="HTTPS to the interface VPC endpoints", cidr_ipv4=cfg.vpc_cidr,
                                   ip_protocol="tcp", from_port=443, to_port=443)
        VpcSecurityGroupEgressRule(self, f"{s}-tasks-out-s3", security_group_id=task_sg.id,
                                   description="HTTPS to S3 (ECR image layers) through the gateway endpoint",
                                   prefix_list_id=network.s3_endpoint.prefix_list_id,
                                   ip_protocol="tcp", from_port=443, to_port=443)

        alb = Lb(self, f"{s}-alb", name=naming.alb(cfg, stage), load_balancer_type="application", internal=False,
                 security_groups=[alb_sg.id], subnets=[sn.id for sn in network.public_subnets],
                 drop_invalid_header_fields=True, enable_deletion_protection=stage is Stage.PRODUCTION,
                 access_logs={"bucket": storage.logs.id, "prefix": alb_log_prefix(stage), "enabled": True},
                 # ELB checks at creation that the log bucket's policy lets it write.
                 depends_on=[storage.logs_policy])
        if stage is not Stage.PRODUCTION:
            skip(alb, "CKV_AWS_150", "the staging ALB is disposable and re-created from this configuration; "
                                     "the production ALB keeps deletion protection on")
        not_found = blocks({"type": "fixed-response",
                      "fixed_response": {"content_type": "text/plain", "status_code": "404",
                                         "message_body": "no such service"}})
        if https:
            production = LbListener(self, f"{s}-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
                                    ssl_policy=TLS_POLICY, certificate_arn=cfg.certificate_arn,
                                    default_action=not_found)
            LbListener(self, f"{s}-http-redirect", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
                       default_action=blocks({"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS",
                                                                             "status_code": "HTTP_301"}}))
            test = LbListener(self, f"{s}-test", load_balancer_arn=alb.arn, port=TEST_LISTENER_PORT,
                              protocol="HTTPS", ssl_policy=TLS_POLICY, certificate_arn=cfg.certificate_arn,
                              default_action=not_found)
        else:
            production = LbListener(self, f"{s}-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
                                    default_action=not_found)
            test = LbListener(self, f"{s}-test", load_balancer_arn=alb.arn, port=TEST_LISTENER_PORT,
                              protocol="HTTP", default_action=not_found)
            # Plain HTTP only until a certificate is configured: then both listeners are TLS 1.2+.
            skip(alb, "CKV2_AWS_20", NO_CERTIFICATE)
            for listener in (production, test):
                skip(listener, "CKV_AWS_2", NO_CERTIFICATE)
                skip(listener, "CKV_AWS_103", NO_CERTIFICATE)

        services: Dict[str, ServiceTraffic] = {}
        for index, service in enumerate(cfg.services):
            blue = self._target_group(ctx, network, stage, service, "blue")
            green = self._target_group(ctx, network, stage, service, "green")
            for listener, kind in ((production, "prod"), (test, "test")):
                LbListenerRule(self, f"{s}-{service.name}-{kind}-rule", listener_arn=listener.arn,
                               priority=10 * (index + 1),
                               condition=blocks({"path_pattern": {"values": [f"/{service.name}", f"/{service.name}/*"]}}),
                               action=blocks({"type": "forward", "target_group_arn": blue.arn}),
                               lifecycle=TerraformResourceLifecycle(ignore_changes=["action"]))
            services[service.name] = ServiceTraffic(blue=blue, green=green)
        return StageTraffic(alb=alb, alb_sg=alb_sg, task_sg=task_sg, production=production, test=test,
                            scheme="https" if https else "http", services=services)

    def _target_group(self, ctx: StackContext, network: Network, stage: Stage, service: Service,
                      colour: str) -> LbTargetGroup:
        group = LbTargetGroup(
            self, f"{stage.value}-{service.name}-{colour}", name=naming.target_group(ctx.cfg, stage, service, colour),
            port=service.port, protocol="HTTP", target_type="ip", vpc_id=network.vpc.id,
            deregistration_delay="30",
            health_check={"enabled": True, "path": service.health_path, "protocol": "HTTP", "matcher": "200-299",
                          "interval": 15, "timeout": 5, "healthy_threshold": 2, "unhealthy_threshold": 3},
        )
        skip(group, "CKV_AWS_378", "TLS terminates at the ALB; the targets are Fargate tasks in private subnets "
                                   "that only this ALB's security group can reach, and the services serve HTTP")
        return group

    def endpoints(self) -> List[tuple]:
        """(stage, service, URL) of every service's production-listener route."""
        return [(stage, name, f"{t.scheme}://{t.alb.dns_name}/{name}/")
                for stage, t in self.stages.items() for name in t.services]
