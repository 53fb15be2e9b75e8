"""Helpers for the health-check Lambda tests, in one import: `from health_check_testkit import ...`.

The helpers live in modules by concern; this one names them all, so a test file needs one import line
whichever part it uses, and test files written before the split (or alongside it) keep working:

  health_check_function  the function loaded from lambda/health_check; boto3 sessions sharing one loader
  health_check_world     the moto world (ALB, ECS, CodeDeploy, alarms, topic) and the events it is sent
  health_check_spies     the function's calls recorded or failed on demand; its decisions; statuses sent
  health_check_probe     the probe function run in this process, an ALB node for the hook to find

A uniquely named module rather than `conftest`: tests/ has several conftest.py files and
`from conftest import ...` would depend on which one pytest imported last.
"""
from __future__ import annotations

from health_check_function import FUNCTION_DIR, REGION, aws_client, handler_module, hc_aws, new_session
from health_check_probe import ALB_SUFFIX, PROBE_FUNCTION, alb_node, serve_probe_function
from health_check_spies import PUT, Recorder, decisions, fail_operation, only_decision, sent_status
from health_check_world import (
    ACCOUNT,
    ALARM_KINDS,
    APP,
    BLUE_IPS,
    CLUSTER,
    GREEN_IPS,
    GROUP,
    HOOK_EVENT,
    HOOK_ID,
    IMAGE,
    IMAGE_TAG,
    MANIFEST,
    PROJECT,
    REPOSITORY,
    SERVICE,
    TOPIC_ARN,
    World,
    build_world,
    create_deployment,
    create_ecs_group,
    hook_id,
    sns_event,
)

__all__ = [
    "ACCOUNT", "ALARM_KINDS", "ALB_SUFFIX", "APP", "BLUE_IPS", "CLUSTER", "FUNCTION_DIR", "GREEN_IPS", "GROUP",
    "HOOK_EVENT", "HOOK_ID", "IMAGE", "IMAGE_TAG", "MANIFEST", "PROBE_FUNCTION", "PROJECT", "PUT", "REGION",
    "REPOSITORY", "Recorder", "SERVICE", "TOPIC_ARN", "World", "alb_node", "aws_client", "build_world",
    "create_deployment", "create_ecs_group", "decisions", "fail_operation", "handler_module", "hc_aws", "hook_id",
    "new_session", "only_decision", "sent_status", "serve_probe_function", "sns_event",
]
