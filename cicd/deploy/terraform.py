"""Plain `terraform` on a synthesized stack directory: init, plan, apply, output, destroy.

The archived cdktf CLI is not involved: the synthesized cdk.tf.json is ordinary Terraform JSON.
Against the local emulator the stack is copied into a work folder beside an override file that
points the provider at the emulator; the resources are exactly the ones deployed to AWS. The state
backend is the stack's own S3 backend (bucket, key, region, encryption, lock file) in the emulator
too: only where S3 is reached (the emulator's endpoint, path-style addressing) is added, through
`terraform init -backend-config`, so the synthesized JSON stays the one AWS gets.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from cicd.deploy.state_lock import StateLocked, lock_info
from cicd.workspace.errors import UserError

OVERRIDE_FILE = "emulator_override.tf.json"
# Where the emulator's S3 is: partial backend configuration, merged into the stack's backend at init.
BACKEND_FILE = "emulator.s3.tfbackend"


def require_terraform() -> str:
    path = shutil.which("terraform")
    if not path:
        raise UserError("terraform: not found on PATH; install the Terraform CLI >= 1.10 "
                        "(https://developer.hashicorp.com/terraform/install)")
    return path


def emulator_override(region: str) -> dict:
    """Emulator-friendly provider settings (endpoints come from AWS_ENDPOINT_URL); the backend is untouched."""
    return {
        "provider": {"aws": [{
            "region": region,
            "access_key": "testing",
            "secret_key": "testing",
            "skip_credentials_validation": True,
            "skip_metadata_api_check": "true",
            "skip_region_validation": True,
            "s3_use_path_style": True,
        }]},
    }


def emulator_backend_config(endpoint: str) -> str:
    """The S3 backend settings that reach the emulator (Terraform 1.11 S3 backend arguments, HCL).

    Credentials and the region come from the stack's backend block and the environment, as on AWS.
    """
    return (f'endpoints = {{\n  s3  = "{endpoint}"\n  sts = "{endpoint}"\n}}\n'
            "use_path_style = true\n")


@dataclass
class PlanSummary:
    add: int
    change: int
    destroy: int

    @property
    def changes(self) -> bool:
        return bool(self.add or self.change or self.destroy)

    def __str__(self) -> str:
        return f"{self.add} to add, {self.change} to change, {self.destroy} to destroy"


def summarize(events: Sequence[dict]) -> Optional[PlanSummary]:
    """terraform's own count of a plan: the `change_summary` event of `terraform plan -json` (the numbers of its
    "Plan: 1 to add, ..." line; a replacement adds and destroys). None if terraform printed none."""
    for event in events:
        if event.get("type") == "change_summary":
            changes = event["changes"]
            return PlanSummary(add=changes["add"], change=changes["change"], destroy=changes["remove"])
    return None


def changed(shown: dict) -> List[str]:
    """`address (actions)` of every resource a `terraform show -json` plan would touch."""
    return [f"{c['address']} ({'/'.join(c['change']['actions'])})" for c in shown.get("resource_changes", [])
            if c["change"]["actions"] != ["no-op"]]


class Terraform:
    """Runs terraform in one stack directory; every failure becomes a one-line UserError."""

    def __init__(self, workdir: Path, env: Optional[Dict[str, str]] = None, label: str = ""):
        self.binary = require_terraform()
        self.workdir = workdir
        self.label = label or workdir.name
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", **(env or {})}
        self._process: Optional[subprocess.Popen] = None
        self._killing = False  # set by kill(): terraform's cancellation messages are then not news
        self._halted: Optional[str] = None  # set by halt(): no further command may start

    def _run(self, *args: str, on_line: Optional[Callable[[str], None]] = None, ok: Sequence[int] = (0,)) -> \
            "subprocess.CompletedProcess[str]":
        command = [self.binary, *args]
        output: List[str] = []
        if self._halted:
            raise UserError(f"terraform {args[0]} ({self.label}) not started: {self._halted}")
        # A process group of its own, so an interrupted run never leaves terraform (or its provider) behind.
        self._process = subprocess.Popen(command, cwd=self.workdir, env=self.env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
        if self._halted:  # halted while starting: kill() may have missed it
            self.kill()
        try:
            assert self._process.stdout is not None
            for line in self._process.stdout:
                output.append(line)
                if on_line:
                    on_line(line)
            code = self._process.wait()
        except BaseException:
            self.kill()
            raise
        finally:
            self._process = None
        text = "".join(output)
        if code not in ok:
            held = lock_info(text)
            if held:
                raise StateLocked(self.label, held)
            raise UserError(f"terraform {args[0]} ({self.label}) failed: {_first_error(text)}")
        return subprocess.CompletedProcess(command, code, text, "")

    def halt(self, reason: str) -> None:
        """From any thread: stop the running command and refuse further ones (e.g. its endpoint died)."""
        self._halted = reason
        self.kill()

    def kill(self) -> None:
        process = self._process
        if process and process.poll() is None:
            self._killing = True
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def init(self, backend: bool = True) -> None:
        args = [] if backend else ["-backend=false"]
        if backend and (self.workdir / BACKEND_FILE).exists():
            # The emulator's endpoint changes from run to run: no state migration, the state is in its bucket.
            args = ["-reconfigure", f"-backend-config={BACKEND_FILE}"]
        self._run("init", "-input=false", "-no-color", *args)

    def force_unlock(self, lock_id: str) -> None:
        self._run("force-unlock", "-force", "-no-color", lock_id)

    def plan(self, out: str = "tfplan", destroy: bool = False) -> PlanSummary:
        """Save a plan in `out` and count it. The counts come from the plan's own -json events, not from a
        `terraform show -json` afterwards: one terraform process (and its provider) fewer per deploy."""
        events: List[dict] = []

        def collect(line: str) -> None:
            try:
                events.append(json.loads(line))
            except ValueError:
                pass  # not an event (terraform prints a few plain lines, e.g. when a provider crashes)

        result = self._run("plan", "-input=false", "-json", "-detailed-exitcode", f"-out={out}",
                           *(["-destroy"] if destroy else []), ok=(0, 2), on_line=collect)
        if result.returncode == 0:
            return PlanSummary(0, 0, 0)
        summary = summarize(events)
        if summary is None:  # exit code 2 says "changes": never guess their count
            raise UserError(f"terraform plan ({self.label}) reported changes but printed no count of them")
        return summary

    def changed_resources(self, plan_file: str) -> List[str]:
        return changed(json.loads(self._run("show", "-json", plan_file).stdout))

    def apply(self, plan_file: str = "tfplan", total: int = 0, verb: str = "applied",
              recoverable: Sequence[str] = ()) -> float:
        """Apply a saved plan, printing a progress line as resources complete and each error as it comes.

        Errors whose text contains one of ``recoverable`` are not echoed: the caller handles them (the
        apply still fails, and its UserError still names the first error).
        """
        started = time.perf_counter()
        done = [0]

        def progress(line: str) -> None:
            try:
                event = json.loads(line)
            except ValueError:
                return
            if event.get("type") == "apply_complete":
                done[0] += 1
                if done[0] == 1 or done[0] % 25 == 0 or done[0] == total:
                    print(f"  {self.label}: {done[0]}/{total or '?'} resources {verb} "
                          f"({time.perf_counter() - started:.0f} s)", flush=True)
            elif (event.get("type") == "diagnostic" and event.get("diagnostic", {}).get("severity") == "error"
                  and not self._killing and not any(r in line for r in recoverable)):
                print(f"  {self.label}: error: {event['diagnostic'].get('summary')}: "
                      f"{' '.join(event['diagnostic'].get('detail', '').split())[:400]}", file=sys.stderr, flush=True)

        self._run("apply", "-input=false", "-no-color", "-json", "-auto-approve", plan_file, on_line=progress)
        return time.perf_counter() - started

    def outputs(self) -> Dict[str, object]:
        raw = json.loads(self._run("output", "-json").stdout or "{}")
        return {name: value["value"] for name, value in raw.items()}

    def show_state(self) -> Dict[str, object]:
        """`terraform show -json` of the current state: every attribute as the API returned it."""
        return json.loads(self._run("show", "-json").stdout or "{}")

    def state_list(self) -> List[str]:
        result = self._run("state", "list", ok=(0, 1))
        return [line for line in result.stdout.splitlines() if line.strip()]


def _first_error(text: str) -> str:
    """The first diagnostic of terraform's output (human or -json), on one line."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            diag = event.get("diagnostic") or {}
            if diag.get("severity") == "error":
                return f"{diag.get('summary')}{_where(diag)}: {' '.join(str(diag.get('detail', '')).split())}"[:600]
            continue
        if "Error:" in line:
            detail = " ".join(x.strip(" │╷╵") for x in lines[i:i + 6] if x.strip(" │╷╵"))
            return " ".join(detail.split())[:600]
    tail = [x for x in lines if x.strip()][-3:]
    return " ".join(" ".join(tail).split())[:600] or "no output"


def _where(diagnostic: dict) -> str:
    """ (main.tf.json line 1, in output.x): where a -json diagnostic points, as terraform's human output says it."""
    filename = (diagnostic.get("range") or {}).get("filename")
    if not filename:
        return ""
    line = (diagnostic["range"].get("start") or {}).get("line")
    context = (diagnostic.get("snippet") or {}).get("context")
    return f" ({filename}{f' line {line}' if line else ''}{f', in {context}' if context else ''})"


def prepare_workdir(stack_dir: Path, workdir: Path, region: str, emulator: Optional[str]) -> Path:
    """Copy a synthesized stack into a work folder (keeping .terraform); with an emulator endpoint,
    add the provider override and the backend settings that reach the emulator's S3."""
    workdir.mkdir(parents=True, exist_ok=True)
    for item in stack_dir.iterdir():
        target = workdir / item.name
        if item.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(item, target)
        else:
            shutil.copy2(item, target)
    override, backend = workdir / OVERRIDE_FILE, workdir / BACKEND_FILE
    if emulator:
        override.write_text(json.dumps(emulator_override(region), indent=2))
        backend.write_text(emulator_backend_config(emulator))
    else:
        for path in (override, backend):
            if path.exists():
                path.unlink()
    return workdir
