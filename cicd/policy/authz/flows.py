"""The run-time flows: the calls AWS services make on the stack's behalf, and the stack's own code.

Each entry is one request as AWS authorizes it — principal, action, the exact resource ARN, the
request context that matters — built from the synthesized configuration (or the applied state) and
citing the AWS page that says the call is made. `cicd.policy.authz.gate` evaluates every one against the
caller's identity policy, the trust policy of an assumed role and the resource policy involved.

Known limits, stated rather than guessed: service-linked roles (ECS, ECR replication, ELB) carry
AWS-managed policies and are not evaluated; quotas and service-side timing are not authorization.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

from cicd.policy.authz.builder import Builder, Flow
from cicd.policy.authz.catalogue import Stack
from cicd.workspace.elb import elb_account, has_elb_account

__all__ = ["Flow", "build", "handler_calls", "lambda_requests"]
LAMBDA_DIR = Path(__file__).resolve().parents[3] / "lambda" / "health_check"


def build(stack: Stack) -> List[Flow]:
    b = Builder(stack)
    for part in (_pipeline, _builds, _deploy_stages, _codedeploy, _tasks, _health_lambda, _events_and_alarms,
                 _log_delivery, _log_encryption):
        part(b)
    return b.flows


# --- CodePipeline -------------------------------------------------------------------------------

def _pipeline(b: Builder) -> None:
    s = b.stack
    (_, pipeline), = s.items("aws_codepipeline")
    role = s.value(pipeline["role_arn"])
    b.assume(role, "codepipeline.amazonaws.com", "pipeline")
    bucket = _artifact_bucket(s, pipeline)
    b.s3_object("pipeline moves artifacts", "pipeline", role, bucket, "shop-pipeline/source/abc.zip",
                "s3:GetObject", "s3:PutObject")
    b.as_role("pipeline checks the artifact bucket", "pipeline", role, "s3:GetBucketVersioning",
              f"arn:aws:s3:::{bucket}", resource_policy=s.bucket_policy(bucket), aws_SecureTransport="true")
    b.kms("pipeline encrypts artifacts", "pipeline", role, "kms:GenerateDataKey", "kms:Decrypt")
    for stage in pipeline["stage"]:
        for action in stage["action"]:
            stage_role = s.role(action["role_arn"])
            b.as_role(f"pipeline assumes the {stage['name']} role", "pipeline", role, "sts:AssumeRole",
                      stage_role.arn, resource_policy=stage_role.trust)
            label = f"{stage['name']}/{action['name']}"
            config = {k: s.value(v) for k, v in (action.get("configuration") or {}).items()}
            b.s3_object(f"{label} reads and writes artifacts", "pipeline", stage_role.arn, bucket,
                        "shop-pipeline/build/abc.zip", "s3:GetObject", "s3:PutObject")
            b.kms(f"{label} artifact key", "pipeline", stage_role.arn, "kms:GenerateDataKey", "kms:Decrypt")
            provider = action["provider"]
            if provider == "CodeCommit":
                repo = s.arn("codecommit", config["RepositoryName"])
                for act in ("GetBranch", "GetCommit", "GetRepository", "UploadArchive", "GetUploadArchiveStatus",
                            "CancelUploadArchive"):
                    b.as_role(f"{label} reads the repository", "codecommit", stage_role.arn, f"codecommit:{act}", repo)
            elif provider == "CodeStarSourceConnection":
                connection = config["ConnectionArn"]
                prefix = connection.split(":")[2]  # codeconnections, or codestar-connections for older ARNs
                b.as_role(f"{label} reads the Git host through the connection", "connections", stage_role.arn,
                          f"{prefix}:UseConnection", connection)
            elif provider == "CodeBuild":
                project = s.arn("codebuild", f"project/{config['ProjectName']}")
                for act in ("StartBuild", "BatchGetBuilds", "StopBuild"):
                    b.as_role(f"{label} runs the build", "codebuild-action", stage_role.arn, f"codebuild:{act}", project)
            elif provider == "Manual":
                b.publish(f"{label} announces the approval", "approval", config["NotificationArn"],
                          role_arn=stage_role.arn)


def _deploy_stages(b: Builder) -> None:
    """CodeDeployToECS: what the deploy stages' roles call (the action reference's permissions)."""
    s = b.stack
    (_, pipeline), = s.items("aws_codepipeline")
    groups = {s.value(g["deployment_group_name"]): g for _, g in s.items("aws_codedeploy_deployment_group")}
    for stage in pipeline["stage"]:
        for action in stage["action"]:
            if action["provider"] != "CodeDeployToECS":
                continue
            role = s.value(action["role_arn"])
            label = f"{stage['name']}/{action['name']}"
            config = {k: s.value(v) for k, v in action["configuration"].items()}
            app, group_name = config["ApplicationName"], config["DeploymentGroupName"]
            group = groups[group_name]
            group_arn = s.arn("codedeploy", f"deploymentgroup:{app}/{group_name}")
            for act in ("CreateDeployment", "GetDeployment"):
                b.as_role(f"{label} deploys", "ecs-bluegreen", role, f"codedeploy:{act}", group_arn)
            for act in ("GetApplication", "GetApplicationRevision", "RegisterApplicationRevision"):
                b.as_role(f"{label} registers the revision", "ecs-bluegreen", role, f"codedeploy:{act}",
                          s.arn("codedeploy", f"application:{app}"))
            b.as_role(f"{label} reads the deployment config", "ecs-bluegreen", role, "codedeploy:GetDeploymentConfig",
                      s.arn("codedeploy", f"deploymentconfig:{s.value(group['deployment_config_name'])}"))
            taskdef = _taskdef_for(s, s.value(group["ecs_service"]["service_name"]))
            revision = s.arn("ecs", f"task-definition/{taskdef['family']}:2")
            b.as_role(f"{label} registers the task definition", "ecs-bluegreen", role, "ecs:RegisterTaskDefinition",
                      revision)
            # taskdef.json carries tags: ECS then also authorizes TagResource on the new revision.
            b.as_role(f"{label} tags the task definition", "ecs-tagging", role, "ecs:TagResource", revision,
                      ecs_CreateAction="RegisterTaskDefinition")
            for key in ("execution_role_arn", "task_role_arn"):
                b.as_role(f"{label} passes the task's roles", "ecs-bluegreen", role, "iam:PassRole",
                          s.value(taskdef[key]), iam_PassedToService="ecs-tasks.amazonaws.com")


def _artifact_bucket(s: Stack, pipeline: Dict[str, Any]) -> str:
    store = pipeline["artifact_store"]
    return s.value((store[0] if isinstance(store, list) else store)["location"])


def _taskdef_for(s: Stack, service_name: str) -> Dict[str, Any]:
    for name, body in s.items("aws_ecs_service"):
        if s.value(body["name"]) == service_name:
            ref = body["task_definition"]  # ${aws_ecs_task_definition.X.arn}
            return s.doc["resource"]["aws_ecs_task_definition"][ref.split(".")[1]]
    raise KeyError(service_name)


# --- CodeBuild ----------------------------------------------------------------------------------

def _builds(b: Builder) -> None:
    s = b.stack
    (_, pipeline), = s.items("aws_codepipeline")
    bucket = _artifact_bucket(s, pipeline)
    for _, project in s.items("aws_codebuild_project"):
        role = s.value(project["service_role"])
        name = s.value(project["name"])
        b.assume(role, "codebuild.amazonaws.com", f"build {name}")
        b.log_stream(f"{name} writes its log", "codebuild-role", role, s.value(project["logs_config"]["cloudwatch_logs"]["group_name"]))
        source = project["source"] if isinstance(project["source"], dict) else project["source"][0]
        buildspec = source["buildspec"]
        if source["type"] == "CODEPIPELINE":  # the pipeline hands it artifacts; NO_SOURCE jobs get none
            b.s3_object(f"{name} reads its input", "codebuild-role", role, bucket, "shop-pipeline/source/abc.zip",
                        "s3:GetObject", "s3:PutObject")
            b.kms(f"{name} artifact key", "codebuild-role", role, "kms:GenerateDataKey", "kms:Decrypt")
        _git_mirror(b, role, name, s.value(buildspec))
        _activation(b, role, name, s.value(buildspec))
        for parameter in _buildspec_parameters(s.value(buildspec)):
            b.as_role(f"{name} reads {parameter}", "codebuild-role", role, "ssm:GetParameters",
                      s.arn("ssm", f"parameter{parameter}"))
        if "docker push" in buildspec:
            b.as_role(f"{name} logs in to ECR", "ecr-push", role, "ecr:GetAuthorizationToken", "*")
            for _, repo in s.items("aws_ecr_repository"):
                repo_name = s.value(repo["name"])
                if f"/{repo_name.split('/')[-1]}" not in s.value(str(project.get("environment", ""))) and \
                        repo_name.split("/")[-1] not in name:
                    continue
                for act in ("InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "PutImage",
                            "BatchCheckLayerAvailability", "BatchGetImage", "GetDownloadUrlForLayer"):
                    b.as_role(f"{name} pushes {repo_name}", "ecr-push", role, f"ecr:{act}",
                              s.arn("ecr", f"repository/{repo_name}"))


def _repo_arn(s: Stack, clone_url: str) -> Tuple[str, str]:
    """(region, repository ARN) of a CodeCommit HTTPS clone URL."""
    host, _, name = clone_url.split("://", 1)[1].partition("/v1/repos/")
    region = host.split(".")[1]
    return region, f"arn:aws:codecommit:{region}:{s.account}:{name}"


def _git_mirror(b: Builder, role: str, name: str, buildspec: str) -> None:
    """A buildspec that clones SOURCE_URL and pushes to TARGET_URLS (templates/buildspecs/mirror.yml.j2)."""
    import yaml
    variables = ((yaml.safe_load(buildspec) or {}).get("env") or {}).get("variables") or {}
    if "SOURCE_URL" not in variables:
        return
    s = b.stack
    region, source = _repo_arn(s, variables["SOURCE_URL"])
    b.as_role(f"{name} clones the repository", "codecommit-git", role, "codecommit:GitPull", source)
    b.kms(f"{name} reads the repository's objects", "codecommit-kms", role, "kms:Decrypt")
    for url in variables.get("TARGET_URLS", "").split():
        target_region, target = _repo_arn(s, url)
        b.as_role(f"{name} pushes to {target_region}", "codecommit-git", role, "codecommit:GitPush", target)
        # The DR key belongs to the DR stack; its policy has the same shape as this region's (stack/encryption.py).
        dr_key = s.key_arn().replace(f":{s.region}:", f":{target_region}:")
        policy = json.loads(json.dumps(s.key_policy()).replace(f":{s.region}:", f":{target_region}:"))
        for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"):
            b.as_role(f"{name} writes objects in {target_region}", "codecommit-kms", role, action, dr_key,
                      resource_policy=policy, kms_ViaService=f"codecommit.{target_region}.amazonaws.com",
                      kms_ResourceAliases=[f"alias/{s.project()}-pipeline"])


_ACTIVATE = re.compile(r'^\s*activate "([^"]+)" "([^"]+)" "([^"]+)" (\d+) (\d+)$', re.MULTILINE)


def _activation(b: Builder, role: str, name: str, buildspec: str) -> None:
    """The Activate job's calls per service (templates/buildspecs/activate.yml.j2): read the release marker,
    register the raised scalable target (Application Auto Scaling checks the caller may describe and update
    the service), wait on the service's desired count, write the marker."""
    s = b.stack
    targets = {s.value(t["resource_id"]): n for n, t in s.items("aws_appautoscaling_target")}
    for _stage, marker, resource_id, _low, _high in _ACTIVATE.findall(buildspec):
        parameter = s.arn("ssm", f"parameter{marker}")
        service = s.arn("ecs", resource_id)
        for action in ("ssm:GetParameter", "ssm:PutParameter"):
            b.as_role(f"{name} reads and sets {marker}", "activate", role, action, parameter)
        b.as_role(f"{name} raises {resource_id}", "activate", role, "application-autoscaling:RegisterScalableTarget",
                  s.attr("aws_appautoscaling_target", targets[resource_id], "arn"),
                  **{"application-autoscaling:service-namespace": "ecs",
                     "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount"})
        for action in ("ecs:DescribeServices", "ecs:UpdateService"):
            b.as_role(f"{name} raises {resource_id}", "activate", role, action, service)


