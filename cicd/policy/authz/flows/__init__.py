"""The run-time flows: the calls AWS services make on the stack's behalf, and the stack's own code.

Each entry is one request as AWS authorizes it — principal, action, the exact resource ARN, the
request context that matters — built from the synthesized configuration (or the applied state) and
citing the AWS page that says the call is made. `cicd.policy.authz.gate` evaluates every one against the
caller's identity policy, the trust policy of an assumed role and the resource policy involved.

Known limits, stated rather than guessed: service-linked roles (ECS, ECR replication, ELB) carry
AWS-managed policies and are not evaluated; quotas and service-side timing are not authorization.

One module per service family: `pipeline` (CodePipeline and its stage actions), `builds` (CodeBuild),
`deploy` (CodeDeploy and the ECS tasks), `health_lambda` (the functions, the hook's own calls),
`notifications` (EventBridge, alarms, SNS), `logs` (log delivery, the logs key). `build` is the one entry.
"""
from __future__ import annotations

from typing import List

from cicd.policy.authz.builder import Builder, Flow
from cicd.policy.authz.catalogue import Stack
from cicd.policy.authz.flows import builds, deploy, health_lambda, logs, notifications, pipeline
from cicd.policy.authz.flows.health_lambda import handler_calls, lambda_requests  # public, as before the split

__all__ = ["Flow", "build", "handler_calls", "lambda_requests"]


def build(stack: Stack) -> List[Flow]:
    b = Builder(stack)
    for part in (pipeline.actions, builds.projects, pipeline.deploy_stages, deploy.codedeploy, deploy.tasks,
                 health_lambda.functions, notifications.events_and_alarms, logs.log_delivery, logs.log_encryption):
        part(b)
    return b.flows
