"""Small helpers shared by the emulator tests."""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List

CODEPIPELINE_STAGES: List[Dict[str, Any]] = [
    {
        "name": "Source",
        "actions": [
            {
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                "outputArtifacts": [{"name": "src"}],
                "configuration": {"RepositoryName": "app", "BranchName": "main"},
            }
        ],
    },
    {
        "name": "Build",
        "actions": [
            {
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "inputArtifacts": [{"name": "src"}],
                "configuration": {"ProjectName": "build"},
            }
        ],
    },
]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def trust_policy(*services: Any, effect: str = "Allow", principal: Any = None) -> str:
    """A trust policy; one service gives a string Service principal, several give a list."""
    if principal is None:
        principal = {"Service": list(services) if len(services) > 1 else services[0]}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def make_role(iam: Any, name: str, policy: str) -> str:
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy)["Role"]["Arn"]


class RawBodies:
    """Records the raw HTTP response bodies of a boto3 client (botocore parses timestamps leniently, so
    the wire format has to be checked on the raw JSON)."""

    def __init__(self, client: Any) -> None:
        self.bodies: Dict[str, Any] = {}
        client.meta.events.register("after-call.*.*", self._record)

    def _record(self, http_response: Any, model: Any, **_: Any) -> None:
        try:
            self.bodies[model.name] = json.loads(http_response.content or b"{}")
        except ValueError:  # e.g. moto's HTML page for an operation it does not implement
            self.bodies[model.name] = http_response.content

    def __getitem__(self, operation: str) -> Any:
        return self.bodies[operation]


def ecs_network(ec2: Any) -> Dict[str, Any]:
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=unique("sg"), Description="t", VpcId=vpc)["GroupId"]
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg], "assignPublicIp": "DISABLED"}}


def ecs_cluster_and_taskdef(ecs: Any) -> Dict[str, str]:
    cluster = unique("cluster")
    ecs.create_cluster(clusterName=cluster)
    family = unique("web")
    td = ecs.register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "web", "image": "nginx", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    return {"cluster": cluster, "taskDefinition": td}


def error_code(exc: Any) -> str:
    """The AWS error code of a ``pytest.raises(ClientError)`` result."""
    return exc.value.response["Error"]["Code"]
