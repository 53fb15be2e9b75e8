"""The EC2 patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/ec2.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

from .helpers import unique


def test_ec2_security_group_rule_descriptions(aws) -> None:
    """Gap: DescribeSecurityGroupRules drops the Description of rules that reference a security group or a
    prefix list (aws_vpc_security_group_*_rule drift on every re-plan)."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    alb = ec2.create_security_group(GroupName=unique("alb"), Description="alb", VpcId=vpc)["GroupId"]
    tasks = ec2.create_security_group(GroupName=unique("tasks"), Description="tasks", VpcId=vpc)["GroupId"]
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName=unique("pl"), MaxEntries=2, AddressFamily="IPv4", Entries=[{"Cidr": "10.0.0.0/8"}]
    )["PrefixList"]["PrefixListId"]
    ingress = ec2.authorize_security_group_ingress(
        GroupId=tasks,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                        "UserIdGroupPairs": [{"GroupId": alb, "Description": "from the ALB"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    egress = ec2.authorize_security_group_egress(
        GroupId=tasks,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "PrefixListIds": [{"PrefixListId": prefix_list, "Description": "HTTPS to S3"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    cidr = ec2.authorize_security_group_egress(
        GroupId=tasks,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 53, "ToPort": 53,
                        "IpRanges": [{"CidrIp": "10.8.0.2/32", "Description": "dns"}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    plain = ec2.authorize_security_group_ingress(
        GroupId=tasks,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 9090, "ToPort": 9090, "UserIdGroupPairs": [{"GroupId": alb}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    rules = {
        r["SecurityGroupRuleId"]: r
        for r in ec2.describe_security_group_rules(SecurityGroupRuleIds=[ingress, egress, cidr, plain])[
            "SecurityGroupRules"
        ]
    }
    assert rules[ingress]["Description"] == "from the ALB"
    assert rules[ingress]["ReferencedGroupInfo"]["GroupId"] == alb
    assert rules[egress]["Description"] == "HTTPS to S3"
    assert rules[egress]["PrefixListId"] == prefix_list
    assert rules[cidr]["Description"] == "dns"
    assert "Description" not in rules[plain]
