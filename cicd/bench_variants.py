"""What `python -m cicd.bench --profile` varies, and the per-synth costs it measures in one process.

The ablations and app variants (each a description and, in `_patches`, the patches that make it),
`_Patched` to apply one for a with-block, and `_micro_child`: the per-synth measurements that run
inside one warm process after one provider import (see cicd/bench_profile.py).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from cicd.bench import DEPLOYMENT_ID, MB, _children, child_env, measure

# Measured in fresh processes (their cost is paid once per process, at import or first call).
PROCESS_ABLATIONS = {
    "eager_provider": "stack/__init__.py: the provider package imported as published (its __init__ imports all "
                      "~2,140 resource modules) instead of only the modules the stack uses (same output)",
    "aws_regions": "cicd/config.py: aws_regions() a constant (no botocore import/session/endpoint data)",
}
# Measured in one process on apps built once and synthesized again and again (costs paid per synth),
# or by timing the candidate's own work repeatedly (see _micro_child).
APP_VARIANTS = {
    "aspect": "stack/pipeline_stack.py: no StageServiceTags Aspect at all (upper bound: the tags are lost)",
    "tag_walk": "stack/pipeline_stack.py: the same StageServiceTags.visit applied by one Python loop over "
                "node.find_all() instead of an Aspect (same output, no per-construct callbacks)",
    "tag_walk_lean": "as tag_walk, and visit() skips classes without a tags_input property and reads tags_input "
                     "once (no get round trip per untaggable construct; same output)",
    "asset": "stack/health_lambda.py: TerraformAsset replaced by a stub path/hash (no copy, hash, zip)",
    "asset_zip": "stack/health_lambda.py: the Lambda zip built once in Python (zipfile, fixed timestamps) and "
                 "given as AssetType.FILE: no `sh -c node fs.js` archiver process per stack (same zip contents)",
    "renderer": "cicd/render.py: one shared Renderer per synth (one Jinja Environment, each template compiled once; "
                "same output)",
    "typecheck": "what `python -O` would skip when constructing: the jsii bindings' `if __debug__:` argument checks "
                 "(typing.get_type_hints + typeguard.check_type on every constructor and setter)",
}
ABLATIONS = {**PROCESS_ABLATIONS, **APP_VARIANTS}


class _NoAspects:
    class _Adder:
        def add(self, aspect: Any) -> None:
            pass

    @classmethod
    def of(cls, scope: Any) -> "_NoAspects._Adder":
        return cls._Adder()


class _WalkAspects:
    """Aspects.of(stack).add(aspect) replaced by one Python loop over the stack's constructs."""

    class _Walker:
        def __init__(self, scope: Any):
            self.scope = scope

        def add(self, aspect: Any) -> None:
            for node in self.scope.node.find_all():
                aspect.visit(node)

    @classmethod
    def of(cls, scope: Any) -> "_WalkAspects._Walker":
        return cls._Walker(scope)


def _lean_visit(self: Any, node: Any) -> None:
    """stack/tagging.py StageServiceTags.visit with the same result and fewer jsii round trips: a class
    check instead of hasattr() (which *reads* the property through jsii), and tags_input read once."""
    cls = type(node)
    if not isinstance(getattr(cls, "tags_input", None), property) or not (
            hasattr(cls, "put_tags") or isinstance(getattr(cls, "tags", None), property)):
        return
    path = node.node.path
    tags: Dict[str, str] = {}
    for stage in self.stages:
        if f"/{stage}-" in path:
            tags["stage"] = stage
            break
    for service in self.services:
        if service in path:
            tags["service"] = service
            break
    if tags:
        node.tags = {**(node.tags_input or {}), **tags}


class _StubAsset:
    def __init__(self, scope: Any, id: str, *, path: str, type: Any = None, **_: Any):
        self.path = "assets/stub/archive.zip"
        self.asset_hash = "0" * 64


def _patches(variant: str) -> List[Tuple[Any, str, Any]]:
    """(object, attribute, replacement) for one variant; every module is imported already."""
    if variant == "aspect":
        return [(sys.modules["stack.pipeline_stack"], "Aspects", _NoAspects)]
    if variant == "tag_walk":
        return [(sys.modules["stack.pipeline_stack"], "Aspects", _WalkAspects)]
    if variant == "tag_walk_lean":
        return [(sys.modules["stack.pipeline_stack"], "Aspects", _WalkAspects),
                (sys.modules["stack.tagging"].StageServiceTags, "visit", _lean_visit)]
    if variant == "asset":
        return [(sys.modules["stack.health_lambda"], "TerraformAsset", _StubAsset),
                (sys.modules["stack.health_lambda"], "_clean_source", lambda: Path(tempfile.gettempdir()))]
    if variant == "asset_zip":
        return _zip_asset_patches()
    if variant == "typecheck":
        return _typecheck_patches()
    if variant == "renderer":
        render = sys.modules["cicd.render"]
        original = render.Renderer
        shared: Dict[Path, Any] = {}

        def one_renderer(templates_dir: Path = render.TEMPLATES_DIR) -> Any:
            if templates_dir not in shared:
                shared[templates_dir] = original(templates_dir)
            return shared[templates_dir]

        return [(render, "Renderer", one_renderer)]
    if variant == "aws_regions":
        regions = frozenset(["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"])
        return [(sys.modules["cicd.config"], "aws_regions", lambda: regions)]
    if variant in ("baseline", "eager_provider"):
        return []
    raise ValueError(f"unknown variant {variant}")


