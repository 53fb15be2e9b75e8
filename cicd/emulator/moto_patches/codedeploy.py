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
_HOOK_PLATFORMS = ("ECS", "Lambda")  # PutLifecycleEventHookExecutionStatus: Lambda and ECS deployments only


def _appspec_hooks(revision: Any) -> list:
    """The lifecycle events an AppSpecContent revision's `Hooks` section names (YAML or JSON), in order."""
    import yaml

    content = (((revision or {}).get("appSpecContent") or {}).get("content")) or ""
    try:
        spec = yaml.safe_load(content)
    except yaml.YAMLError:
        return []
    hooks = spec.get("Hooks") if isinstance(spec, dict) else None
    return [event for hook in hooks or [] if isinstance(hook, dict) for event in hook]


@_patch("codedeploy_hook_status_and_stop")
def _codedeploy_hook_status_and_stop() -> None:
    # moto 5.2.5, CodeDeploy: PutLifecycleEventHookExecutionStatus and StopDeployment are not implemented
    # (HTTP 500), so a blue/green hook Lambda cannot report and an alarm-driven stop cannot happen.
    # AWS, PutLifecycleEventHookExecutionStatus: only for deployments of the Lambda and ECS compute platforms
    # (UnsupportedActionForDeploymentTypeException otherwise); the hook execution id must be one CodeDeploy
    # issued for that deployment when it invoked a hook of the AppSpec (InvalidLifecycleEventHookExecutionId
    # Exception otherwise); Succeeded or Failed only; once per hook execution and never after the deployment
    # finished (LifecycleEventAlreadyCompletedException); a Failed hook fails the deployment, which rolls back
    # when the group's auto-rollback covers DEPLOYMENT_FAILURE. moto runs no deployment, so this patch issues
    # the ids as CodeDeploy would: one hook execution per AppSpec hook, recorded when the deployment is created
    # (read with hook_executions(), or the emulator's INSPECT_HOOK_EXECUTIONS path, by whoever stands in for
    # CodeDeploy invoking the hook). StopDeployment stops a deployment that is not complete yet
    # (DeploymentAlreadyCompletedException otherwise).
    import uuid

    from moto.codedeploy import models, responses
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult

    cls = responses.CodeDeployResponse
    backend_cls = models.CodeDeployBackend
    original_create = backend_cls.create_deployment

    def create_deployment(self: Any, application_name: str, deployment_group_name: str, revision: Any,
                          *args: Any, **kwargs: Any) -> str:
        deployment_id = original_create(self, application_name, deployment_group_name, revision, *args, **kwargs)
        deployment = self.deployments[deployment_id]
        if deployment.application.compute_platform in _HOOK_PLATFORMS:
            deployment._cicd_hook_executions = {str(uuid.uuid4()): event for event in _appspec_hooks(revision)}
        return deployment_id

    def _deployment(self: Any) -> Any:
        deployment_id = self._get_param("deploymentId")
        if not deployment_id:
            raise JsonRESTError("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
        return self.codedeploy_backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException

    def put_lifecycle_event_hook_execution_status(self: Any) -> ActionResult:
        deployment = _deployment(self)
        hook_id = self._get_param("lifecycleEventHookExecutionId")
        status = self._get_param("status")
        platform = deployment.application.compute_platform
        if platform not in _HOOK_PLATFORMS:
            raise JsonRESTError(
                "UnsupportedActionForDeploymentTypeException",
                f"This operation is supported only for Lambda and ECS deployments, not {platform}.",
            )
        if not hook_id or hook_id not in getattr(deployment, "_cicd_hook_executions", {}):
            raise JsonRESTError(
                "InvalidLifecycleEventHookExecutionIdException",
                f"The lifecycle event hook execution ID {hook_id!r} is not valid for deployment "
                f"{deployment.deployment_id}.",
            )
        if status not in _HOOK_STATUSES:
            raise JsonRESTError(
                "InvalidLifecycleEventHookExecutionStatusException",
                f"The status {status!r} is not valid: a lifecycle hook reports Succeeded or Failed.",
            )
        reported = deployment.__dict__.setdefault("_cicd_hook_statuses", {})
        if hook_id in reported or deployment.status in _COMPLETED_DEPLOYMENT:
            raise JsonRESTError(
                "LifecycleEventAlreadyCompletedException",
                f"The lifecycle event hook execution {hook_id} is already complete "
                f"({reported.get(hook_id) or 'deployment ' + deployment.status}).",
            )
        reported[hook_id] = status
        if status == "Failed":
            deployment.status = "Failed"
            deployment.complete_time = _utcnow()
            rollback = deployment.deployment_group.auto_rollback_configuration or {}
            deployment._cicd_rolled_back = bool(rollback.get("enabled")) and "DEPLOYMENT_FAILURE" in (
                rollback.get("events") or [])
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
        deployment._cicd_rolled_back = deployment._cicd_stop_auto_rollback
        return ActionResult({"status": "Succeeded", "statusMessage": "Deployment stopped"})

    patch = "codedeploy_hook_status_and_stop"
    _replace(patch, backend_cls, "create_deployment", create_deployment)
    _add(patch, cls, "put_lifecycle_event_hook_execution_status", put_lifecycle_event_hook_execution_status)
    _add(patch, cls, "stop_deployment", stop_deployment)


def _deployment_of(deployment_id: str) -> Any:
    from moto.codedeploy.models import codedeploy_backends

    for regions in list(codedeploy_backends.values()):
        for backend in list(regions.values()):
            deployment = backend.deployments.get(deployment_id)
            if deployment is not None:
                return deployment
    return None


def hook_status(deployment_id: str, hook_execution_id: str) -> str | None:
    """The status a lifecycle hook reported (PutLifecycleEventHookExecutionStatus) for a deployment of an
    in-process emulator, or None. (moto keeps its state in this process: a CLI emulator's is elsewhere.)"""
    deployment = _deployment_of(deployment_id)
    return getattr(deployment, "_cicd_hook_statuses", {}).get(hook_execution_id) if deployment else None


def hook_executions(deployment_id: str) -> Dict[str, str]:
    """Lifecycle event -> the hook execution id CodeDeploy passes to that hook, for a deployment of an
    in-process emulator ({} for an unknown deployment or one without hooks)."""
    deployment = _deployment_of(deployment_id)
    executions = getattr(deployment, "_cicd_hook_executions", {}) if deployment else {}
    return {event: hook_id for hook_id, event in executions.items()}


def rolled_back(deployment_id: str) -> bool:
    """Whether the deployment ended with a rollback (a Failed hook with auto-rollback, or a stop with it)."""
    return bool(getattr(_deployment_of(deployment_id), "_cicd_rolled_back", False))
