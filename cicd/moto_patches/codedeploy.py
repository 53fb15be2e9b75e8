"""CodeDeploy: alarm configuration read back, UpdateDeploymentGroup and the deletes, lifecycle hook status
and StopDeployment (plus ``hook_status()`` to read a reported status back)."""

from __future__ import annotations

from typing import Any, Dict

from ._registry import _add, _patch, _replace, _utcnow


@_patch("codedeploy_alarm_configuration")
def _codedeploy_alarm_configuration() -> None:
    # moto 5.2.5, CodeDeploy, GetDeploymentGroup: answers `"alarmConfiguration": {}` (a TODO) although
    # CreateDeploymentGroup stored the one it was given, so every re-plan shows drift on alarm_configuration.
    # AWS returns the stored configuration (enabled, ignorePollAlarmFailure, alarms).
    from moto.codedeploy import responses

    original = responses._deployment_group_info

    def _deployment_group_info(deployment_group: Any) -> Dict[str, Any]:
        info = original(deployment_group)
        config = deployment_group.alarm_configuration
        if config:
            if not isinstance(config, dict):  # moto's AlarmConfiguration model
                config = {
                    "enabled": config.enabled,
                    "ignorePollAlarmFailure": config.ignore_poll_alarm_failure,
                    "alarms": config.alarms,
                }
            info["alarmConfiguration"] = {
                "enabled": bool(config.get("enabled", False)),
                "ignorePollAlarmFailure": bool(config.get("ignorePollAlarmFailure", False)),
                "alarms": list(config.get("alarms") or []),
            }
        return info

    _replace("codedeploy_alarm_configuration", responses, "_deployment_group_info", _deployment_group_info)


# UpdateDeploymentGroup request member -> DeploymentGroup attribute
_DG_FIELDS = {
    "deploymentConfigName": "deployment_config_name",
    "ec2TagFilters": "ec2_tag_filters",
    "onPremisesInstanceTagFilters": "on_premises_instance_tag_filters",
    "autoScalingGroups": "auto_scaling_groups",
    "serviceRoleArn": "service_role_arn",
    "triggerConfigurations": "trigger_configurations",
    "alarmConfiguration": "alarm_configuration",
    "autoRollbackConfiguration": "auto_rollback_configuration",
    "outdatedInstancesStrategy": "outdated_instances_strategy",
    "deploymentStyle": "deployment_style",
    "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
    "loadBalancerInfo": "load_balancer_info",
    "ec2TagSet": "ec2_tag_set",
    "ecsServices": "ecs_services",
    "onPremisesTagSet": "on_premises_tag_set",
    "terminationHookEnabled": "termination_hook_enabled",
}


@_patch("codedeploy_update_delete")
def _codedeploy_update_delete() -> None:
    # moto 5.2.5, CodeDeploy: UpdateDeploymentGroup, DeleteDeploymentGroup and DeleteApplication are not
    # implemented, so any in-place change to a deployment group and every destroy fail. AWS: Update changes
    # only the members given (and can rename the group); both deletes succeed and answer
    # {"hooksNotCleanedUp": []} (groups) / {} (application, which also removes its groups).
    from moto.codedeploy import responses
    from moto.codedeploy.exceptions import (
        ApplicationNameRequiredException,
        DeploymentGroupAlreadyExistsException,
        DeploymentGroupNameRequiredException,
    )
    from moto.core.responses import ActionResult, EmptyResult

    cls = responses.CodeDeployResponse

    def _move_tags(backend: Any, old_arn: str, new_arn: str) -> None:
        tags = backend.tagger.list_tags_for_resource(old_arn)["Tags"]
        backend.tagger.delete_all_tags_for_resource(old_arn)
        if tags:
            backend.tagger.tag_resource(new_arn, tags)

    def update_deployment_group(self: Any) -> ActionResult:
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        current = self._get_param("currentDeploymentGroupName")
        if not app_name:
            raise ApplicationNameRequiredException("The application name must be specified.")
        if not current:
            raise DeploymentGroupNameRequiredException("The deployment group name must be specified.")
        # raises ApplicationDoesNotExistException / DeploymentGroupDoesNotExistException, as AWS does
        group = backend.get_deployment_group(app_name, current)
        new_name = self._get_param("newDeploymentGroupName")
        groups = backend.deployment_groups[app_name]
        if new_name and new_name != current:
            if new_name in groups:
                raise DeploymentGroupAlreadyExistsException(f"Deployment group {new_name} already exists.")
            groups[new_name] = groups.pop(current)
            group.deployment_group_name = new_name
            _move_tags(
                backend,
                backend._deployment_group_arn(app_name, current),
                backend._deployment_group_arn(app_name, new_name),
            )
        for member, attr in _DG_FIELDS.items():
            value = self._get_param(member)
            if value is not None:
                setattr(group, attr, value)
        return ActionResult({"hooksNotCleanedUp": []})

    def delete_deployment_group(self: Any) -> ActionResult:
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        name = self._get_param("deploymentGroupName")
        if not app_name:
            raise ApplicationNameRequiredException("The application name must be specified.")
        if not name:
            raise DeploymentGroupNameRequiredException("The deployment group name must be specified.")
        if backend.deployment_groups.get(app_name, {}).pop(name, None) is not None:
            backend.tagger.delete_all_tags_for_resource(backend._deployment_group_arn(app_name, name))
        return ActionResult({"hooksNotCleanedUp": []})

    def delete_application(self: Any) -> EmptyResult:
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        if not app_name:
            raise ApplicationNameRequiredException("The application name must be specified.")
        for group_name in backend.deployment_groups.pop(app_name, {}):
            backend.tagger.delete_all_tags_for_resource(backend._deployment_group_arn(app_name, group_name))
        if backend.applications.pop(app_name, None) is not None:
            backend.tagger.delete_all_tags_for_resource(backend._application_arn(app_name))
        return EmptyResult()

    patch = "codedeploy_update_delete"
    _add(patch, cls, "update_deployment_group", update_deployment_group)
    _add(patch, cls, "delete_deployment_group", delete_deployment_group)
    _add(patch, cls, "delete_application", delete_application)