def _zip_asset_patches() -> List[Tuple[Any, str, Any]]:
    """The proposed fix for the asset: zip the Lambda's .py files in Python, once per process, and
    hand cdktf a FILE asset (copied, not archived by a child process)."""
    import zipfile

    from cdktf import AssetType

    health_lambda = sys.modules["stack.health_lambda"]
    original = health_lambda.TerraformAsset
    built: List[Path] = []

    def zipped_source() -> Path:
        if not built:
            target = Path(tempfile.mkdtemp(prefix="health-lambda-")) / "archive.zip"
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
                for source in sorted(health_lambda.SOURCE_DIR.glob("*.py")):
                    info = zipfile.ZipInfo(source.name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.external_attr = 0o644 << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, source.read_bytes())
            built.append(target)
        return built[0]

    def file_asset(scope: Any, id: str, *, path: str, type: Any = None, **kwargs: Any) -> Any:
        return original(scope, id, path=path, type=AssetType.FILE, **kwargs)

    return [(health_lambda, "_clean_source", zipped_source), (health_lambda, "TerraformAsset", file_asset)]


class _AnyHints(dict):
    def __missing__(self, key: str) -> Any:
        return Any


def _typecheck_patches() -> List[Tuple[Any, str, Any]]:
    """The bindings' debug-only argument checks made no-ops (an estimate of what `python -O` saves)."""
    import typing

    import typeguard

    original = typing.get_type_hints
    generated = ("cdktf", "constructs", "cdktf_cdktf_provider_aws")

    def hints(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_globals.get("__name__", "").split(".")[0] in generated:
            return _AnyHints()
        return original(obj, *args, **kwargs)

    return [(typeguard, "check_type", lambda *args, **kwargs: None), (typing, "get_type_hints", hints)]


class _Patched:
    """Apply a variant's patches for the duration of a with-block."""

    def __init__(self, variant: str):
        self.patches = _patches(variant)
        self.saved: List[Tuple[Any, str, Any]] = []

    def __enter__(self) -> "_Patched":
        for obj, name, value in self.patches:
            self.saved.append((obj, name, obj.__dict__.get(name, getattr(obj, name))))
            setattr(obj, name, value)
        return self

    def __exit__(self, *exc: Any) -> None:
        for obj, name, value in reversed(self.saved):
            setattr(obj, name, value)


def _apply_ablations(without: Sequence[str]) -> None:
    import cicd.config  # noqa: F401
    import cicd.render  # noqa: F401
    import stack.health_lambda  # noqa: F401
    import stack.pipeline_stack  # noqa: F401
    import stack.tagging  # noqa: F401

    for variant in without:
        _Patched(variant).__enter__()


def _tree_cpu() -> float:
    """CPU seconds used so far by this process, its live descendants (the jsii Node processes) and
    the children they have reaped (cdktf's archiver)."""
    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    ticks = os.sysconf("SC_CLK_TCK")
    todo = _children(os.getpid())
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / ticks  # utime, stime, cutime, cstime
        except (OSError, IndexError, ValueError):
            continue
        todo.extend(_children(pid))
    return total


def _render_like_the_stack(configs: Sequence[Any], shared: bool) -> int:
    """The 38 renderings one synth makes (stack/services.py, stack/build.py), with a Renderer per call
    as today or one shared Renderer; returns how many Renderers were created."""
    from cicd import render
    from cicd.config import DEPLOY_STAGES

    created = [0]
    original = render.Renderer

    def counting(*args: Any) -> Any:
        created[0] += 1
        return original(*args)

    render.Renderer = counting  # type: ignore[assignment]
    try:
        one = render.Renderer() if shared else None
        for cfg in configs:
            for stage in DEPLOY_STAGES:
                for service in cfg.services:
                    refs = render.example_refs(cfg, stage, service)
                    render.render_taskdef(cfg, stage, service, refs, DEPLOYMENT_ID, one)
            for service in cfg.services:
                bare = {st: render.render_taskdef(cfg, st, service, render.example_refs(cfg, st, service), None, one)
                        for st in DEPLOY_STAGES}
                render.render_build_buildspec(cfg, service, bare, one)
            render.render_test_buildspec(cfg.services, one)
    finally:
        render.Renderer = original  # type: ignore[assignment]
    return created[0]


def _timed(fn: Callable[[], Any]) -> Dict[str, float]:
    cpu, py_cpu, started = _tree_cpu(), time.process_time(), time.perf_counter()
    fn()
    return {"wall_s": time.perf_counter() - started, "cpu_s": _tree_cpu() - cpu,
            "python_cpu_s": time.process_time() - py_cpu}


def _micro_child(out_json: Path, repeats: int) -> int:
    """Per-synth costs, each measured `repeats` times in one process after one provider import:
    - synth: apps built once (unpatched, without the Aspect, with a Python-zipped FILE asset, with a
      stubbed asset), then synthesized again and again in rotating order (cdktf re-runs aspects and
      re-archives assets on every synth); jsii round trips counted per synth;
    - the tag walk (plain and lean visit) over an app built without the Aspect (tagging is idempotent);
    - the 38 template renderings with a Renderer per call vs one shared Renderer;
    - cdktf's archiver (`sh -c node .../cdktf/lib/private/fs.js SRC DEST`, run once per stack per synth)
      vs zipping the same files with Python's zipfile."""
    import glob

    import cdktf
    from jsii._kernel.providers import process

    import stack.app  # noqa: F401  (everything the app imports)
    from cicd import deployment_id as deployment_ids
    from cicd.config import load_all
    from stack.pipeline_stack import PipelineStack

    trips: Dict[str, int] = {}
    original_send = process._NodeProcess.send

    def counting_send(self: Any, request: Any, response_type: Any) -> Any:
        kind = type(request).__name__.lstrip("_").replace("Request", "").lower()
        trips[kind] = trips.get(kind, 0) + 1
        return original_send(self, request, response_type)

    process._NodeProcess.send = counting_send
    _apply_ablations([])  # import every patched module
    configs = load_all()
    deployment_id = deployment_ids.current()
    base = Path(os.environ["CDKTF_OUTDIR"])
    base.mkdir(parents=True, exist_ok=True)
    result: Dict[str, Any] = {"repeats": repeats}

    def build(variant: str) -> Any:
        with _Patched(variant):
            app = cdktf.App(outdir=str(base / variant))
            stacks = [PipelineStack(app, cfg.region, cfg=cfg, deployment_id=deployment_id) for cfg in configs]
        return app, stacks

    apps = {v: build(v) for v in ("baseline", "aspect", "asset_zip", "asset")}
    synths: Dict[str, List[Dict[str, Any]]] = {v: [] for v in apps}
    names = list(apps)
    for round_ in range(repeats + 1):  # round 0 warms up
        shift = round_ % len(names)
        for variant in names[shift:] + names[:shift]:
            trips.clear()
            row: Dict[str, Any] = _timed(apps[variant][0].synth)
            row["trips"] = dict(trips)
            if round_:
                synths[variant].append(row)
    result["synth"] = synths

    constructs: Dict[str, List[Dict[str, Any]]] = {"baseline": [], "typecheck": []}
    for round_ in range(repeats + 1):
        for variant in (("baseline", "typecheck") if round_ % 2 else ("typecheck", "baseline")):
            row = _timed(lambda: build(variant))
            if round_:
                constructs[variant].append(row)
    result["construct"] = constructs

    tagging = sys.modules["stack.tagging"]
    aspect = tagging.StageServiceTags([s.name for s in configs[0].services])
    walks: Dict[str, List[Dict[str, Any]]] = {"tag_walk": [], "tag_walk_lean": []}
    for round_ in range(repeats + 1):
        for variant, visit in (("tag_walk", tagging.StageServiceTags.visit), ("tag_walk_lean", _lean_visit)):
            def walk() -> None:
                for region_stack in apps["aspect"][1]:
                    for node in region_stack.node.find_all():
                        visit(aspect, node)
            trips.clear()
            row = _timed(walk)
            row["trips"] = dict(trips)
            if round_:
                walks[variant].append(row)
    result["walk"] = walks

    renders: Dict[str, List[Dict[str, Any]]] = {"per_call": [], "shared": []}
    for round_ in range(repeats + 1):
        for variant in renders:
            created = [0]
            row = _timed(lambda: created.__setitem__(0, _render_like_the_stack(configs, variant == "shared")))
            row["renderers"] = created[0]
            if round_:
                renders[variant].append(row)
    result["render"] = renders

    scripts = sorted(glob.glob(os.path.join(tempfile.gettempdir(), "jsii-kernel-*", "node_modules", "cdktf", "lib",
                                            "private", "fs.js")), key=os.path.getmtime)
    source = sys.modules["stack.health_lambda"]._clean_source()
    archives: Dict[str, Any] = {"cdktf_archiver": [], "python_zipfile": [], "script": scripts[-1] if scripts else None}
    if scripts:
        for round_ in range(repeats):
            dest = base / f"archiver-{round_}.zip"
            run = measure(["sh", "-c", f"node {scripts[-1]} {source} {dest}"], env=child_env())
            archives["cdktf_archiver"].append({"wall_s": run.wall_s, "cpu_s": run.cpu_s,
                                               "peak_rss_mb": run.peak_rss / MB, "ok": run.ok})
            zipped = _zip_asset_patches()[0][2]
            archives["python_zipfile"].append(_timed(zipped))
    result["archive"] = archives
    out_json.write_text(json.dumps(result))
    return 0


