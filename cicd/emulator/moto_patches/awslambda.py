"""Lambda (``awslambda``, as moto names it): DeadLetterConfig stored and returned."""

from __future__ import annotations

import functools
from typing import Any, Dict

from ._registry import _patch, _replace


@_patch("lambda_dead_letter_config")
def _lambda_dead_letter_config() -> None:
    # moto 5.2.5, Lambda, CreateFunction/UpdateFunctionConfiguration: `DeadLetterConfig` is ignored and
    # GetFunction never returns it, so a function with a dead-letter queue shows drift on every re-plan. AWS
    # stores {"TargetArn": ...} and returns it in the function configuration (an empty TargetArn removes it).
    from moto.awslambda import models

    cls = models.LambdaFunction
    original_init = cls.__init__
    original_get = cls.get_configuration
    original_update = cls.update_configuration

    def _target(config: Any) -> Any:
        return (config or {}).get("TargetArn") or None

    @functools.wraps(original_init)
    def __init__(self: Any, account_id: str, spec: Dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self._cicd_dead_letter_target = _target(spec.get("DeadLetterConfig"))

    @functools.wraps(original_get)
    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        target = getattr(self, "_cicd_dead_letter_target", None)
        if target:
            config["DeadLetterConfig"] = {"TargetArn": target}
        return config

    @functools.wraps(original_update)
    def update_configuration(self: Any, config_updates: Dict[str, Any]) -> Dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self._cicd_dead_letter_target = _target(config_updates["DeadLetterConfig"])
        return original_update(self, config_updates)

    patch = "lambda_dead_letter_config"
    _replace(patch, cls, "__init__", __init__)
    _replace(patch, cls, "get_configuration", get_configuration)
    _replace(patch, cls, "update_configuration", update_configuration)
