"""ECS: the CreateService members moto drops."""

from __future__ import annotations

import functools
from typing import Any

from ._registry import _patch, _replace


# CreateService request members that moto 5.2.5 drops although DescribeServices returns them on AWS.
_ECS_CREATE_SERVICE_KEPT = (
    "availabilityZoneRebalancing",
    "healthCheckGracePeriodSeconds",
    "enableECSManagedTags",
    "enableExecuteCommand",
    "deploymentConfiguration",
)


@_patch("ecs_create_service_dropped_members")
def _ecs_create_service_dropped_members() -> None:
    # moto 5.2.5, ECS, CreateService: `availabilityZoneRebalancing`, `healthCheckGracePeriodSeconds`,
    # `enableECSManagedTags`, `enableExecuteCommand` and `deploymentConfiguration` are dropped, so
    # DescribeServices never returns them and every re-plan of an aws_ecs_service shows drift (the provider
    # always sends availability_zone_rebalancing). AWS stores them; when a create request leaves
    # availabilityZoneRebalancing out AWS defaults it to ENABLED, and enableECSManagedTags/enableExecuteCommand
    # read back as false. (moto's UpdateService already keeps whatever it is given.)
    from botocore import xform_name
    from moto.ecs import responses

    original = responses.EC2ContainerServiceResponse.create_service

    @functools.wraps(original)
    def create_service(self: Any) -> Any:
        result = original(self)
        service = result.result["service"]
        defaults = {
            "availabilityZoneRebalancing": "ENABLED",
            "enableECSManagedTags": False,
            "enableExecuteCommand": False,
        }
        for member in _ECS_CREATE_SERVICE_KEPT:
            value = self._get_param(member)
            if value is None:
                value = defaults.get(member)
            if value is not None:
                setattr(service, xform_name(member), value)
        return result

    _replace(
        "ecs_create_service_dropped_members",
        responses.EC2ContainerServiceResponse,
        "create_service",
        create_service,
    )
