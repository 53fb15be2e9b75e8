"""The profile harness: what runs inside the subprocesses that `python -m bench.run --profile` measures.

`python -m bench.harness --_child floor|full --_child-out <json>` builds and synthesizes the floor
app (bench/floor_app.py) or the full app (stack.app) phase by phase and writes the phases' times as
JSON; `--_instrument` also counts and times jsii round trips (by kind, phase, candidate and call site),
`--_cprofile <file>` runs the app under cProfile, `--_without <variant>` applies an ablation
(bench/variants.py). `--_child micro --_rounds N` runs the per-synth measurements in one process
(bench/variants.py `_micro_child`). `_child_argv` builds these command lines; bench/profiling.py
runs them under `measure()` and reads their JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from bench.measure import ROOT
from bench.variants import ABLATIONS, _apply_ablations, _micro_child


def _site(frame: Any) -> str:
    """The innermost frame in stack/ or cicd/ (not the benchmark's own cicd/bench*.py): file:line (function)."""
    root = str(ROOT) + os.sep
    harness = str(ROOT / "cicd" / "bench")
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(root) and not filename.startswith(harness) and "/bench/" not in filename:
            return f"{filename[len(root):]}:{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back
    return "(jsii/cdktf internals)"


class _Instrument:
    """Counts and times jsii round trips (by kind, phase, candidate scope and call site) and scopes."""

    def __init__(self) -> None:
        self.phase = "startup"
        self.scopes: List[str] = []
        self.trips: Dict[str, Dict[str, List[float]]] = {}  # table -> key -> [count, seconds]
        self.scope_time: Dict[str, List[float]] = {}  # scope -> [calls, inclusive seconds]
        self.phases: Dict[str, float] = {}
        self.extra: Dict[str, Any] = {}

    def add(self, table: str, key: str, seconds: float, count: int = 1) -> None:
        entry = self.trips.setdefault(table, {}).setdefault(key, [0, 0.0])
        entry[0] += count
        entry[1] += seconds

    def record_trip(self, kind: str, seconds: float, site: str) -> None:
        self.add("kind", kind, seconds)
        self.add("phase", f"{self.phase}", seconds)
        self.add("phase_kind", f"{self.phase}:{kind}", seconds)
        self.add("scope", self.scopes[-1] if self.scopes else "-", seconds)
        self.add("scope_kind", f"{self.scopes[-1] if self.scopes else '-'}:{kind}", seconds)
        self.add("site", f"{kind} {site}", seconds)

    def scoped(self, name: str, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.scopes.append(name)
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.scopes.pop()
                if name not in self.scopes:  # inclusive time of the outermost call only
                    entry = self.scope_time.setdefault(name, [0, 0.0])
                    entry[1] += elapsed
                self.scope_time.setdefault(name, [0, 0.0])[0] += 1
        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper

    def run_phase(self, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        previous, self.phase = self.phase, name
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started
            self.phase = previous

    def install_jsii(self) -> None:
        from jsii._kernel.providers import process

        original = process._NodeProcess.send
        instrument = self

        def send(self: Any, request: Any, response_type: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, request, response_type)
            finally:
                kind = type(request).__name__.lstrip("_").replace("Request", "").lower()
                kind = {"complete": "callback-return", "staticinvoke": "sinvoke", "staticget": "sget"}.get(kind, kind)
                instrument.record_trip(kind, time.perf_counter() - started, _site(sys._getframe(1)))

        process._NodeProcess.send = send


def _profile_child(target: str, out_json: Path, without: Sequence[str], instrument_jsii: bool,
                   cprofile_out: Optional[Path]) -> int:
    """Runs inside the measured subprocess: the floor or the full app, phase by phase."""
    harness_started = time.perf_counter()
    if target == "full" and "eager_provider" not in without:
        from stack import load_provider_modules_on_demand  # as stack.app does, by importing stack

        load_provider_modules_on_demand()
    inst = _Instrument()
    if instrument_jsii:
        inst.install_jsii()
    profiler = None
    outdir = os.environ["CDKTF_OUTDIR"]

    def import_provider() -> None:
        import cdktf  # noqa: F401
        import cdktf_cdktf_provider_aws  # noqa: F401  (eager: its __init__ imports every resource module)
        from cdktf_cdktf_provider_aws import provider, sns_topic  # noqa: F401

    inst.run_phase("import provider", import_provider)
    if cprofile_out:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    if target == "floor":
        from bench import floor_app
        app = inst.run_phase("construct", floor_app.build, outdir)
        inst.run_phase("synth", app.synth)
    else:
        def import_stack() -> None:
            import stack.app  # noqa: F401
            import stack.pipeline_stack  # noqa: F401

        inst.run_phase("import stack/", import_stack)
        _apply_ablations([v for v in without if v != "eager_provider"])
        import cdktf
        import stack.app as app_module
        import stack.pipeline_stack as pipeline_stack
        from cicd.workspace import config, render

        if instrument_jsii:
            import stack.health_lambda as health_lambda

            tagged = {"resources": 0}
            tag_walk = inst.scoped("stage/service tag walk", pipeline_stack.tag_stages_and_services)

            def tag_stages_and_services(*args: Any, **kwargs: Any) -> int:
                count = tag_walk(*args, **kwargs)
                tagged["resources"] += count
                return count

            # imported by name into stack.pipeline_stack: patched where it is looked up
            pipeline_stack.tag_stages_and_services = tag_stages_and_services
            inst.extra["tagged"] = tagged
            health_lambda.TerraformAsset = inst.scoped("TerraformAsset", health_lambda.TerraformAsset)
            # lru_cached, looked up in stack.health_lambda at call time: the first call builds the zip
            health_lambda._package = inst.scoped("Lambda package (zipfile)", health_lambda._package)
            render.Renderer.__init__ = inst.scoped("Renderer() (Jinja Environment)", render.Renderer.__init__)
            for name in ("render_taskdef", "render_appspec", "render_build_buildspec", "render_test_buildspec"):
                setattr(render, name, inst.scoped("template rendering", getattr(render, name)))
            import stack.build as build
            import stack.services as services
            for module in (build, services):
                for name in ("render_taskdef", "render_build_buildspec", "render_test_buildspec"):
                    if hasattr(module, name):
                        setattr(module, name, getattr(render, name))
            config.aws_regions = inst.scoped("aws_regions() (botocore)", config.aws_regions)
            import stack.policy as policy
            for module_name in ("build", "services", "health_lambda", "load_balancing", "monitoring", "network",
                                "storage", "delivery", "deployments", "notifications", "registry", "source",
                                "encryption", "parameter_store", "firewall"):
                module = sys.modules.get(f"stack.{module_name}")
                if module is not None and getattr(module, "skip", None) is policy.skip:
                    module.skip = inst.scoped("checkov skip() overrides", policy.skip)
            pipeline_stack.PipelineStack.__init__ = inst.scoped("PipelineStack", pipeline_stack.PipelineStack.__init__)

        original_load_all = app_module.load_all
        app_module.load_all = lambda *a, **k: inst.run_phase("config (.env, aws_regions)", original_load_all, *a, **k)
        original_init = pipeline_stack.PipelineStack.__init__

        def construct(self: Any, *args: Any, **kwargs: Any) -> None:
            inst.run_phase("construct", original_init, self, *args, **kwargs)

        pipeline_stack.PipelineStack.__init__ = construct
        original_synth = cdktf.App.synth
        cdktf.App.synth = lambda self: inst.run_phase("synth", original_synth, self)
        app_module.main([])
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(cprofile_out))
    inst.phases["harness total"] = time.perf_counter() - harness_started
    result = {
        "phases": inst.phases,
        "trips": inst.trips,
        "scopes": inst.scope_time,
        "extra": inst.extra,
        "modules": {name: name in sys.modules for name in ("botocore", "botocore.session", "cicd.workspace.validate", "yaml",
                                                           "jinja2", "dotenv")},
    }
    out_json.write_text(json.dumps(result))
    return 0


def _child_argv(target: str, out_json: Path, without: Sequence[str] = (), instrument: bool = False,
                cprofile: Optional[Path] = None, rounds: Optional[int] = None) -> List[str]:
    """The command line that runs `target` (floor, full or micro) in this harness, as a fresh process."""
    argv = [sys.executable, "-m", "bench.harness", "--_child", target, "--_child-out", str(out_json)]
    for name in without:
        argv += ["--_without", name]
    if instrument:
        argv.append("--_instrument")
    if cprofile:
        argv += ["--_cprofile", str(cprofile)]
    if rounds is not None:
        argv += ["--_rounds", str(rounds)]
    return argv


# --- command line ------------------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.splitlines()[0])
    parser.add_argument("--_child", required=True, choices=["floor", "full", "micro"], help="what to run")
    parser.add_argument("--_rounds", type=int, default=3, help="micro: how often each measurement is repeated")
    parser.add_argument("--_child-out", type=Path, help="where to write the findings (JSON)")
    parser.add_argument("--_without", action="append", default=[], choices=list(ABLATIONS),
                        help="floor/full: apply this ablation (repeatable)")
    parser.add_argument("--_instrument", action="store_true", help="floor/full: count and time jsii round trips")
    parser.add_argument("--_cprofile", type=Path, help="floor/full: write cProfile stats of the app to this file")
    args = parser.parse_args(argv)
    if args._child == "micro":
        return _micro_child(args._child_out, args._rounds)
    return _profile_child(args._child, args._child_out, args._without, args._instrument, args._cprofile)


if __name__ == "__main__":
    sys.exit(main())