def _buildspec_parameters(buildspec: str) -> List[str]:
    import yaml  # the toolchain's YAML parser; the buildspec is the rendered template
    spec = yaml.safe_load(buildspec) or {}
    return sorted(((spec.get("env") or {}).get("parameter-store") or {}).values())


# --- CodeDeploy ---------------------------------------------------------------------------------

def _codedeploy(b: Builder) -> None:
    s = b.stack
    for _, group in s.items("aws_codedeploy_deployment_group"):
        role = s.value(group["service_role_arn"])
        name = s.value(group["deployment_group_name"])
        b.assume(role, "codedeploy.amazonaws.com", name)
        cluster = s.value(group["ecs_service"]["cluster_name"])
        service = s.value(group["ecs_service"]["service_name"])
        for act in ("DescribeServices", "UpdateServicePrimaryTaskSet"):
            b.as_role(f"{name}: CodeDeploy drives the service", "codedeploy-ecs", role, f"ecs:{act}",
                      s.arn("ecs", f"service/{cluster}/{service}"))
        for act in ("CreateTaskSet", "DeleteTaskSet"):
            b.as_role(f"{name}: CodeDeploy creates/removes task sets", "codedeploy-ecs", role, f"ecs:{act}",
                      s.arn("ecs", f"task-set/{cluster}/{service}/ecs-svc/1234567890"))
        for act in ("DescribeTargetGroups", "DescribeListeners", "DescribeRules"):
            b.as_role(f"{name}: CodeDeploy reads the ALB", "codedeploy-ecs", role, f"elasticloadbalancing:{act}", "*")
        routes = group["load_balancer_info"]["target_group_pair_info"]
        listeners = [s.value(a) for route in ("prod_traffic_route", "test_traffic_route")
                     for a in routes[route]["listener_arns"]]
        for listener in listeners:
            b.as_role(f"{name}: CodeDeploy shifts the listener", "codedeploy-ecs", role,
                      "elasticloadbalancing:ModifyListener", listener)
            for rule_name, rule in s.items("aws_lb_listener_rule"):
                if s.value(rule["listener_arn"]) == listener:
                    b.as_role(f"{name}: CodeDeploy shifts the listener's rules", "codedeploy-ecs", role,
                              "elasticloadbalancing:ModifyRule", s.attr("aws_lb_listener_rule", rule_name, "arn"))
        b.as_role(f"{name}: CodeDeploy polls the rollback alarms", "codedeploy-ecs", role, "cloudwatch:DescribeAlarms",
                  any_alarm(s))
        function = health_function(s)  # the AppSpec hook; the probe is the hook's to invoke, not CodeDeploy's
        b.as_role(f"{name}: CodeDeploy invokes the hook", "hook", role, "lambda:InvokeFunction",
                  s.arn("lambda", f"function:{s.value(function['function_name'])}"))
        for trigger in group.get("trigger_configuration") or []:
            b.publish(f"{name}: CodeDeploy trigger {trigger['trigger_name']}", "codedeploy-ecs",
                      s.value(trigger["trigger_target_arn"]), role_arn=role)
        taskdef = _taskdef_for(s, service)
        for key in ("execution_role_arn", "task_role_arn"):
            b.as_role(f"{name}: CodeDeploy passes the task's roles", "codedeploy-ecs", role, "iam:PassRole",
                      s.value(taskdef[key]), iam_PassedToService="ecs-tasks.amazonaws.com")


