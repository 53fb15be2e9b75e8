"""cicd.workspace.naming: the names every part agrees on, for the embedded default, and AWS's length limits.

The expected names are the ones README's pipeline overview shows and the Lambda parses
(`{project}-{stage}-{service}` deployment groups and alarms); the limits are AWS's (IAM role
names 64 characters, ALB and target group names 32).
"""
from __future__ import annotations

import dataclasses

import pytest

from cicd.workspace import naming
from cicd.workspace.config import Service, SourceProvider, Stage, load_region

CFG = load_region("us-east-1")
API = next(s for s in CFG.services if s.name == "api-service")
NOTIFY = next(s for s in CFG.services if s.name == "notification-service")


def test_names_of_the_embedded_default() -> None:
    stg, prd = Stage.STAGING, Stage.PRODUCTION
    assert naming.deployment_group(CFG, prd, API) == "shop-production-api-service"
    assert naming.alarm(CFG, stg, API, "elb-5xx") == "shop-staging-api-service-elb-5xx"
    assert naming.codedeploy_application(CFG) == "shop-ecs"
    assert naming.cluster(CFG) == "shop-cluster"
    assert naming.ecs_service(CFG, stg, API) == "shop-staging-api-service"
    assert naming.task_family(CFG, prd, NOTIFY) == "shop-production-notification-service"
    assert naming.container(API) == "api-service"
    assert naming.service_log_group(CFG, stg, API) == "/ecs/shop/staging/api-service"
    assert naming.build_project(CFG, API) == "shop-build-api-service"
    assert naming.test_project(CFG) == "shop-test"
    assert naming.codebuild_log_group("shop-test") == "/aws/codebuild/shop-test"
    assert naming.pipeline(CFG) == "shop-pipeline"
    assert naming.health_function(CFG) == "shop-deployment-health"
    assert naming.role(CFG, "stage-build") == "shop-stage-build-use1"
    assert naming.task_role(CFG, prd, API, "exec") == "shop-prd-api-service-exec-use1"
    assert naming.task_role(CFG, Stage.BUILD, API, "task") == "shop-bld-api-service-task-use1"
    assert naming.alb(CFG, stg) == "shop-stg-use1"
    assert naming.target_group(CFG, stg, API, "blue") == "shop-stg-api-servic-blue"
    assert naming.target_group(CFG, prd, NOTIFY, "green") == "shop-prd-notificati-green"
    assert naming.parameter_path(prd, API) == "/pipeline/production/api-service/"
    assert naming.ecr_repository(CFG, API) == "shop/api-service"
    assert naming.ecr_registry("123456789012", "us-west-2") == "123456789012.dkr.ecr.us-west-2.amazonaws.com"
    assert naming.artifact_name(NOTIFY, stg) == "notification_service_staging"
    assert naming.stage_short(Stage.BUILD) == "bld"


@pytest.mark.parametrize("region, short", [
    ("us-east-1", "use1"), ("us-west-2", "usw2"), ("eu-west-1", "euw1"), ("ca-central-1", "cac1"),
    ("ap-south-1", "aps1"), ("ap-southeast-1", "apse1"), ("ap-northeast-2", "apne2"), ("ap-northwest-9", "apnw9"),
    ("af-southwest-3", "afsw3"), ("us-gov-west-1", "usgw1"),
])
def test_region_short_forms_keep_regions_apart(region: str, short: str) -> None:
    assert naming.region_short(region) == short


def test_iam_role_names_stop_at_64_characters() -> None:
    purpose = "p" * (64 - len("shop--use1"))
    assert len(naming.role(CFG, purpose)) == 64
    with pytest.raises(ValueError, match=r"IAM role name 'shop-p+x-use1' is longer than 64 characters"):
        naming.role(CFG, purpose + "x")


def test_load_balancer_and_target_group_names_stop_at_32_characters() -> None:
    at_limit = dataclasses.replace(CFG, project="p" * (32 - len("-stg-use1")))
    assert len(naming.alb(at_limit, Stage.STAGING)) == 32
    over = dataclasses.replace(CFG, project="p" * (33 - len("-stg-use1")))
    with pytest.raises(ValueError, match=r"load balancer / target group name 'p+-stg-use1' is longer than 32"):
        naming.alb(over, Stage.STAGING)
    with pytest.raises(ValueError, match="longer than 32"):
        naming.target_group(over, Stage.STAGING, Service("api-service", 8080, "/health"), "green")


def test_connection_names_stop_at_32_characters_without_a_trailing_dash() -> None:
    github = dataclasses.replace(CFG, source_provider=SourceProvider.GITHUB)
    assert naming.source_connection(github) == "shop-github"
    # The longest a valid .env makes (a 10-character project, the longest provider) is cut to CodeConnections' 32.
    longest = dataclasses.replace(CFG, project="abcdefghij", source_provider=SourceProvider.GITHUB_ENTERPRISE_SERVER)
    assert naming.source_connection(longest) == "abcdefghij-github-enterprise-ser"
    # A cut that ends on a dash drops it (no valid .env reaches one today: a 13-character project, or a longer provider).
    on_a_dash = dataclasses.replace(longest, project="p" * 13)
    assert naming.source_connection(on_a_dash) == "ppppppppppppp-github-enterprise"
