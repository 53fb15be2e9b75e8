"""VPC over three availability zones: ALBs in public subnets, ECS tasks in private subnets.

Egress choice: private subnets have no route to the internet. Image pulls (ECR API, ECR registry
and its S3 layer storage), logs and Parameter Store secrets go through VPC endpoints, so tasks reach
only the AWS APIs they need, and there is no NAT gateway to pay for or to fail. A service that must
call the internet needs a NAT gateway added here (see README, Network).
"""
from __future__ import annotations

import ipaddress
from typing import List

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import LOG_RETENTION_DAYS
from stack.context import StackContext
from stack.encryption import Encryption
from stack.iam import Role
from stack.policy import LOG_RETENTION, skip

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "ssm")


class Network(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption):
        super().__init__(scope, id)
        cfg = ctx.cfg
        self.vpc = Vpc(self, "vpc", cidr_block=cfg.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
                       tags={"Name": f"{cfg.project}-vpc"})
        # Nothing may use the default security group: it keeps no rules at all.
        DefaultSecurityGroup(self, "default-sg", vpc_id=self.vpc.id, tags={"Name": f"{cfg.project}-default-closed"})

        blocks = list(ipaddress.IPv4Network(cfg.vpc_cidr).subnets(new_prefix=ipaddress.IPv4Network(cfg.vpc_cidr).prefixlen + 4))
        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": f"{cfg.project}-igw"})
        public_rt = RouteTable(self, "public-rt", vpc_id=self.vpc.id, tags={"Name": f"{cfg.project}-public"})
        Route(self, "public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
              gateway_id=igw.id)
        private_rt = RouteTable(self, "private-rt", vpc_id=self.vpc.id, tags={"Name": f"{cfg.project}-private"})

        self.public_subnets: List[Subnet] = []
        self.private_subnets: List[Subnet] = []
        for i, zone in enumerate(cfg.availability_zones):
            public = Subnet(self, f"public-{zone}", vpc_id=self.vpc.id, availability_zone=zone,
                            cidr_block=str(blocks[i]), map_public_ip_on_launch=False,
                            tags={"Name": f"{cfg.project}-public-{zone}", "tier": "public"})
            private = Subnet(self, f"private-{zone}", vpc_id=self.vpc.id, availability_zone=zone,
                             cidr_block=str(blocks[i + 3]), map_public_ip_on_launch=False,
                             tags={"Name": f"{cfg.project}-private-{zone}", "tier": "private"})
            RouteTableAssociation(self, f"public-rta-{zone}", subnet_id=public.id, route_table_id=public_rt.id)
            RouteTableAssociation(self, f"private-rta-{zone}", subnet_id=private.id, route_table_id=private_rt.id)
            self.public_subnets.append(public)
            self.private_subnets.append(private)

        endpoint_sg = SecurityGroup(self, "endpoints-sg", name=f"{cfg.project}-vpc-endpoints",
                                    description="HTTPS from inside the VPC to the AWS API endpoints",
                                    vpc_id=self.vpc.id, tags={"Name": f"{cfg.project}-vpc-endpoints"})
        VpcSecurityGroupIngressRule(self, "endpoints-https", security_group_id=endpoint_sg.id,
                                    description="HTTPS from the VPC", cidr_ipv4=cfg.vpc_cidr,
                                    ip_protocol="tcp", from_port=443, to_port=443)
        self.s3_endpoint = VpcEndpoint(self, "s3-endpoint", vpc_id=self.vpc.id, service_name=f"com.amazonaws.{cfg.region}.s3",
                    vpc_endpoint_type="Gateway", route_table_ids=[private_rt.id],
                    tags={"Name": f"{cfg.project}-s3"})
        for service in INTERFACE_ENDPOINTS:
            VpcEndpoint(self, f"{service.replace('.', '-')}-endpoint", vpc_id=self.vpc.id,
                        service_name=f"com.amazonaws.{cfg.region}.{service}", vpc_endpoint_type="Interface",
                        private_dns_enabled=True, subnet_ids=[s.id for s in self.private_subnets],
                        security_group_ids=[endpoint_sg.id], tags={"Name": f"{cfg.project}-{service}"})

        flow_logs = CloudwatchLogGroup(self, "flow-logs", name=f"/vpc/{cfg.project}/flow-logs",
                                       retention_in_days=LOG_RETENTION_DAYS, kms_key_id=encryption.arn)
        skip(flow_logs, "CKV_AWS_338", LOG_RETENTION)
        role = ctx.role(Role(self, "flow-logs-role", name=naming.role(cfg, "flowlogs"),
                             description="VPC flow logs delivery to CloudWatch Logs",
                             service="vpc-flow-logs.amazonaws.com",
                             conditions={"StringEquals": {"aws:SourceAccount": ctx.account_id}}))
        role.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{flow_logs.arn}:*"])
        role.allow(["logs:DescribeLogStreams"], [flow_logs.arn])
        # The flow-logs guide lists DescribeLogGroups among the role's permissions; AWS authorizes it on no
        # resource type, so only "*" grants it.
        role.allow_unscoped(["logs:DescribeLogGroups"])
        FlowLog(self, "flow-log", vpc_id=self.vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                log_destination=flow_logs.arn, iam_role_arn=role.arn, max_aggregation_interval=60)
