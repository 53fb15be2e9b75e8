"""The CodeDeploy patches, exercised through boto3 against the running emulator.

The patches are in cicd/moto_patches/codedeploy.py.
Every test's docstring names the moto 5.2.5 gap the patch closes; test_gaps.py shows the same gaps on an
unpatched moto server.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from cicd import moto_patches

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


def test_codedeploy_hook_status_and_stop(aws) -> None:
    """Gap: PutLifecycleEventHookExecutionStatus and StopDeployment are not implemented (a hook Lambda
    cannot report; an alarm-driven stop cannot happen)."""
    cd, app, group = _deployment_group(aws)

    def deploy() -> str:
        return cd.create_deployment(
            applicationName=app,
            deploymentGroupName=group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}},
        )["deploymentId"]

    first = deploy()
    out = cd.put_lifecycle_event_hook_execution_status(
        deploymentId=first, lifecycleEventHookExecutionId="hook-1", status="Succeeded"
    )
    assert out["lifecycleEventHookExecutionId"] == "hook-1"
    assert moto_patches.hook_status(first, "hook-1") == "Succeeded"
    assert moto_patches.hook_status(first, "hook-2") is None
    assert moto_patches.hook_status("d-unknown", "hook-1") is None
    for kwargs, code in [
        ({"deploymentId": first, "lifecycleEventHookExecutionId": "hook-1", "status": "Failed"},
         "LifecycleEventAlreadyCompletedException"),
        ({"deploymentId": first, "lifecycleEventHookExecutionId": "hook-3", "status": "InProgress"},
         "InvalidLifecycleEventHookExecutionStatusException"),
        ({"deploymentId": "d-NOPE", "lifecycleEventHookExecutionId": "hook-1", "status": "Failed"},
         "DeploymentDoesNotExistException"),
    ]:
        with pytest.raises(ClientError) as exc:
            cd.put_lifecycle_event_hook_execution_status(**kwargs)
        assert error_code(exc) == code, kwargs

    second = deploy()
    listed = cd.list_deployments(applicationName=app, deploymentGroupName=group,
                                 includeOnlyStatuses=["Created", "Queued", "Ready", "InProgress"])["deployments"]
    assert set(listed) == {first, second}
    assert cd.stop_deployment(deploymentId=second, autoRollbackEnabled=True)["status"] == "Succeeded"
    assert cd.get_deployment(deploymentId=second)["deploymentInfo"]["status"] == "Stopped"
    with pytest.raises(ClientError) as exc:
        cd.stop_deployment(deploymentId=second)
    assert error_code(exc) == "DeploymentAlreadyCompletedException"
    with pytest.raises(ClientError) as exc:
        cd.stop_deployment(deploymentId="d-NOPE")
    assert error_code(exc) == "DeploymentDoesNotExistException"