# --- ECS tasks ----------------------------------------------------------------------------------

def _tasks(b: Builder) -> None:
    s = b.stack
    for _, taskdef in s.items("aws_ecs_task_definition"):
        family = taskdef["family"]
        for key in ("execution_role_arn", "task_role_arn"):
            b.assume(s.value(taskdef[key]), "ecs-tasks.amazonaws.com", family)
        role = s.value(taskdef["execution_role_arn"])
        b.as_role(f"{family}: ECS gets an ECR token", "exec-role", role, "ecr:GetAuthorizationToken", "*")
        for container in json.loads(s.value(taskdef["container_definitions"])):
            repo = container["image"].split("/", 1)[1].rsplit(":", 1)[0]
            for act in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage"):
                b.as_role(f"{family}: ECS pulls the image", "exec-role", role, f"ecr:{act}",
                          s.arn("ecr", f"repository/{repo}"))
            logs = (container.get("logConfiguration") or {}).get("options") or {}
            if logs.get("awslogs-group"):
                b.log_stream(f"{family}: the awslogs driver writes", "exec-role", role, logs["awslogs-group"])
            for secret in container.get("secrets") or []:
                b.as_role(f"{family}: ECS injects {secret['name']}", "ssm-secrets", role, "ssm:GetParameters",
                          secret["valueFrom"])
            if container.get("secrets"):
                b.kms(f"{family}: SecureString key", "ssm-secrets", role, "kms:Decrypt")


