"""Run-time flows of what reacts to events: EventBridge rules, alarm actions, and SNS invoking the Lambda.

EventBridge starts the pipeline or a build through its role, or publishes to an encrypted topic;
alarms publish to their topics; SNS invokes the function subscribed to a topic, allowed by the
function's resource policy.
"""
from __future__ import annotations

from cicd.policy.authz.builder import Builder


def events_and_alarms(b: Builder) -> None:
    s = b.stack
    rules = {s.value(r["name"]): r for _, r in s.items("aws_cloudwatch_event_rule")}
    for _, target in s.items("aws_cloudwatch_event_target"):
        rule = s.value(target["rule"])
        arn = s.value(target["arn"])
        rule_arn = s.arn("events", f"rule/{rule}")
        if target.get("role_arn"):
            role = s.value(target["role_arn"])
            b.assume(role, "events.amazonaws.com", f"rule {rule}")
            if ":codebuild:" in arn:
                b.as_role(f"rule {rule} starts the build", "events-codebuild", role, "codebuild:StartBuild", arn)
            else:
                b.as_role(f"rule {rule} starts the pipeline", "events-pipeline", role,
                          "codepipeline:StartPipelineExecution", arn)
        elif ":sns:" in arn:
            b.publish(f"rule {rule} notifies", "sns-kms", arn, service="events.amazonaws.com", source_arn=rule_arn,
                      key_context=False)
        assert rule in rules
    for alarm_name, alarm in s.items("aws_cloudwatch_metric_alarm"):
        name = s.value(alarm["alarm_name"])
        for topic in sorted({s.value(t) for t in (alarm.get("alarm_actions") or []) + (alarm.get("ok_actions") or [])}):
            b.publish(f"alarm {name} notifies", "sns-kms", topic, service="cloudwatch.amazonaws.com",
                      source_arn=s.arn("cloudwatch", f"alarm:{name}"))
    for _, subscription in s.items("aws_sns_topic_subscription"):
        if subscription["protocol"] != "lambda":
            continue
        endpoint = s.value(subscription["endpoint"])
        fname = endpoint.rsplit(":", 1)[1]
        b.add(f"SNS invokes {fname}", "sns-lambda", "sns.amazonaws.com", "lambda:InvokeFunction", endpoint,
              resource_policy=s.lambda_policy(fname), aws_SourceArn=s.value(subscription["topic_arn"]),
              aws_SourceAccount=s.account)
