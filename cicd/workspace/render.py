"""Render the Jinja templates: every value is computed here, templates only place it.

Used by the preview (no cdktf) and by the stack (with Terraform references as role ARNs and image).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import jinja2

from cicd.workspace import naming
from cicd.workspace.config import DEPLOY_STAGES, ROOT, RegionConfig, Service, Stage
from cicd.workspace.errors import TemplateError
from cicd.workspace.parameters import build_parameters, runtime_parameters

TEMPLATES_DIR = ROOT / "templates"
TASKDEF = "taskdefs/taskdef.json.j2"
APPSPEC = "taskdefs/appspec.yaml.j2"
BUILD_BUILDSPEC = "buildspecs/build.yml.j2"
TEST_BUILDSPEC = "buildspecs/test.yml.j2"
MIRROR_BUILDSPEC = "buildspecs/mirror.yml.j2"
ACTIVATE_BUILDSPEC = "buildspecs/activate.yml.j2"
BOOTSTRAP_TAG = "bootstrap"  # the image the first task definitions name; the service's first build pushes it
IMAGE_PLACEHOLDER = "<IMAGE1_NAME>"  # CodePipeline's CodeDeployToECS replaces it with imageDetail.json's URI


def _tojson(value: Any) -> str:
    # Jinja's own tojson escapes '<' and '>' for HTML, which would hide <IMAGE1_NAME> from CodePipeline.
    if isinstance(value, jinja2.Undefined):
        # Filters receive undefined values without raising: fail as StrictUndefined does, naming it.
        value._fail_with_undefined_error()
    try:
        return json.dumps(value, indent=None, sort_keys=False)
    except (TypeError, ValueError) as err:
        raise jinja2.TemplateRuntimeError(f"tojson: {err}") from None


def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["tojson"] = _tojson
    return env


class Renderer:
    """Renders one template set; every failure names the template and what went wrong."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR):
        self.templates_dir = templates_dir
        self.env = _environment(templates_dir)

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        where = Path(self.templates_dir.name) / name
        try:
            return self.env.get_template(name).render(**context)
        except jinja2.UndefinedError as err:
            raise TemplateError(f"{where}: undefined variable: {err.message}") from None
        except jinja2.TemplateSyntaxError as err:
            # err.name is the template the error is in (an included one, possibly).
            at = Path(self.templates_dir.name) / err.name if err.name else where
            raise TemplateError(f"{at}:{err.lineno}: template syntax error: {err.message}") from None
        except jinja2.TemplateNotFound as err:
            missing = Path(self.templates_dir.name) / str(err.name)
            raise TemplateError(f"{where}: template not found: {missing}" if str(err.name) != name
                                else f"{where}: template not found") from None
        except jinja2.TemplateError as err:
            raise TemplateError(f"{where}: template error: {err.message}") from None

    def render_json(self, name: str, context: Mapping[str, Any]) -> Dict[str, Any]:
        text = self.render(name, context)
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise TemplateError(f"{Path(self.templates_dir.name) / name}: rendered output is not JSON: "
                                f"{err.msg} at line {err.lineno}") from None


@functools.lru_cache(maxsize=1)
def default_renderer() -> "Renderer":
    """One Jinja environment per process: compiling the templates again for every call costs time."""
    return Renderer()


@dataclass(frozen=True)
class Refs:
    """Values only known at deploy time: Terraform references in the stack, examples in previews."""

    account_id: str
    execution_role_arn: str
    task_role_arn: str
    image: str = IMAGE_PLACEHOLDER
    partition: str = "aws"