# --- the health Lambda --------------------------------------------------------------------------

def handler_calls(directory: Path = LAMBDA_DIR) -> Set[Tuple[str, str]]:
    """(service, operation) of every hc_aws.call / hc_aws.paginate in the function's code."""
    calls: Set[Tuple[str, str]] = set()
    for path in sorted(directory.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("call", "paginate") and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "hc_aws" and len(node.args) >= 2
                    and all(isinstance(a, ast.Constant) for a in node.args[:2])):
                calls.add((node.args[0].value, node.args[1].value))
    return calls


def any_alarm(s: Stack) -> str:
    """An alarm of any name: what a DescribeAlarms that may return composite alarms must be allowed on.

    The API reference requires the permission on "*" for composite results. Asked with the resource
    "*", the engine answers whether *some* grant matches; an alarm named outside every prefix the
    stack uses is matched only by a grant on every alarm, which is AWS's rule.
    """
    return s.arn("cloudwatch", "alarm:any-composite-alarm-in-the-account")


def health_function(s: Stack) -> Dict[str, Any]:
    """The hook function: the one whose environment names the CodeDeploy application (the other one,
    the pre-traffic test probe, calls no AWS API)."""
    (function,) = [f for _, f in s.items("aws_lambda_function")
                   if "CODEDEPLOY_APPLICATION" in ((f.get("environment") or {}).get("variables") or {})]
    return function


