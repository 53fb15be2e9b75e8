"""One TerraformStack per region: the region is data, every concern a construct of its own."""
from __future__ import annotations

from cdktf import S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from cicd.workspace import naming
from cicd.workspace.config import RegionConfig
from stack.blocks import blocks
from stack.activation import Activation
from stack.build import Builds
from stack.context import StackContext
from stack.delivery import Delivery
from stack.deployments import Deployments
from stack.encryption import Encryption
from stack.firewall import Firewall
from stack.health_lambda import HealthLambda
from stack.load_balancing import LoadBalancing
from stack.monitoring import Monitoring
from stack.network import Network
from stack.notifications import Notifications
from stack.parameter_store import ParameterStore
from stack.registry import Registry
from stack.services import Services
from stack.source import Source
from stack.source_mirror import SourceMirror
from stack.storage import Storage
from stack.tagging import default_tags, tag_stages_and_services


class PipelineStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, cfg: RegionConfig, deployment_id: str):
        super().__init__(scope, id)
        AwsProvider(self, "aws", region=cfg.region, default_tags=blocks({"tags": default_tags(cfg)}))
        # Each region keeps its own state in its own bucket: the DR region never reads the primary's.
        S3Backend(self, bucket=cfg.state.bucket, key=cfg.state.key, region=cfg.state.region, encrypt=True)
        # Terraform >= 1.10 locks state natively in S3; cdktf 0.21's S3Backend predates the option.
        self.add_override("terraform.backend.s3.use_lockfile", True)
        ctx = StackContext(cfg=cfg, account_id=DataAwsCallerIdentity(self, "account").account_id,
                           partition=DataAwsPartition(self, "partition").partition, deployment_id=deployment_id)

        encryption = Encryption(self, "encryption", ctx=ctx)
        network = Network(self, "network", ctx=ctx, encryption=encryption)
        storage = Storage(self, "storage", ctx=ctx, encryption=encryption)
        source = Source(self, "source", ctx=ctx, encryption=encryption)
        registry = Registry(self, "registry", ctx=ctx, encryption=encryption)
        notifications = Notifications(self, "notifications", ctx=ctx, encryption=encryption)
        ParameterStore(self, "parameters", ctx=ctx, encryption=encryption, registry=registry)
        traffic = LoadBalancing(self, "traffic", ctx=ctx, network=network, storage=storage)
        Firewall(self, "firewall", ctx=ctx, encryption=encryption, traffic=traffic)
        services = Services(self, "services", ctx=ctx, encryption=encryption, network=network, registry=registry,
                            traffic=traffic)
        monitoring = Monitoring(self, "monitoring", ctx=ctx, traffic=traffic, services=services,
                                notifications=notifications)
        health = HealthLambda(self, "health", ctx=ctx, encryption=encryption, notifications=notifications,
                              traffic=traffic, network=network)
        deployments = Deployments(self, "deployments", ctx=ctx, encryption=encryption, storage=storage,
                                  traffic=traffic, services=services, monitoring=monitoring,
                                  notifications=notifications, hook_function_arn=health.function_arn)
        builds = Builds(self, "builds", ctx=ctx, encryption=encryption, storage=storage, registry=registry,
                        services=services)
        activation = Activation(self, "activation", ctx=ctx, encryption=encryption, storage=storage,
                                services=services)
        delivery = Delivery(self, "delivery", ctx=ctx, encryption=encryption, storage=storage, source=source,
                            builds=builds, services=services, deployments=deployments, notifications=notifications,
                            activation=activation)
        if source.repository is not None and cfg.source_mirror_regions:
            SourceMirror(self, "source-mirror", ctx=ctx, encryption=encryption, source=source,
                         notifications=notifications)
        for role in ctx.roles:
            role.finish()
        tag_stages_and_services(self, [s.name for s in cfg.services])  # after the last resource

        TerraformOutput(self, "deployment_id", value=deployment_id,
                        description="Timestamp ID of the synth that produced this configuration")
        TerraformOutput(self, "pipeline_url", description="Console URL of the pipeline and its executions",
                        value=(f"https://{cfg.region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/"
                               f"{delivery.pipeline.name}/executions?region={cfg.region}"))
        TerraformOutput(self, "ecr_repository_uris", description="ECR repository URI per service",
                        value={name: repo.repository_url for name, repo in registry.repositories.items()})
        TerraformOutput(self, "service_endpoints", description="URL per stage and service (production listener)",
                        value={f"{stage.value}/{name}": url for stage, name, url in traffic.endpoints()})
        source.outputs(self)
        TerraformOutput(self, "notification_topic_arn", value=notifications.topic.arn)
        TerraformOutput(self, "region_role", value=cfg.role.value)
        TerraformOutput(self, "ecs_cluster", value=naming.cluster(cfg))
