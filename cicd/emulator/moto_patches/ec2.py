"""EC2: descriptions of security group rules that reference a security group or a prefix list."""

from __future__ import annotations

import functools
from typing import Any

from ._registry import _patch, _replace


@_patch("ec2_security_group_rule_descriptions")
def _ec2_security_group_rule_descriptions() -> None:
    # moto 5.2.5, EC2, DescribeSecurityGroupRules: a rule's Description is read only from a CIDR range, so a
    # rule that references a security group (UserIdGroupPairs[].Description) or a prefix list
    # (PrefixListIds[].Description, which moto does not even keep) comes back without its description, and
    # every aws_vpc_security_group_ingress_rule / _egress_rule of that kind shows drift on re-plan. AWS
    # returns the description of whichever source the rule has.
    from moto.ec2.models import security_groups

    cls = security_groups.SecurityGroupRule
    original_init = cls.__init__

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        prefix_list = kwargs.get("prefix_list_id")
        if prefix_list is None and len(args) >= 8:  # positional: (..., ip_range, source_group, prefix_list_id)
            prefix_list = args[7]
        self._cicd_prefix_list_description = (prefix_list or {}).get("Description")

    def description(self: Any) -> Any:
        for source in (self.ip_range, self.source_group):
            if source and source.get("Description") is not None:
                return source["Description"]
        return getattr(self, "_cicd_prefix_list_description", None)

    patch = "ec2_security_group_rule_descriptions"
    _replace(patch, cls, "__init__", __init__)
    _replace(patch, cls, "description", property(description))
