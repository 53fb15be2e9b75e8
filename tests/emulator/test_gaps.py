"""The moto 5.2.5 gaps themselves, shown on an UNPATCHED moto server (a separate process).

If one of these starts failing after a moto upgrade, moto has changed there: re-check the matching patch
in cicd/emulator/moto_patches/ (it may no longer be needed, or may need adjusting).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .helpers import (
    CODEPIPELINE_STAGES,
    RawBodies,
    ecs_cluster_and_taskdef,
    ecs_network,
    make_role,
    trust_policy,
    unique,
)

_ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def _not_implemented(call, *args, **kwargs) -> None:
    """moto answers an operation it lacks with HTTP 500 (which the provider retries)."""
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_gap_iam_aws_managed_policies(plain_aws) -> None:
    iam = plain_aws("iam")
    role = unique("r")
    make_role(iam, role, trust_policy("codedeploy.amazonaws.com"))
    with pytest.raises(ClientError) as exc:
        iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS")
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def test_gap_codecommit(plain_aws) -> None:
    cc = plain_aws("codecommit")
    raw = RawBodies(cc)
    md = cc.create_repository(repositoryName=unique("r"), tags={"a": "b"}, kmsKeyId="alias/x")["repositoryMetadata"]
    assert isinstance(raw["CreateRepository"]["repositoryMetadata"]["creationDate"], str)
    assert "kmsKeyId" not in md
    _not_implemented(cc.list_tags_for_resource, resourceArn=md["Arn"])
    _not_implemented(cc.tag_resource, resourceArn=md["Arn"], tags={"a": "b"})
    _not_implemented(cc.update_repository_description, repositoryName=md["repositoryName"], repositoryDescription="x")
    _not_implemented(cc.list_branches, repositoryName=md["repositoryName"])
    _not_implemented(cc.update_default_branch, repositoryName=md["repositoryName"], defaultBranchName="main")


def test_gap_codebuild(plain_aws) -> None:
    cb = plain_aws("codebuild")
    role = make_role(plain_aws("iam"), unique("cb"), trust_policy("codebuild.amazonaws.com"))
    with pytest.raises(ClientError) as exc:
        cb.create_project(
            name=unique("b"),
            source={"type": "CODEPIPELINE"},
            artifacts={"type": "CODEPIPELINE"},
            environment=_ENV,
            serviceRole=role,
        )
    assert "location is required" in str(exc.value)
    name = unique("b")
    cb.create_project(
        name=name,
        source={"type": "CODEPIPELINE", "location": "x"},
        artifacts={"type": "CODEPIPELINE", "location": "x"},
        environment=_ENV,
        serviceRole=role,
        encryptionKey="arn:aws:kms:eu-west-1:123456789012:key/abc",
        concurrentBuildLimit=2,
    )
    got = cb.batch_get_projects(names=[name])["projects"][0]
    assert got["encryptionKey"].endswith(":alias/aws/s3")
    assert "concurrentBuildLimit" not in got
    _not_implemented(cb.update_project, name=name, timeoutInMinutes=10)


def test_gap_codedeploy(plain_aws) -> None:
    cd = plain_aws("codedeploy")
    role = make_role(plain_aws("iam"), unique("cd"), trust_policy("codedeploy.amazonaws.com"))
    app, group = unique("a"), unique("g")
    cd.create_application(applicationName=app, computePlatform="ECS")
    cd.create_deployment_group(
        applicationName=app,
        deploymentGroupName=group,
        serviceRoleArn=role,
        alarmConfiguration={"enabled": True, "alarms": [{"name": "x"}]},
    )
    info = cd.get_deployment_group(applicationName=app, deploymentGroupName=group)["deploymentGroupInfo"]
    assert info["alarmConfiguration"] == {}
    deployment = cd.create_deployment(
        applicationName=app,
        deploymentGroupName=group,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}},
    )["deploymentId"]
    _not_implemented(cd.put_lifecycle_event_hook_execution_status, deploymentId=deployment,
                     lifecycleEventHookExecutionId="h", status="Succeeded")
    _not_implemented(cd.stop_deployment, deploymentId=deployment)
    _not_implemented(cd.update_deployment_group, applicationName=app, currentDeploymentGroupName=group)
    _not_implemented(cd.delete_deployment_group, applicationName=app, deploymentGroupName=group)
    _not_implemented(cd.delete_application, applicationName=app)


def test_gap_codepipeline(plain_aws) -> None:
    cp = plain_aws("codepipeline")
    raw = RawBodies(cp)
    iam = plain_aws("iam")
    single = make_role(iam, unique("cp"), trust_policy("codepipeline.amazonaws.com"))
    listed = make_role(iam, unique("cp"), trust_policy("codepipeline.amazonaws.com", "events.amazonaws.com"))

    def pipeline(name: str, role: str) -> dict:
        return {"name": name, "roleArn": role, "artifactStore": {"type": "S3", "location": "artifacts"},
                "stages": CODEPIPELINE_STAGES}

    name = unique("p")
    cp.create_pipeline(pipeline=pipeline(name, single))
    cp.get_pipeline(name=name)
    assert isinstance(raw["GetPipeline"]["metadata"]["created"], str)
    with pytest.raises(ClientError) as exc:
        cp.create_pipeline(pipeline=pipeline(unique("p"), listed))
    assert exc.value.response["Error"]["Code"] == "InvalidStructureException"


def test_gap_ecs_create_service(plain_aws) -> None:
    ecs = plain_aws("ecs")
    base = ecs_cluster_and_taskdef(ecs)
    ecs.create_service(
        **base,
        serviceName="s",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=ecs_network(plain_aws("ec2")),
        availabilityZoneRebalancing="DISABLED",
        healthCheckGracePeriodSeconds=60,
        enableECSManagedTags=True,
    )
    svc = ecs.describe_services(cluster=base["cluster"], services=["s"])["services"][0]
    for member in ("availabilityZoneRebalancing", "healthCheckGracePeriodSeconds", "enableECSManagedTags"):
        assert member not in svc


def test_gap_applicationautoscaling_tags(plain_aws) -> None:
    ecs = plain_aws("ecs")
    base = ecs_cluster_and_taskdef(ecs)
    ecs.create_service(**base, serviceName="s", desiredCount=1)
    arn = plain_aws("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{base['cluster']}/s",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=2,
    )["ScalableTargetARN"]
    _not_implemented(plain_aws("application-autoscaling").list_tags_for_resource, ResourceARN=arn)


def test_gap_s3_logging_target_policy(plain_aws) -> None:
    s3 = plain_aws("s3")
    source, target = unique("src"), unique("logs")
    for bucket in (source, target):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    statements = [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{target}/*"},
    ]
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_logging(
            Bucket=source, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "s3/"}}
        )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_gap_s3_policy_secure_transport(plain_aws) -> None:
    """A TLS-only bucket policy (Deny when aws:SecureTransport is false) denies every object call: moto
    ignores the condition. AWS denies only plain-HTTP requests."""
    s3 = plain_aws("s3")
    bucket = unique("tls")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=bucket, Key="state", Body=b"{}")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="state")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_gap_ec2_security_group_rule_descriptions(plain_aws) -> None:
    ec2 = plain_aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    alb = ec2.create_security_group(GroupName=unique("alb"), Description="alb", VpcId=vpc)["GroupId"]
    tasks = ec2.create_security_group(GroupName=unique("tasks"), Description="tasks", VpcId=vpc)["GroupId"]
    rule = ec2.authorize_security_group_ingress(
        GroupId=tasks,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                        "UserIdGroupPairs": [{"GroupId": alb, "Description": "from the ALB"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    got = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule])["SecurityGroupRules"][0]
    assert "Description" not in got


def test_gap_lambda_dead_letter_config(plain_aws) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
    role = make_role(plain_aws("iam"), unique("fn"), trust_policy("lambda.amazonaws.com"))
    lam = plain_aws("lambda")
    name = unique("fn")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": buf.getvalue()},
        DeadLetterConfig={"TargetArn": "arn:aws:sqs:eu-west-1:123456789012:dlq"},
    )
    assert "DeadLetterConfig" not in lam.get_function(FunctionName=name)["Configuration"]


def test_gap_codeconnections(plain_aws) -> None:
    # moto 5.2.5 has no CodeConnections service: the server finds no backend for it.
    cc = plain_aws("codeconnections")
    with pytest.raises(ClientError) as exc:
        cc.create_connection(ProviderType="GitHub", ConnectionName=unique("c"))
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (404, 500)


def test_gap_codebuild_no_source(plain_aws) -> None:
    # A NO_SOURCE project with its buildspec inline (valid on AWS) is refused for want of a location.
    cb = plain_aws("codebuild")
    role = make_role(plain_aws("iam"), unique("cb"), trust_policy("codebuild.amazonaws.com"))
    with pytest.raises(ClientError) as exc:
        cb.create_project(name=unique("b"), source={"type": "NO_SOURCE", "buildspec": "version: 0.2\n"},
                          artifacts={"type": "NO_ARTIFACTS"}, environment=_ENV, serviceRole=role)
    assert "location is required" in str(exc.value)
