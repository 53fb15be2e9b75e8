"""`nox -s preview`: render every template for every region x stage x service, check, tabulate.

Never imports cdktf: it takes about a second. Output goes to `.preview/` (gitignored), written to a
temporary folder first and moved into place only when every rendering passed its checks, so a
failed preview never leaves a half-written folder behind.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import enum
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from cicd.workspace import deployment_id as deployment_ids
from cicd.workspace import naming, render, validate
from cicd.workspace.config import DEPLOY_STAGES, ROOT, RegionConfig, Stage, load_all
from cicd.workspace.errors import TemplateError, UserError, run_cli

DEFAULT_OUT = ROOT / ".preview"
MARKER = ".cicd-preview"  # marks a folder the preview may replace wholesale
# Settings compared by --diff; sizes are compared per stage (the DR standby count shows there).
_DIFF_FIELDS = tuple(f.name for f in dataclasses.fields(RegionConfig)
                     if f.name not in ("env_file", "region", "sizes", "standby_production_count"))


@dataclass(frozen=True)
class Row:
    region: str
    stage: str
    service: str
    cpu: int
    memory: int
    port: int
    parameter_path: str
    image_tag: str


def render_region(cfg: RegionConfig, deployment_id: str, stages: Sequence[Stage], services: Sequence[str],
                  out: Path, renderer: render.Renderer) -> List[Row]:
    """Render and check every file of one region into `out/<region>/`; return the table rows."""
    rows: List[Row] = []
    base = out / cfg.region
    chosen = [s for s in cfg.services if not services or s.name in services]
    for service in chosen:
        bare = {st: render.render_taskdef(cfg, st, service, render.example_refs(cfg, st, service), None, renderer)
                for st in DEPLOY_STAGES}
        buildspec = render.render_build_buildspec(cfg, service, bare, renderer)
        where = f"{render.BUILD_BUILDSPEC} ({cfg.region}, {service.name})"
        doc = validate.buildspec(where, buildspec)
        _check_embedded(where, doc, bare)
        _write(base / "buildspecs" / f"build-{service.name}.yml", buildspec)
        for stage in stages:
            where = f"({cfg.region}, {stage.value}, {service.name})"
            taskdef = render.render_taskdef(cfg, stage, service, render.example_refs(cfg, stage, service),
                                            deployment_id, renderer)
            validate.task_definition(f"{render.TASKDEF} {where}", taskdef)
            appspec = render.render_appspec(cfg, service, renderer)
            validate.appspec(f"{render.APPSPEC} {where}", appspec)
            _write(base / stage.value / service.name / "taskdef.json", json.dumps(taskdef, indent=2) + "\n")
            _write(base / stage.value / service.name / "appspec.yaml", appspec)
            size = cfg.size(stage)
            rows.append(Row(cfg.region, stage.value, service.name, size.cpu, size.memory, service.port,
                            naming.parameter_path(stage, service), f"{deployment_id}-<commit>"))
    test = render.render_test_buildspec(cfg.services, renderer)
    validate.buildspec(f"{render.TEST_BUILDSPEC} ({cfg.region})", test)
    _write(base / "buildspecs" / "test.yml", test)
    if cfg.source_mirror_regions:
        _write(base / "buildspecs" / "mirror.yml", check_mirror(cfg, renderer))
    return rows


def check_mirror(cfg: RegionConfig, renderer: render.Renderer) -> str:
    """The source mirror's buildspec, rendered and checked against the repositories it must move."""
    text = render.render_mirror_buildspec(cfg, renderer)
    validate.mirror_buildspec(f"{render.MIRROR_BUILDSPEC} ({cfg.region})", text,
                              source_url=render.codecommit_clone_url(cfg.region, cfg.source_repository),
                              target_urls=[render.codecommit_clone_url(r, cfg.source_repository)
                                           for r in cfg.source_mirror_regions])
    return text


def _check_embedded(where: str, doc: dict, taskdefs: Dict[Stage, dict]) -> None:
    """The task definitions inside the buildspec's heredocs must be the ones we rendered."""
    commands = "\n".join((doc["phases"].get("post_build") or {}).get("commands") or [])
    for stage, taskdef in taskdefs.items():
        heredoc = f"deploy/{stage.value}/taskdef.json <<'TASKDEF'\n"
        if heredoc not in commands:
            raise TemplateError(f"{where}: post_build has no heredoc writing deploy/{stage.value}/taskdef.json")
        start = commands.index(heredoc)
        body = commands[start:].split("\n", 1)[1].split("\nTASKDEF", 1)[0]
        if validate.embedded_json(where, body) != taskdef:
            raise UserError(f"{where}: embedded {stage.value} task definition differs from the rendered one")
        validate.task_definition(f"{where} embedded {stage.value} taskdef", taskdef)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def table(rows: Sequence[Row]) -> str:
    header = ("region", "stage", "service", "cpu", "memory", "port", "parameter path", "image tag")
    body = [tuple(str(v) for v in vars(r).values()) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths))] + [line(b) for b in body])


