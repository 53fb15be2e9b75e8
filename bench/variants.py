"""What `python -m bench.run --profile` varies, and the per-synth costs it measures in one process.

The ablations and app variants (each a description and, in `_patches`, the patches that make it),
`_Patched` to apply one for a with-block, and `_micro_child`: the per-synth measurements that run
inside one warm process after one provider import (see bench/profiling.py).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from bench.measure import _children

# Measured in fresh processes (their cost is paid once per process, at import or first call).
PROCESS_ABLATIONS = {
    "eager_provider": "stack/__init__.py: the provider package imported as published (its __init__ imports all "
                      "~2,140 resource modules) instead of only the modules the stack uses (same output)",
    "aws_regions": "cicd/workspace/config.py: aws_regions() a constant (no botocore import/session/endpoint data)",
}
# Measured in one warm process, by building the app again and again with and without it (see _micro_child).
APP_VARIANTS = {
    "typecheck": "what `python -O` would skip when constructing: the jsii bindings' `if __debug__:` argument checks "
                 "(typing.get_type_hints + typeguard.check_type on every constructor and setter)",
}
ABLATIONS = {**PROCESS_ABLATIONS, **APP_VARIANTS}


def _patches(variant: str) -> List[Tuple[Any, str, Any]]:
    """(object, attribute, replacement) for one variant; every module is imported already."""
    if variant == "typecheck":
        return _typecheck_patches()
    if variant == "aws_regions":
        regions = frozenset(["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"])
        return [(sys.modules["cicd.workspace.config"], "aws_regions", lambda: regions)]
    if variant in ("baseline", "eager_provider"):
        return []
    raise ValueError(f"unknown variant {variant}")


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
    import cicd.workspace.config  # noqa: F401  (the only module patched by name: aws_regions)

    for variant in without:
        _Patched(variant).__enter__()


def _tree_cpu() -> float:
    """CPU seconds used so far by this process, its live descendants (the jsii Node processes) and
    the children they have reaped."""
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


def _timed(fn: Callable[[], Any]) -> Dict[str, float]:
    cpu, py_cpu, started = _tree_cpu(), time.process_time(), time.perf_counter()
    fn()
    return {"wall_s": time.perf_counter() - started, "cpu_s": _tree_cpu() - cpu,
            "python_cpu_s": time.process_time() - py_cpu}


def _micro_child(out_json: Path, repeats: int) -> int:
    """Per-synth costs, each measured `repeats` times in one process after one provider import:
    - synth: the unpatched app built once, then synthesized again and again (what cdktf does on every
      synth); jsii round trips counted per synth;
    - construct: both stacks built again and again, alternately unpatched and with the bindings'
      debug-only type checks off ("typecheck")."""
    import cdktf
    from jsii._kernel.providers import process

    import stack.app  # noqa: F401  (everything the app imports)
    from cicd.workspace import deployment_id as deployment_ids
    from cicd.workspace.config import load_all
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

    app, _ = build("baseline")
    synths: List[Dict[str, Any]] = []
    for round_ in range(repeats + 1):  # round 0 warms up
        trips.clear()
        row: Dict[str, Any] = _timed(app.synth)
        row["trips"] = dict(trips)
        if round_:
            synths.append(row)
    result["synth"] = {"baseline": synths}

    constructs: Dict[str, List[Dict[str, Any]]] = {"baseline": [], "typecheck": []}
    for round_ in range(repeats + 1):
        for variant in (("baseline", "typecheck") if round_ % 2 else ("typecheck", "baseline")):
            row = _timed(lambda: build(variant))
            if round_:
                constructs[variant].append(row)
    result["construct"] = constructs
    out_json.write_text(json.dumps(result))
    return 0
