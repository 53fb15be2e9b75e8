"""cicd.workspace.validate: each rule on a rendered template, with the exact one-line problem it reports."""
from __future__ import annotations

import copy
import json

import pytest

from cicd.workspace import validate
from cicd.workspace.errors import TemplateError

TASKDEF = {
    "family": "shop-staging-api-service", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
    "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "api-service", "image": "<IMAGE1_NAME>", "essential": True}],
}
APPSPEC = """version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "<TASK_DEFINITION>"
        LoadBalancerInfo:
          ContainerName: api-service
          ContainerPort: 8080
Hooks:
  - BeforeInstall: f
  - AfterInstall: f
  - AfterAllowTestTraffic: f
  - BeforeAllowTraffic: f
  - AfterAllowTraffic: f
"""
BUILDSPEC = """version: 0.2
phases:
  install: {commands: [a]}
  pre_build: {commands: [b]}
  build: {commands: [c]}
  post_build: {commands: [d]}
"""


def _problems(call, *args) -> list:
    with pytest.raises(TemplateError) as err:
        call(*args)
    return err.value.problems


def _taskdef(**changes) -> dict:
    td = copy.deepcopy(TASKDEF)
    td.update(changes)
    return td


def test_a_good_task_definition_passes() -> None:
    validate.task_definition("td", _taskdef())
    validate.task_definition("td", _taskdef(requiresCompatibilities=["EC2"], networkMode="bridge", cpu="x"))


@pytest.mark.parametrize("changes, problems", [
    ({"networkMode": "bridge"}, ["td: networkMode is 'bridge'; allowed on Fargate: 'awsvpc'"]),
    ({"cpu": "256", "memory": "1.5"}, ["td: cpu='256' memory='1.5'; allowed on Fargate: CPU units and MiB as digit "
                                       "strings, e.g. '256' and '512'"]),
    ({"cpu": "x", "memory": "512"}, ["td: cpu='x' memory='512'; allowed on Fargate: CPU units and MiB as digit "
                                     "strings, e.g. '256' and '512'"]),
    ({"cpu": "256", "memory": "4096"}, ["td: cpu=256 memory=4096 is not a Fargate task size; allowed: see "
                                        "config.FARGATE_SIZES (e.g. 256/512, 512/1024)"]),
    ({"cpu": "300", "memory": "512"}, ["td: cpu=300 memory=512 is not a Fargate task size; allowed: see "
                                       "config.FARGATE_SIZES (e.g. 256/512, 512/1024)"]),
])
def test_fargate_rules(changes, problems) -> None:
    assert _problems(validate.task_definition, "td", _taskdef(**changes)) == problems


def test_missing_cpu_memory_and_network_mode_are_named() -> None:
    td = _taskdef()
    for key in ("cpu", "memory", "networkMode"):
        del td[key]
    assert _problems(validate.task_definition, "td", td) == [
        "td: networkMode is None; allowed on Fargate: 'awsvpc'",
        "td: cpu='' memory=''; allowed on Fargate: CPU units and MiB as digit strings, e.g. '256' and '512'"]
    td = _taskdef()
    del td["requiresCompatibilities"]
    validate.task_definition("td", td)  # without Fargate, the Fargate rules do not apply


def test_container_rules_report_every_problem() -> None:
    td = _taskdef(containerDefinitions=[{"name": "a", "image": "i"}, {"name": "a", "image": ""}, {"image": "i"}])
    assert _problems(validate.task_definition, "td", td) == [
        "td: containerDefinitions[1].image is missing; the ECS API requires it",
        "td: containerDefinitions[1].name 'a' is duplicated",
        "td: containerDefinitions[2].name is missing; the ECS API requires it"]


def test_botocore_schema_errors_are_one_line() -> None:
    [problem] = _problems(validate.task_definition, "td", _taskdef(cpu=256))
    assert problem.startswith("td: not a valid ECS RegisterTaskDefinition input: Parameter validation failed: "
                              "Invalid type for parameter cpu, value: 256, type: <class 'int'>")
    assert "\n" not in problem and "  " not in problem