def region_diff(out: Path, first: str, second: str) -> str:
    """Unified diff of every rendered file between two regions, plus differing settings."""
    chunks: List[str] = []
    a_root, b_root = out / first, out / second
    names = sorted({p.relative_to(a_root) for p in a_root.rglob("*") if p.is_file()}
                   | {p.relative_to(b_root) for p in b_root.rglob("*") if p.is_file()})
    for rel in names:
        a = (a_root / rel).read_text().splitlines() if (a_root / rel).exists() else []
        b = (b_root / rel).read_text().splitlines() if (b_root / rel).exists() else []
        chunks.extend(difflib.unified_diff(a, b, f"{first}/{rel}", f"{second}/{rel}", n=0, lineterm=""))
    return "\n".join(chunks)


def _plain(value: Any) -> str:
    """A setting as a person writes it: `primary`, not `Role.PRIMARY`; no tuple or dataclass reprs."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if value is None:
        return "(none)"
    if isinstance(value, (tuple, list)):
        return ", ".join(_plain(v) for v in value) or "(none)"
    if dataclasses.is_dataclass(value):  # e.g. a Service, as the .env writes it: name:port:path
        return ":".join(_plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    return str(value)


def _differences(name: str, a: Any, b: Any):
    """(setting, a, b) for every differing setting; dataclasses compared field by field."""
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        for f in dataclasses.fields(a):
            yield from _differences(f"{name}.{f.name}", getattr(a, f.name), getattr(b, f.name))
    elif a != b:
        yield name, a, b


def settings_diff(configs: Sequence[RegionConfig]) -> str:
    first, second = configs[0], configs[1]
    lines = []
    pairs = [(field, getattr(first, field), getattr(second, field)) for field in _DIFF_FIELDS]
    pairs += [(stage.value, first.size(stage), second.size(stage)) for stage in DEPLOY_STAGES]
    for pair in pairs:
        for name, a, b in _differences(*pair):
            lines.append(f"  {name}: {first.region}={_plain(a)}  {second.region}={_plain(b)}")
    return "\n".join(lines)


def _replaceable(out: Path) -> bool:
    """Only an earlier preview (or nothing, or an empty folder) may be replaced: never a user's folder."""
    if not out.exists():
        return True
    if not out.is_dir():
        return False
    return (out / MARKER).is_file() or out.resolve() == DEFAULT_OUT.resolve() or not any(out.iterdir())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s preview --", description=__doc__.splitlines()[0])
    parser.add_argument("--region", action="append", default=[], help="only this region (repeatable)")
    parser.add_argument("--stage", action="append", default=[], choices=[s.value for s in DEPLOY_STAGES])
    parser.add_argument("--service", action="append", default=[], help="only this service (repeatable)")
    parser.add_argument("--diff", action="store_true", help="show how the two regions' renderings differ")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default .preview)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    configs = load_all()
    known = {c.region for c in configs}
    for region in args.region:
        if region not in known:
            raise UserError(f"--region {region}: no environments/{region}/.env; allowed: {', '.join(sorted(known))}")
    known_services = {s.name for c in configs for s in c.services}
    for service in args.service:
        if service not in known_services:
            raise UserError(f"--service {service}: allowed: {', '.join(sorted(known_services))}")
    chosen = [c for c in configs if not args.region or c.region in args.region]
    stages = [s for s in DEPLOY_STAGES if not args.stage or s.value in args.stage]
    if args.diff and len(chosen) < 2:
        raise UserError("--diff needs two regions; drop --region or give two")
    deployment_id = deployment_ids.current()

    renderer = render.Renderer()
    out: Path = args.out
    if not _replaceable(out):
        raise UserError(f"--out {out}: exists and is not a preview folder; allowed: a new or empty folder, "
                        "or one an earlier preview wrote")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".preview-", dir=out.parent))
    try:
        rows: List[Row] = []
        for cfg in chosen:
            rows.extend(render_region(cfg, deployment_id, stages, args.service, staging, renderer))
        (staging / MARKER).write_text("written by cicd.docs.preview; replaced by the next preview\n")
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private (0700)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    print(table(rows))
    files = sum(1 for p in out.rglob("*") if p.is_file() and p.name != MARKER)
    print(f"\n{files} files rendered and checked into {out} in {time.perf_counter() - started:.2f} s "
          f"(deployment id {deployment_id})")
    if args.diff:
        print(f"\nSettings that differ ({chosen[0].region} vs {chosen[1].region}):")
        print(settings_diff(chosen) or "  none")
        print(f"\nRendered files that differ:\n{region_diff(out, chosen[0].region, chosen[1].region) or '  none'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
