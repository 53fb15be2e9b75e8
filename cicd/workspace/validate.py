"""Checks of rendered templates against the real schemas: botocore's ECS model, YAML structure."""
from __future__ import annotations

import functools
import json
import shlex
from typing import Any, Dict, List

import yaml

from cicd.workspace.errors import TemplateError


@functools.lru_cache(maxsize=1)
def _register_task_definition_shape():
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model("RegisterTaskDefinition").input_shape


def task_definition(where: str, taskdef: Dict[str, Any]) -> None:
    """Validate against botocore's ECS RegisterTaskDefinition input shape (the real API schema)."""
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    try:
        validate_parameters(taskdef, _register_task_definition_shape())
    except ParamValidationError as err:
        detail = " ".join(str(err).split())
        raise TemplateError(f"{where}: not a valid ECS RegisterTaskDefinition input: {detail}") from None
    _service_rules(where, taskdef)


def _service_rules(where: str, taskdef: Dict[str, Any]) -> None:
    """Rules the ECS API enforces that botocore's model does not mark: container name and image are
    required (and names unique), and a Fargate task needs awsvpc and a valid task-level CPU/memory pair."""
    from cicd.workspace.config import FARGATE_SIZES

    problems: List[str] = []
    names: List[str] = []
    for i, container in enumerate(taskdef["containerDefinitions"]):
        for key in ("name", "image"):
            if not container.get(key):
                problems.append(f"{where}: containerDefinitions[{i}].{key} is missing; the ECS API requires it")
        if container.get("name") and container["name"] in names:
            problems.append(f"{where}: containerDefinitions[{i}].name {container['name']!r} is duplicated")
        names.append(container.get("name"))
    if "FARGATE" in taskdef.get("requiresCompatibilities", []):
        if taskdef.get("networkMode") != "awsvpc":
            problems.append(f"{where}: networkMode is {taskdef.get('networkMode')!r}; allowed on Fargate: 'awsvpc'")
        cpu, memory = taskdef.get("cpu", ""), taskdef.get("memory", "")
        if not (cpu.isdigit() and memory.isdigit()):
            problems.append(f"{where}: cpu={cpu!r} memory={memory!r}; allowed on Fargate: CPU units and MiB "
                            "as digit strings, e.g. '256' and '512'")
        elif int(memory) not in FARGATE_SIZES.get(int(cpu), ()):
            problems.append(f"{where}: cpu={cpu} memory={memory} is not a Fargate task size; "
                            "allowed: see config.FARGATE_SIZES (e.g. 256/512, 512/1024)")
    if problems:
        raise TemplateError(problems)


def _load_yaml(where: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise TemplateError(f"{where}: not valid YAML: {' '.join(str(err).split())}") from None


def buildspec(where: str, text: str) -> Dict[str, Any]:
    doc = _load_yaml(where, text)
    problems: List[str] = []
    if not isinstance(doc, dict):
        raise TemplateError(f"{where}: a buildspec must be a YAML mapping")
    if doc.get("version") != 0.2:
        problems.append(f"{where}: buildspec version is {doc.get('version')!r}; allowed: 0.2")
    phases = doc.get("phases")
    if not isinstance(phases, dict) or not phases:
        problems.append(f"{where}: buildspec has no phases")
    else:
        for name, phase in phases.items():
            if name not in ("install", "pre_build", "build", "post_build"):
                problems.append(f"{where}: unknown phase {name!r}")
            elif not isinstance(phase, dict) or not all(isinstance(c, str) for c in phase.get("commands", [])):
                problems.append(f"{where}: phase {name!r} needs a list of command strings")
    # Terraform reads `${` and `%{` in any string as template syntax: a buildspec must not contain them.
    for marker in ("${", "%{"):
        if marker in text:
            problems.append(f"{where}: contains {marker!r}, which Terraform would interpolate")
    if problems:
        raise TemplateError(problems)
    return doc


def _forces(command: str) -> bool:
    """Whether a shell command's `git ... push` forces: -f (alone or among short flags), --force*, --mirror,
    or a refspec with a leading '+', however it is quoted. Read as the shell splits words (shlex), up to
    the next ; | & of the shell; an unreadable command counts as forcing (it cannot be shown not to)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:  # unbalanced quotes
        return True
    pushing = False
    for index, word in enumerate(words):
        if word and set(word) <= set(";|&"):
            pushing = False
        elif word == "push" and "git" in words[:index]:
            pushing = True
        elif pushing and (word in ("--force", "--mirror") or word.startswith(("--force-", "+"))
                          or (word.startswith("-") and not word.startswith("--") and "f" in word[1:])):
            return True
    return False


def mirror_buildspec(where: str, text: str, *, source_url: str, target_urls: List[str]) -> Dict[str, Any]:
    """The source mirror's buildspec: a valid buildspec that clones exactly `source_url`, pushes to exactly
    `target_urls`, and never force-pushes (a forced push would erase a DR repository's own commits)."""
    doc = buildspec(where, text)
    variables = (doc.get("env") or {}).get("variables") or {}
    problems: List[str] = []
    if variables.get("SOURCE_URL") != source_url:
        problems.append(f"{where}: SOURCE_URL is {variables.get('SOURCE_URL')!r}; allowed: {source_url!r}")
    if str(variables.get("TARGET_URLS", "")).split() != list(target_urls):
        problems.append(f"{where}: TARGET_URLS is {variables.get('TARGET_URLS')!r}; allowed: {' '.join(target_urls)!r}")
    commands = [c for phase in doc["phases"].values() for c in phase.get("commands", [])]
    pushes = [c for c in commands if "git" in c and " push " in c]
    if not pushes:
        problems.append(f"{where}: no git push command")
    for command in pushes:
        if _forces(command):
            problems.append(f"{where}: {command!r} force-pushes; allowed: fast-forward pushes only")
    if problems:
        raise TemplateError(problems)
    return doc


def appspec(where: str, text: str) -> Dict[str, Any]:
    doc = _load_yaml(where, text)
    try:
        resource = doc["Resources"][0]["TargetService"]
        assert resource["Type"] == "AWS::ECS::Service"
        props = resource["Properties"]
        assert props["TaskDefinition"] == "<TASK_DEFINITION>"
        assert isinstance(props["LoadBalancerInfo"]["ContainerName"], str)
        assert isinstance(props["LoadBalancerInfo"]["ContainerPort"], int)
        hooks = {k for hook in doc.get("Hooks", []) for k in hook}
        assert hooks <= {"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic",
                         "AfterAllowTraffic"}
    except (KeyError, IndexError, TypeError, AssertionError):
        raise TemplateError(f"{where}: not an ECS AppSpec (Resources[0].TargetService of type AWS::ECS::Service "
                            "with TaskDefinition <TASK_DEFINITION>, LoadBalancerInfo and ECS hooks)") from None
    return doc


def embedded_json(where: str, text: str) -> Dict[str, Any]:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise TemplateError(f"{where}: not JSON: {err.msg}") from None
