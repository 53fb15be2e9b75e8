"""AWS data about Elastic Load Balancing that the stack and the authorization checks share."""
from __future__ import annotations

# ELB's own account per region, for ALB access logs in regions older than August 2022
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html).
_ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "eu-west-1": "156460612806", "eu-central-1": "054676820928",
    "eu-west-2": "652711504416", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864", "ca-central-1": "985666609251", "sa-east-1": "507241528517",
}


def elb_account(region: str) -> str:
    if region not in _ELB_ACCOUNTS:
        raise ValueError(f"no ELB log-delivery account known for {region}; add it to cicd/workspace/elb.py")
    return _ELB_ACCOUNTS[region]




def has_elb_account(region: str) -> bool:
    return region in _ELB_ACCOUNTS
