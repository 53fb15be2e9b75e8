"""What an operator does before `terraform destroy` of a region: the stack protects itself on purpose.

Production ALBs have deletion protection and the S3 buckets are versioned without force_destroy, so
a destroy refuses to remove them while they hold data. The emulator run's teardown (like a real
decommissioning) lifts the protection and empties the buckets first, through the AWS API, without
changing what the stack deploys.
"""
from __future__ import annotations

from typing import Dict, List

from cicd.workspace.config import RegionConfig


def prepare_destroy(cfg: RegionConfig, env: Dict[str, str]) -> List[str]:
    """Lift ALB deletion protection and empty the project's buckets; return what was done."""
    import boto3

    session = boto3.session.Session(
        region_name=cfg.region, aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"))
    endpoint = env.get("AWS_ENDPOINT_URL")
    elbv2 = session.client("elbv2", endpoint_url=endpoint)
    s3 = session.resource("s3", endpoint_url=endpoint)
    done: List[str] = []
    for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
        if not lb["LoadBalancerName"].startswith(f"{cfg.project}-"):
            continue
        attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
        if any(a["Key"] == "deletion_protection.enabled" and a["Value"] == "true" for a in attributes):
            elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}])
            done.append(f"lifted deletion protection of {lb['LoadBalancerName']}")
    buckets = [b for b in s3.buckets.all()
               if b.name.startswith(f"{cfg.project}-pipeline-") and b.name.endswith(f"-{cfg.region}")]
    # Stop access-log delivery first: every request made while emptying (and destroying) a logged
    # bucket would otherwise write new log objects into the log bucket behind us.
    for bucket in buckets:
        if s3.meta.client.get_bucket_logging(Bucket=bucket.name).get("LoggingEnabled"):
            s3.meta.client.put_bucket_logging(Bucket=bucket.name, BucketLoggingStatus={})
            done.append(f"stopped access logging of {bucket.name}")
    for bucket in buckets:
        versions = list(bucket.object_versions.all())
        if versions:
            bucket.object_versions.delete()
            done.append(f"emptied {bucket.name} ({len(versions)} object versions)")
    return done