def test_a_good_appspec_passes_and_each_defect_is_refused() -> None:
    assert validate.appspec("appspec", APPSPEC)["Resources"][0]["TargetService"]["Type"] == "AWS::ECS::Service"
    message = ("appspec: not an ECS AppSpec (Resources[0].TargetService of type AWS::ECS::Service with TaskDefinition "
               "<TASK_DEFINITION>, LoadBalancerInfo and ECS hooks)")
    for old, new in (("<TASK_DEFINITION>", "taskdef:1"), ("AWS::ECS::Service", "AWS::Lambda::Function"),
                     ("ContainerPort: 8080", "ContainerPort: '8080'"), ("BeforeInstall: f", "ValidateService: f"),
                     ("Resources:", "Other:")):
        assert _problems(validate.appspec, "appspec", APPSPEC.replace(old, new, 1)) == [message], new
    no_hooks = APPSPEC[:APPSPEC.index("Hooks:")]
    assert "Hooks" not in validate.appspec("appspec", no_hooks)


def test_broken_yaml_is_one_line() -> None:
    [problem] = _problems(validate.appspec, "appspec", "a: [b")
    assert problem.startswith("appspec: not valid YAML: while parsing a flow sequence in \"<unicode string>\", line 1")
    assert "\n" not in problem and "  " not in problem


def test_a_good_buildspec_passes() -> None:
    assert set(validate.buildspec("b", BUILDSPEC)["phases"]) == {"install", "pre_build", "build", "post_build"}


@pytest.mark.parametrize("text, problems", [
    ("- a list", ["b: a buildspec must be a YAML mapping"]),
    ("version: 0.1\nphases: {build: {commands: [a]}}", ["b: buildspec version is 0.1; allowed: 0.2"]),
    ("version: 0.2\nphases: {}", ["b: buildspec has no phases"]),
    ("version: 0.2\nphases: [build]", ["b: buildspec has no phases"]),
    ("version: 0.2\nphases: {test: {commands: [a]}}", ["b: unknown phase 'test'"]),
    ("version: 0.2\nphases: {build: {commands: [1]}}", ["b: phase 'build' needs a list of command strings"]),
    ("version: 0.2\nphases: {build: [a]}", ["b: phase 'build' needs a list of command strings"]),
    ("version: 0.2\nphases: {build: {commands: ['${x}', '%{y}']}}",
     ["b: contains '${', which Terraform would interpolate", "b: contains '%{', which Terraform would interpolate"]),
])
def test_buildspec_rules(text, problems) -> None:
    assert _problems(validate.buildspec, "b", text) == problems


def test_a_phase_without_commands_is_allowed() -> None:
    validate.buildspec("b", "version: 0.2\nphases: {build: {finally: [x]}}")


def test_embedded_json() -> None:
    assert validate.embedded_json("j", json.dumps({"a": 1})) == {"a": 1}
    assert _problems(validate.embedded_json, "j", "{nope") == ["j: not JSON: Expecting property name enclosed in "
                                                              "double quotes"]


def test_broken_yaml_in_a_buildspec_names_the_file_on_one_line() -> None:
    [problem] = _problems(validate.buildspec, "b", "version: 0.2\nphases: [a")
    assert problem.startswith('b: not valid YAML: while parsing a flow sequence in "<unicode string>", line 2')
    assert "\n" not in problem and "  " not in problem


SOURCE, EAST, WEST = "https://src.example/v1/repos/r", "https://east.example/v1/repos/r", "https://west.example/v1/repos/r"
PUSH = "for url in $TARGET_URLS; do git -C source.git push \"$url\" 'refs/heads/*:refs/heads/*' || exit 1; done"
MIRROR = f"""version: 0.2
env:
  variables:
    SOURCE_URL: "{SOURCE}"
    TARGET_URLS: "{EAST} {WEST}"
phases:
  install:
    runtime-versions: {{python: 3.12}}
  build:
    commands:
      - git clone --mirror "$SOURCE_URL" source.git
      - {PUSH}
"""


def _mirror(text: str) -> dict:
    return validate.mirror_buildspec("m", text, source_url=SOURCE, target_urls=[EAST, WEST])