_HOOK_STATUSES = ("Succeeded", "Failed")  # what AWS accepts from a lifecycle hook
_COMPLETED_DEPLOYMENT = ("Succeeded", "Failed", "Stopped")


@_patch("codedeploy_hook_status_and_stop")
def _codedeploy_hook_status_and_stop() -> None:
    # moto 5.2.5, CodeDeploy: PutLifecycleEventHookExecutionStatus and StopDeployment are not implemented
    # (HTTP 500), so a blue/green hook Lambda cannot report and an alarm-driven stop cannot happen. AWS:
    # PutLifecycleEventHookExecutionStatus takes Succeeded or Failed for an existing deployment (once per
    # hook execution: LifecycleEventAlreadyCompletedException after that) and answers the hook execution
    # id; StopDeployment stops a deployment that is not complete yet (DeploymentAlreadyCompletedException
    # otherwise). Limitation: moto runs no deployments, so it issues no hook execution ids; any id is taken
    # for an existing deployment, and hook_status() below reads back what was reported.
    from moto.codedeploy import responses
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult

    cls = responses.CodeDeployResponse

    def _deployment(self: Any) -> Any:
        deployment_id = self._get_param("deploymentId")
        if not deployment_id:
            raise JsonRESTError("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
        return self.codedeploy_backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException

    def put_lifecycle_event_hook_execution_status(self: Any) -> ActionResult:
        deployment = _deployment(self)
        hook_id = self._get_param("lifecycleEventHookExecutionId")
        status = self._get_param("status")
        if not hook_id:
            raise JsonRESTError(
                "InvalidLifecycleEventHookExecutionIdException", "A lifecycle event hook execution ID is required."
            )
        if status not in _HOOK_STATUSES:
            raise JsonRESTError(
                "InvalidLifecycleEventHookExecutionStatusException",
                f"The status {status!r} is not valid: a lifecycle hook reports Succeeded or Failed.",
            )
        reported = deployment.__dict__.setdefault("_cicd_hook_statuses", {})
        if hook_id in reported:
            raise JsonRESTError(
                "LifecycleEventAlreadyCompletedException",
                f"The lifecycle event hook execution {hook_id} is already complete ({reported[hook_id]}).",
            )
        reported[hook_id] = status
        return ActionResult({"lifecycleEventHookExecutionId": hook_id})

    def stop_deployment(self: Any) -> ActionResult:
        deployment = _deployment(self)
        if deployment.status in _COMPLETED_DEPLOYMENT:
            raise JsonRESTError(
                "DeploymentAlreadyCompletedException",
                f"The deployment {deployment.deployment_id} is already completed ({deployment.status}).",
            )
        deployment.status = "Stopped"
        deployment.complete_time = _utcnow()
        deployment._cicd_stop_auto_rollback = bool(self._get_param("autoRollbackEnabled"))
        return ActionResult({"status": "Succeeded", "statusMessage": "Deployment stopped"})

    patch = "codedeploy_hook_status_and_stop"
    _add(patch, cls, "put_lifecycle_event_hook_execution_status", put_lifecycle_event_hook_execution_status)
    _add(patch, cls, "stop_deployment", stop_deployment)


def hook_status(deployment_id: str, hook_execution_id: str) -> str | None:
    """The status a lifecycle hook reported (PutLifecycleEventHookExecutionStatus) for a deployment of an
    in-process emulator, or None. (moto keeps its state in this process: a CLI emulator's is elsewhere.)"""
    from moto.codedeploy.models import codedeploy_backends

    for regions in list(codedeploy_backends.values()):
        for backend in list(regions.values()):
            deployment = backend.deployments.get(deployment_id)
            if deployment is not None:
                return getattr(deployment, "_cicd_hook_statuses", {}).get(hook_execution_id)
    return None