def lambda_requests(s: Stack, group: Dict[str, Any]) -> Dict[Tuple[str, str], List[Tuple[str, str]]]:
    """(service, operation) -> the (action, resource) AWS authorizes, for one deployment group.

    Resources follow the Service Authorization Reference and the parameters the handler sends:
    DescribeAlarms asks for composite alarms too, which AWS authorizes only on "*" (any_alarm).
    """
    app, name = s.value(group["app_name"]), s.value(group["deployment_group_name"])
    group_arn = s.arn("codedeploy", f"deploymentgroup:{app}/{name}")
    service = s.arn("ecs", f"service/{s.value(group['ecs_service']['cluster_name'])}/"
                           f"{s.value(group['ecs_service']['service_name'])}")
    function = health_function(s)
    variables = function["environment"]["variables"]
    topic = s.value(variables["NOTIFICATION_TOPIC_ARN"])
    # the group's service's repository (ECR repositories are `<project>/<service>`, cicd/workspace/naming.py)
    repository = s.arn("ecr", f"repository/{s.value(variables['PROJECT_NAME'])}/{s.value(group['tags']['service'])}")
    probe = s.arn("lambda", f"function:{s.value(variables['PROBE_FUNCTION'])}")
    return {
        ("codedeploy", "get_deployment"): [("codedeploy:GetDeployment", group_arn)],
        ("codedeploy", "get_deployment_group"): [("codedeploy:GetDeploymentGroup", group_arn)],
        ("codedeploy", "list_deployment_groups"): [("codedeploy:ListDeploymentGroups",
                                                    s.arn("codedeploy", f"application:{app}"))],
        ("codedeploy", "list_deployments"): [("codedeploy:ListDeployments", group_arn)],
        ("codedeploy", "stop_deployment"): [("codedeploy:StopDeployment", "*")],
        ("codedeploy", "put_lifecycle_event_hook_execution_status"):
            [("codedeploy:PutLifecycleEventHookExecutionStatus", "*")],
        ("cloudwatch", "describe_alarms"): [("cloudwatch:DescribeAlarms", any_alarm(s))],
        ("elbv2", "describe_target_groups"): [("elasticloadbalancing:DescribeTargetGroups", "*")],
        ("elbv2", "describe_target_health"): [("elasticloadbalancing:DescribeTargetHealth", "*")],
        ("ecs", "describe_services"): [("ecs:DescribeServices", service)],
        # release images protected from expiry (hc_release): DescribeTaskDefinition has no resource type
        ("ecs", "describe_task_definition"): [("ecs:DescribeTaskDefinition", "*")],
        ("ecr", "batch_get_image"): [("ecr:BatchGetImage", repository)],
        ("ecr", "put_image"): [("ecr:PutImage", repository)],
        # the pre-traffic test (hc_remote): the ALB nodes' addresses (no resource type), the probe function
        ("ec2", "describe_network_interfaces"): [("ec2:DescribeNetworkInterfaces", "*")],
        ("lambda", "invoke"): [("lambda:InvokeFunction", probe)],
        ("sns", "publish"): [("sns:Publish", topic), ("kms:GenerateDataKey", s.key_arn()),
                             ("kms:Decrypt", s.key_arn())],
    }