def test_a_good_mirror_buildspec_passes_with_a_phase_of_no_commands() -> None:
    doc = _mirror(MIRROR)
    assert doc["env"]["variables"] == {"SOURCE_URL": SOURCE, "TARGET_URLS": f"{EAST} {WEST}"}
    assert "commands" not in doc["phases"]["install"]


@pytest.mark.parametrize("old, new, problems", [
    (SOURCE + '"', WEST + '"', [f"m: SOURCE_URL is '{WEST}'; allowed: '{SOURCE}'"]),
    (f'    SOURCE_URL: "{SOURCE}"\n', "", [f"m: SOURCE_URL is None; allowed: '{SOURCE}'"]),
    (f"{EAST} {WEST}", EAST, [f"m: TARGET_URLS is '{EAST}'; allowed: '{EAST} {WEST}'"]),
    (f'    TARGET_URLS: "{EAST} {WEST}"\n', "", [f"m: TARGET_URLS is None; allowed: '{EAST} {WEST}'"]),
    ("push \"$url\"", "push -f \"$url\"", [f"m: {PUSH.replace('push', 'push -f')!r} force-pushes; allowed: "
                                          "fast-forward pushes only"]),
    ("push \"$url\"", "push --force-with-lease \"$url\"",
     [f"m: {PUSH.replace('push', 'push --force-with-lease')!r} force-pushes; allowed: fast-forward pushes only"]),
    (f"      - {PUSH}\n", "", ["m: no git push command"]),
])
def test_mirror_buildspec_rules(old: str, new: str, problems: list) -> None:
    assert old in MIRROR
    assert _problems(_mirror, MIRROR.replace(old, new)) == problems


def test_a_mirror_buildspec_without_env_names_both_urls() -> None:
    text = MIRROR[:MIRROR.index("env:")] + MIRROR[MIRROR.index("phases:"):]
    assert _problems(_mirror, text) == [f"m: SOURCE_URL is None; allowed: '{SOURCE}'",
                                        f"m: TARGET_URLS is None; allowed: '{EAST} {WEST}'"]


@pytest.mark.parametrize("push", [
    "git -C source.git push \"$url\" \"+refs/heads/*:refs/heads/*\"",  # the forcing '+' double-quoted
    "git -C source.git push \"$url\" +refs/heads/*:refs/heads/*",  # or not quoted at all
    "git -C source.git push \"$url\" 'refs/heads/*:refs/heads/*' -f",  # the flag last
    "git -C source.git push -uf \"$url\" 'refs/heads/*:refs/heads/*'",  # among short flags
    "git -C source.git push --force-if-includes \"$url\" 'refs/heads/*:refs/heads/*'",
    "git -C source.git push \"$url' 'refs/heads/*:refs/heads/*'",  # unbalanced quotes: cannot be read
    "git -C source.git push \"$url\" X -f",  # a branch named X (only ; | & end the push), then the flag
])
def test_every_spelling_of_a_forced_push_is_refused(push: str) -> None:
    assert _problems(_mirror, MIRROR.replace(PUSH, push)) == [
        f"m: {push!r} force-pushes; allowed: fast-forward pushes only"]


@pytest.mark.parametrize("push", [
    PUSH,
    "git -C source.git push \"$url\" 'refs/heads/*:refs/heads/*' && rm -rf work",  # -f of another command
    "git -C source.git push \"$url\" 'refs/heads/*:refs/heads/*' ; echo +1",
    "git -C source.git push \"$url\" 'refs/heads/*:refs/heads/*'&& rm -rf work",  # an operator without spaces
    "rm -rf work && git -C source.git push \"$url\" 'refs/heads/*:refs/heads/*'",  # -f before the push
    "git -C source.git push --follow-tags \"$url\" 'refs/heads/*:refs/heads/*'",  # a long flag holding an f
    "git -C source.git push \"$url\" refs/heads/c++:refs/heads/c++",  # only a leading '+' forces
])
def test_fast_forward_pushes_pass_whatever_follows_them(push: str) -> None:
    assert _mirror(MIRROR.replace(PUSH, push))["phases"]
