"""The Application Auto Scaling patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/applicationautoscaling.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import ecs_cluster_and_taskdef, error_code


def test_applicationautoscaling_tags(aws) -> None:
    """Gap: RegisterScalableTarget drops Tags and ListTagsForResource/TagResource/UntagResource are not
    implemented (the provider retries reading an aws_appautoscaling_target's tags forever)."""
    ecs = aws("ecs")
    aas = aws("application-autoscaling")
    base = ecs_cluster_and_taskdef(ecs)
    ecs.create_service(**base, serviceName="web", desiredCount=1)
    resource_id = f"service/{base['cluster']}/web"
    arn = aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=4,
        Tags={"Project": "cicd"},
    )["ScalableTargetARN"]
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Project": "cicd"}
    aas.tag_resource(ResourceARN=arn, Tags={"Env": "dev"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["Project"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Env": "dev"}
    # re-registering (an update) keeps the tags, as on AWS
    aas.register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource_id, ScalableDimension="ecs:service:DesiredCount", MaxCapacity=6
    )
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Env": "dev"}
    with pytest.raises(ClientError) as exc:
        aas.tag_resource(ResourceARN=arn, Tags={"aws:x": "y"})
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        aas.list_tags_for_resource(ResourceARN=arn + "nope")
    assert error_code(exc) == "ResourceNotFoundException"