def _health_lambda(b: Builder) -> None:
    s = b.stack
    for _, function in s.items("aws_lambda_function"):
        role = s.value(function["role"])
        fname = s.value(function["function_name"])
        b.assume(role, "lambda.amazonaws.com", fname)
        b.log_stream(f"{fname} writes its log", "lambda-role", role, f"/aws/lambda/{fname}")
        dlq = (function.get("dead_letter_config") or {}).get("target_arn")
        if dlq:
            b.as_role(f"{fname}: Lambda sends a failed event to the DLQ", "lambda-dlq", role, "sqs:SendMessage",
                      s.value(dlq))
            b.kms(f"{fname}: DLQ key", "lambda-dlq", role, "kms:GenerateDataKey")
        if function is not health_function(s):
            continue  # the probe runs no AWS call of its own
        calls = handler_calls()
        for _, group in s.items("aws_codedeploy_deployment_group"):
            requests = lambda_requests(s, group)
            for call in sorted(calls):
                for action, resource in requests.get(call, [("<not in the catalogue>", "*")]):
                    policy = s.topic_policy(resource) if action == "sns:Publish" else (
                        s.key_policy() if action.startswith("kms:") else None)
                    b.as_role(f"{fname} handler {call[0]}.{call[1]} ({s.value(group['deployment_group_name'])})",
                              "hook", role, action, resource, resource_policy=policy)


# --- EventBridge, alarms, SNS -> Lambda ---------------------------------------------------------

def _events_and_alarms(b: Builder) -> None:
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


# --- log delivery by AWS services ---------------------------------------------------------------

