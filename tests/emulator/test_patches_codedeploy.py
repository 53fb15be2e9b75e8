"""The CodeDeploy patches, exercised through boto3 against the running emulator.

The patches are in cicd/emulator/moto_patches/codedeploy.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from cicd.emulator import moto_patches

from .helpers import error_code, make_role, trust_policy, unique


_ALARMS = {"enabled": True, "ignorePollAlarmFailure": False, "alarms": [{"name": "svc-5xx"}]}


def _deployment_group(aws, **extra):
    cd = aws("codedeploy")
    role = make_role(aws("iam"), unique("cd"), trust_policy("codedeploy.amazonaws.com"))
    app = unique("app")
    cd.create_application(applicationName=app, computePlatform="ECS")
    group = unique("dg")
    cd.create_deployment_group(
        applicationName=app,
        deploymentGroupName=group,
        serviceRoleArn=role,
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        ecsServices=[{"serviceName": "web", "clusterName": "main"}],
        **extra,
    )
    return cd, app, group


def test_codedeploy_alarm_configuration(aws) -> None:
    """Gap: GetDeploymentGroup answers an empty alarmConfiguration although CreateDeploymentGroup stored
    one, so every re-plan shows drift on alarm_configuration."""
    cd, app, group = _deployment_group(aws, alarmConfiguration=_ALARMS)
    info = cd.get_deployment_group(applicationName=app, deploymentGroupName=group)["deploymentGroupInfo"]
    assert info["alarmConfiguration"] == _ALARMS
    # a group created without alarms keeps moto's (empty) answer
    cd2, app2, group2 = _deployment_group(aws)
    info = cd2.get_deployment_group(applicationName=app2, deploymentGroupName=group2)["deploymentGroupInfo"]
    assert not info["alarmConfiguration"].get("alarms")


def test_codedeploy_update_delete(aws) -> None:
    """Gap: UpdateDeploymentGroup, DeleteDeploymentGroup and DeleteApplication are not implemented (no
    in-place change, and every destroy fails)."""
    cd, app, group = _deployment_group(aws, alarmConfiguration=_ALARMS, tags=[{"Key": "t", "Value": "1"}])
    arn = f"arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:{app}/{group}"
    new_alarms = {"enabled": True, "ignorePollAlarmFailure": True, "alarms": [{"name": "a"}, {"name": "b"}]}
    out = cd.update_deployment_group(
        applicationName=app,
        currentDeploymentGroupName=group,
        alarmConfiguration=new_alarms,
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
        deploymentConfigName="CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
    )
    assert out["hooksNotCleanedUp"] == []
    info = cd.get_deployment_group(applicationName=app, deploymentGroupName=group)["deploymentGroupInfo"]
    assert info["alarmConfiguration"] == new_alarms
    assert info["autoRollbackConfiguration"]["events"] == ["DEPLOYMENT_FAILURE"]
    assert info["deploymentConfigName"] == "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
    assert info["deploymentStyle"]["deploymentType"] == "BLUE_GREEN"  # untouched members stay

    renamed = unique("dg")
    cd.update_deployment_group(applicationName=app, currentDeploymentGroupName=group, newDeploymentGroupName=renamed)
    assert cd.get_deployment_group(applicationName=app, deploymentGroupName=renamed)["deploymentGroupInfo"][
        "deploymentGroupId"
    ] == info["deploymentGroupId"]
    assert cd.list_tags_for_resource(ResourceArn=arn.replace(group, renamed))["Tags"] == [{"Key": "t", "Value": "1"}]
    with pytest.raises(ClientError) as exc:
        cd.get_deployment_group(applicationName=app, deploymentGroupName=group)
    assert error_code(exc) == "DeploymentGroupDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cd.update_deployment_group(applicationName=app, currentDeploymentGroupName=group)
    assert error_code(exc) == "DeploymentGroupDoesNotExistException"

    assert cd.delete_deployment_group(applicationName=app, deploymentGroupName=renamed)["hooksNotCleanedUp"] == []
    with pytest.raises(ClientError) as exc:
        cd.get_deployment_group(applicationName=app, deploymentGroupName=renamed)
    assert error_code(exc) == "DeploymentGroupDoesNotExistException"
    assert cd.list_deployment_groups(applicationName=app)["deploymentGroups"] == []

    # DeleteApplication removes the application and any groups left in it
    cd.create_deployment_group(
        applicationName=app,
        deploymentGroupName=group,
        serviceRoleArn=info["serviceRoleArn"],
    )
    cd.delete_application(applicationName=app)
    with pytest.raises(ClientError) as exc:
        cd.get_application(applicationName=app)
    assert error_code(exc) == "ApplicationDoesNotExistException"
    assert app not in cd.list_applications()["applications"]
    # deletes are idempotent on AWS (no *DoesNotExist error is documented for them)
    cd.delete_application(applicationName=app)
    cd.delete_deployment_group(applicationName=app, deploymentGroupName=group)


_HOOKED = ('{"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service"}}], '
           '"Hooks": [{"AfterAllowTestTraffic": "arn:aws:lambda:eu-west-1:123456789012:function:hook"}]}')


def test_codedeploy_hook_status_and_stop(aws, emulator) -> None:
    """Gap: PutLifecycleEventHookExecutionStatus and StopDeployment are not implemented (a hook Lambda
    cannot report; an alarm-driven stop cannot happen). The patch answers as AWS does: only hook execution
    ids CodeDeploy issued for the deployment (one per AppSpec hook), only ECS/Lambda deployments, once per
    execution, never after the deployment finished; a Failed hook fails the deployment and rolls it back."""
    cd, app, group = _deployment_group(aws)

    def deploy(content: str = _HOOKED, application: str = app, deployment_group: str = group) -> str:
        return cd.create_deployment(
            applicationName=application,
            deploymentGroupName=deployment_group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
        )["deploymentId"]

    def put_error(**kwargs) -> str:
        with pytest.raises(ClientError) as exc:
            cd.put_lifecycle_event_hook_execution_status(**kwargs)
        return error_code(exc)

    first = deploy()
    executions = emulator.hook_executions(first)
    assert set(executions["executions"]) == {"AfterAllowTestTraffic"} and executions["rolledBack"] is False
    hook = executions["executions"]["AfterAllowTestTraffic"]
    assert moto_patches.hook_executions(first) == {"AfterAllowTestTraffic": hook}
    assert put_error(deploymentId=first, lifecycleEventHookExecutionId="hook-1",
                     status="Succeeded") == "InvalidLifecycleEventHookExecutionIdException"
    assert put_error(deploymentId=first, lifecycleEventHookExecutionId=hook,
                     status="InProgress") == "InvalidLifecycleEventHookExecutionStatusException"
    assert put_error(deploymentId="d-NOPE", lifecycleEventHookExecutionId=hook,
                     status="Failed") == "DeploymentDoesNotExistException"
    out = cd.put_lifecycle_event_hook_execution_status(
        deploymentId=first, lifecycleEventHookExecutionId=hook, status="Succeeded")
    assert out["lifecycleEventHookExecutionId"] == hook
    assert moto_patches.hook_status(first, hook) == "Succeeded"
    assert moto_patches.hook_status(first, "hook-2") is None
    assert moto_patches.hook_status("d-unknown", hook) is None
    assert put_error(deploymentId=first, lifecycleEventHookExecutionId=hook,
                     status="Failed") == "LifecycleEventAlreadyCompletedException"
    # another deployment's id is not this one's
    other = deploy()
    other_hook = moto_patches.hook_executions(other)["AfterAllowTestTraffic"]
    assert other_hook != hook
    assert put_error(deploymentId=first, lifecycleEventHookExecutionId=other_hook,
                     status="Failed") == "InvalidLifecycleEventHookExecutionIdException"
    # a Failed hook fails the deployment, rolled back (the group's auto-rollback covers DEPLOYMENT_FAILURE)
    cd.put_lifecycle_event_hook_execution_status(
        deploymentId=other, lifecycleEventHookExecutionId=other_hook, status="Failed")
    assert cd.get_deployment(deploymentId=other)["deploymentInfo"]["status"] == "Failed"
    assert emulator.hook_executions(other)["rolledBack"] is True
    # a finished deployment takes no status; a deployment without hooks has no execution
    stopped = deploy()
    cd.stop_deployment(deploymentId=stopped, autoRollbackEnabled=True)
    assert put_error(deploymentId=stopped, lifecycleEventHookExecutionId=moto_patches.hook_executions(stopped)[
        "AfterAllowTestTraffic"], status="Succeeded") == "LifecycleEventAlreadyCompletedException"
    bare = deploy("version: 0.0")
    assert moto_patches.hook_executions(bare) == {}
    # only Lambda and ECS deployments have lifecycle hooks
    server_app = unique("srv")
    cd.create_application(applicationName=server_app, computePlatform="Server")
    cd.create_deployment_group(applicationName=server_app, deploymentGroupName="g",
                               serviceRoleArn="arn:aws:iam::123456789012:role/cd")
    server = deploy(application=server_app, deployment_group="g")
    assert moto_patches.hook_executions(server) == {}
    assert put_error(deploymentId=server, lifecycleEventHookExecutionId="any",
                     status="Succeeded") == "UnsupportedActionForDeploymentTypeException"

    second = deploy()
    listed = cd.list_deployments(applicationName=app, deploymentGroupName=group,
                                 includeOnlyStatuses=["Created", "Queued", "Ready", "InProgress"])["deployments"]
    assert {first, second} <= set(listed) and stopped not in listed and other not in listed
    assert cd.stop_deployment(deploymentId=second, autoRollbackEnabled=True)["status"] == "Succeeded"
    assert cd.get_deployment(deploymentId=second)["deploymentInfo"]["status"] == "Stopped"
    with pytest.raises(ClientError) as exc:
        cd.stop_deployment(deploymentId=second)
    assert error_code(exc) == "DeploymentAlreadyCompletedException"
    with pytest.raises(ClientError) as exc:
        cd.stop_deployment(deploymentId="d-NOPE")
    assert error_code(exc) == "DeploymentDoesNotExistException"