def example_refs(cfg: RegionConfig, stage: Stage, service: Service, account_id: str = "123456789012") -> Refs:
    """Deterministic stand-ins for previews: real role names, a documentation account id."""
    def arn(name: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{name}"

    return Refs(account_id=account_id,
                execution_role_arn=arn(naming.task_role(cfg, stage, service, "exec")),
                task_role_arn=arn(naming.task_role(cfg, stage, service, "task")))


def taskdef_context(cfg: RegionConfig, stage: Stage, service: Service, refs: Refs,
                    deployment_id: Optional[str]) -> Dict[str, Any]:
    size = cfg.size(stage)
    tags: List[Dict[str, str]] = [{"key": "stage", "value": stage.value}, {"key": "service", "value": service.name}]
    if deployment_id:
        tags.append({"key": "deployment-id", "value": deployment_id})
    return {
        "family": naming.task_family(cfg, stage, service),
        "cpu": str(size.cpu),
        "memory": str(size.memory),
        "execution_role_arn": refs.execution_role_arn,
        "task_role_arn": refs.task_role_arn,
        "container_name": naming.container(service),
        "image": refs.image,
        "port": service.port,
        "environment": [
            {"name": "SERVICE_NAME", "value": service.name},
            {"name": "STAGE", "value": stage.value},
            {"name": "PORT", "value": str(service.port)},
        ],
        "secrets": [
            {"name": p.key, "valueFrom": p.arn(cfg.region, refs.account_id, refs.partition)}
            for p in runtime_parameters(cfg, stage, service)
        ],
        "log_group": naming.service_log_group(cfg, stage, service),
        "region": cfg.region,
        "health_command": ["CMD-SHELL", f"curl -fs http://localhost:{service.port}{service.health_path} || exit 1"],
        "tags": tags,
    }


def render_taskdef(cfg: RegionConfig, stage: Stage, service: Service, refs: Refs,
                   deployment_id: Optional[str], renderer: Optional[Renderer] = None) -> Dict[str, Any]:
    """The ECS RegisterTaskDefinition input for one stage of one service."""
    return (renderer or default_renderer()).render_json(TASKDEF, taskdef_context(cfg, stage, service, refs, deployment_id))


def render_appspec(cfg: RegionConfig, service: Service, renderer: Optional[Renderer] = None) -> str:
    return (renderer or default_renderer()).render(APPSPEC, {
        "container_name": naming.container(service),
        "port": service.port,
        "hook_function": naming.health_function(cfg),
    })


def render_build_buildspec(cfg: RegionConfig, service: Service, taskdefs: Mapping[Stage, Dict[str, Any]],
                           renderer: Optional[Renderer] = None) -> str:
    """The build's buildspec; `taskdefs` are per-stage task definitions with the image placeholder.

    The build adds its own deployment-id tag (its start time), so the buildspec does not change
    from one synth to the next.
    """
    renderer = renderer or default_renderer()
    appspec = render_appspec(cfg, service, renderer)
    return renderer.render(BUILD_BUILDSPEC, {
        "service_name": service.name,
        "service_path": f"services/{service.name}",
        "bootstrap_tag": BOOTSTRAP_TAG,
        "build_parameters": [{"variable": p.key, "name": p.name} for p in build_parameters(cfg, service)],
        "deploy_files": [
            {
                "directory": f"deploy/{stage.value}",
                "artifact": naming.artifact_name(service, stage),
                "taskdef": json.dumps(taskdefs[stage], indent=2),
                "appspec": appspec.rstrip("\n"),
            }
            for stage in DEPLOY_STAGES
        ],
    })


def render_test_buildspec(services: Sequence[Service], renderer: Optional[Renderer] = None) -> str:
    return (renderer or default_renderer()).render(TEST_BUILDSPEC, {
        "service_paths": " ".join(f"services/{s.name}" for s in services),
    })


def codecommit_clone_url(region: str, repository: str) -> str:
    """HTTPS clone URL of a CodeCommit repository (the credential helper signs it for that region)."""
    return f"https://git-codecommit.{region}.amazonaws.com/v1/repos/{repository}"


def render_mirror_buildspec(cfg: RegionConfig, renderer: Optional[Renderer] = None) -> str:
    """The source mirror job's buildspec: this region's repository into SOURCE_MIRROR_REGIONS'."""
    return (renderer or default_renderer()).render(MIRROR_BUILDSPEC, {
        "source_url": codecommit_clone_url(cfg.region, cfg.source_repository),
        "target_urls": [codecommit_clone_url(r, cfg.source_repository) for r in cfg.source_mirror_regions],
    })


def render_activate_buildspec(targets: Sequence[Dict[str, Any]], unreleased: str,
                              renderer: Optional[Renderer] = None) -> str:
    """The Activate project's buildspec; `targets` are dicts of stage, marker, resource_id, min, max."""
    return (renderer or default_renderer()).render(ACTIVATE_BUILDSPEC, {"targets": list(targets),
                                                                        "unreleased": unreleased})