def _log_delivery(b: Builder) -> None:
    s = b.stack
    for lb_name, lb in s.items("aws_lb"):
        logs = lb.get("access_logs") or {}
        if not logs.get("enabled"):
            continue
        bucket, prefix = s.value(logs["bucket"]), s.value(logs.get("prefix", ""))
        base = f"{prefix}/AWSLogs/{s.account}" if prefix else f"AWSLogs/{s.account}"
        suffix = s.attr("aws_lb", lb_name, "arn_suffix").replace("/", ".")
        keys = [f"{base}/ELBAccessLogTestFile",
                f"{base}/elasticloadbalancing/{s.region}/2026/11/29/{s.account}_elasticloadbalancing_{s.region}_"
                f"{suffix}_20261129T0000Z_10.0.0.1_abc.log.gz"]
        principals = ["logdelivery.elasticloadbalancing.amazonaws.com"]
        if has_elb_account(s.region):  # regions older than August 2022 deliver as ELB's own account
            principals.append(f"arn:aws:iam::{elb_account(s.region)}:root")
        for principal in principals:
            for key in keys:
                allow_sender = ({"name": "elb", "policy": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}}
                    if principal.startswith("arn:") else None)  # ELB's account permits its own writer
                b.add(f"ALB {s.value(lb['name'])} delivers access logs as {principal}", "alb-logs", principal,
                      "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", identity=allow_sender and allow_sender["policy"],
                      resource_policy=s.bucket_policy(bucket), aws_SecureTransport="true")
    for _, logging in s.items("aws_s3_bucket_logging"):
        source, target = s.value(logging["bucket"]), s.value(logging["target_bucket"])
        key = f"{s.value(logging.get('target_prefix', ''))}2026-11-29-00-00-00-ABCDEF0123456789"
        b.add(f"S3 delivers {source}'s access logs", "s3-logs", "logging.s3.amazonaws.com", "s3:PutObject",
              f"arn:aws:s3:::{target}/{key}", resource_policy=s.bucket_policy(target), aws_SecureTransport="true",
              aws_SourceAccount=s.account, aws_SourceArn=f"arn:aws:s3:::{source}")
    for _, waf in s.items("aws_wafv2_web_acl_logging_configuration"):
        for destination in waf["log_destination_configs"]:
            group = s.value(destination).split(":log-group:", 1)[1].rstrip(":*")
            stream = s.arn("logs", f"log-group:{group}:log-stream:us-east-1_shop-alb_0")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                b.add(f"WAF delivers logs to {group}", "waf-logs", "delivery.logs.amazonaws.com", action, stream,
                      resource_policy=_merged(s.log_resource_policies()), aws_SourceAccount=s.account,
                      aws_SourceArn=s.arn("logs", "*"))
    for _, flow_log in s.items("aws_flow_log"):
        role = s.value(flow_log["iam_role_arn"])
        group_arn = s.value(flow_log["log_destination"])
        b.assume(role, "vpc-flow-logs.amazonaws.com", "flow logs")
        b.log_stream("flow logs deliver", "flow-logs", role, group_arn.split(":log-group:", 1)[1])
        b.as_role("flow logs check the group", "flow-logs", role, "logs:DescribeLogGroups", "*")
        b.as_role("flow logs check the streams", "flow-logs", role, "logs:DescribeLogStreams", group_arn)


def _merged(policies: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [st for p in policies for st in p.get("Statement", [])]}


def _log_encryption(b: Builder) -> None:
    s = b.stack
    for _, group in s.items("aws_cloudwatch_log_group"):
        if not group.get("kms_key_id"):
            continue
        arn = s.arn("logs", f"log-group:{s.value(group['name'])}")
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            b.add(f"CloudWatch Logs encrypts {s.value(group['name'])}", "logs-kms",
                  f"logs.{s.region}.amazonaws.com", action, s.key_arn(), resource_policy=s.key_policy(),
                  **{"kms:EncryptionContext:aws:logs:arn": arn})
