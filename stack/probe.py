"""The pre-traffic test probe: a small function in the private subnets that sends the hook's HTTP
checks to the ALBs' test listeners.

Why a function inside the VPC: the test listener must not face the internet, the ALB is internet-facing
(its DNS name resolves to public addresses that the private subnets cannot reach without a NAT
gateway), and the hook function runs outside the VPC. The probe reaches the ALB nodes' private
addresses (the hook looks them up and passes them); it makes no AWS API call, so it needs no VPC
endpoint and no NAT. The test listeners admit the probe's security group and nothing else
(stack/load_balancing.py), and only the hook function may invoke it (its role's grant; no resource
policy opens it to anyone else). Same code package as the hook (lambda/health_check, hc_probe.handler).
"""
from __future__ import annotations

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import LOG_RETENTION_DAYS
from stack.context import StackContext
from stack.encryption import Encryption
from stack.iam import Role
from stack.load_balancing import LoadBalancing
from stack.network import Network
from stack.policy import LOG_RETENTION, skip

TIMEOUT_SECONDS = 35  # below the hook's 40 s read timeout for the synchronous invocation


class TestProbe(Construct):
    def __init__(self, scope: Construct, id: str, *, ctx: StackContext, encryption: Encryption, network: Network,
                 traffic: LoadBalancing, package: str, runtime: str):
        super().__init__(scope, id)
        cfg = ctx.cfg
        name = naming.test_probe(cfg)
        self.function_arn = ctx.arn("lambda", f"function:{name}")
        log_group = CloudwatchLogGroup(self, "logs", name=f"/aws/lambda/{name}", retention_in_days=LOG_RETENTION_DAYS,
                                       kms_key_id=encryption.arn)
        skip(log_group, "CKV_AWS_338", LOG_RETENTION)
        role = ctx.role(Role(self, "role", name=naming.role(cfg, "test-probe"),
                             description="Pre-traffic test probe: HTTP to the test listeners from inside the VPC",
                             service="lambda.amazonaws.com"))
        role.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group.arn}:*"])
        # Lambda attaches the function to the VPC with the execution role: network interfaces in the private
        # subnets with the probe's security group (AWSLambdaVPCAccessExecutionRole's actions, scoped).
        role.allow(["ec2:CreateNetworkInterface"],
                   [ctx.arn("ec2", "network-interface/*")]
                   + [ctx.arn("ec2", f"subnet/{sn.id}") for sn in network.private_subnets]
                   + [ctx.arn("ec2", f"security-group/{traffic.probe_sg.id}")])
        role.allow_on_all(["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                           "ec2:UnassignPrivateIpAddresses"], exception=(
            "Lambda creates the function's network interfaces itself when it attaches it to the VPC, so their "
            "ids exist only at run time and no ARN can name them beforehand; where they may be created is "
            "bounded by the CreateNetworkInterface grant (the private subnets, the probe's security group). "
            "AWSLambdaVPCAccessExecutionRole grants these on '*' too"))
        role.allow_unscoped(["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                             "xray:PutTraceSegments", "xray:PutTelemetryRecords"])
        code = TerraformAsset(self, "code", path=package, type=AssetType.FILE)
        self.function = LambdaFunction(
            self, "function", function_name=name, description="Pre-traffic HTTP test through the test listeners",
            role=role.arn, runtime=runtime, handler="hc_probe.handler", filename=code.path,
            source_code_hash=code.asset_hash, timeout=TIMEOUT_SECONDS, memory_size=128,
            kms_key_arn=encryption.arn, tracing_config={"mode": "Active"},
            vpc_config={"subnet_ids": [sn.id for sn in network.private_subnets],
                        "security_group_ids": [traffic.probe_sg.id]},
            depends_on=[log_group],
        )
        skip(self.function, "CKV_AWS_173", "the function has no environment variables to encrypt (and its "
                                           "configuration is encrypted with the stack's KMS key all the same)")
        skip(self.function, "CKV_AWS_116", "invoked only synchronously by the hook function, which gets every "
                                           "error in the response: there is no asynchronous event to dead-letter")
        skip(self.function, "CKV_AWS_115", "a reserved concurrency fails to apply in accounts whose concurrency "
                                           "quota is 10 (new accounts); it runs a few times per release")
        skip(self.function, "CKV_AWS_272",
             "code signing needs an AWS Signer signing profile and a package signed by a Signer job in S3; "
             "this package is built at synth from lambda/health_check, which is reviewed and tested in this "
             "repository")
