"""Every entry point of the CI/CD pipeline workspace. `nox -l` lists the sessions.

Sessions share one toolchain virtualenv (.nox/toolchain, built from requirements.txt and rebuilt
when it changes), because the pinned AWS bindings are large and every session needs them. checkov
pins its own dependencies, so the policy gate has a virtualenv of its own.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import nox

ROOT = Path(__file__).resolve().parent
TOOLCHAIN = ROOT / ".nox" / "toolchain"
CHECKOV_ENV = ROOT / ".nox" / "checkov"
AUTHZ_NODE = ROOT / ".nox" / "authz-node"  # the authorization gate's policy evaluator, an npm package
AUTHZ_PACKAGE = ROOT / "cicd" / "policy" / "authz" / "simulator"
MUTATION_ENV = ROOT / ".nox" / "mutation"

nox.options.sessions = ["preview", "tests"]  # the safe ones; deploys must be asked for by name
nox.options.error_on_missing_interpreters = True

QUIET_ENV = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONDONTWRITEBYTECODE": "1"}


def _venv(session: nox.Session, where: Path, requirements: Path, includes: Tuple[Path, ...] = ()) -> str:
    """Create or refresh a shared virtualenv; return its python. Rebuilt when requirements (or includes) change."""
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = where / ".requirements.sha256"
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in (requirements, *includes))).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return str(python)
    session.log(f"installing {requirements.name} into {where.relative_to(ROOT)} (first run takes a few minutes)")
    session.run(sys.executable, "-m", "venv", "--clear", str(where), external=True)
    session.run(str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                str(requirements), external=True)
    stamp.write_text(digest)
    return str(python)


def authz_env(session: nox.Session) -> Dict[str, str]:
    """Install the authorization gate's policy evaluator (npm ci, pinned); the variable that points at it."""
    lock = AUTHZ_PACKAGE / "package-lock.json"
    stamp = AUTHZ_NODE / ".lock.sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        session.log("installing the policy evaluator (npm ci) into .nox/authz-node")
        AUTHZ_NODE.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            (AUTHZ_NODE / name).write_bytes((AUTHZ_PACKAGE / name).read_bytes())
        session.run("npm", "ci", "--prefix", str(AUTHZ_NODE), "--no-audit", "--no-fund", "--silent",
                    external=True)
        stamp.write_text(digest)
    return {"AUTHZ_NODE_MODULES": str(AUTHZ_NODE / "node_modules")}


def toolchain(session: nox.Session) -> str:
    return _venv(session, TOOLCHAIN, ROOT / "requirements.txt")


def run_py(session: nox.Session, *args: str, env: Dict[str, str] = None, success_codes: List[int] = None) -> None:
    session.run(toolchain(session), *args, external=True, env={**QUIET_ENV, **(env or {})},
                success_codes=success_codes or [0])


def _synth(session: nox.Session, regions: List[str]) -> None:
    args = [a for r in regions for a in ("--region", r)]
    run_py(session, "-m", "cicd.deploy.synth", *args, *session.posargs)


@nox.session(python=False)
def synth(session: nox.Session) -> None:
    """Synthesize both regions into cdktf.out/ (reuses the last output when no input changed; --force)."""
    _synth(session, [])


@nox.session(python=False, name="synth-east")
def synth_east(session: nox.Session) -> None:
    """Synthesize us-east-1 (primary) into cdktf.out/stacks/us-east-1."""
    _synth(session, ["us-east-1"])


@nox.session(python=False, name="synth-west")
def synth_west(session: nox.Session) -> None:
    """Synthesize us-west-2 (disaster recovery) into cdktf.out/stacks/us-west-2."""
    _synth(session, ["us-west-2"])


@nox.session(python=False)
def preview(session: nox.Session) -> None:
    """Render and check every template for both regions (no cdktf). Options: --region/--stage/--service, --diff."""
    run_py(session, "-m", "cicd.docs.preview", *session.posargs)


@nox.session(python=False)
def diagram(session: nox.Session) -> None:
    """Mermaid pipeline diagram + overview per region from cdktf.out (no cdktf). --update-readme/--check-readme/--write."""
    run_py(session, "-m", "cicd.docs.diagram", *session.posargs)


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The test suite on every core, without the emulator deploys (`nox -s e2e`): config, templates, stack + `terraform validate`, policy gates, Lambda, emulator patches."""
    # loadfile: a module's tests run on one worker, so tests that share a run-wide build (a synth, the one
    # terraform validate) and sit side by side in a module do not leave a second worker waiting on its lock.
    _pytest(session, "not e2e", "auto", "loadfile")


@nox.session(python=False)
def e2e(session: nox.Session) -> None:
    """The end-to-end tests: real terraform applies into the local emulator (failover, state lock, rehearsal, Git-host source, drift)."""
    # One worker per unit of work (tests/work_units.py: a module's tests share its emulator and deploy, so one
    # worker runs each module; the Git-host variant's two regions apart): seven units, all at once on any
    # machine, as they mostly wait on the provider (load balancers, lifecycle rules). 4 workers: 499 s here.
    _pytest(session, "e2e", "7", "loadfile")


def _pytest(session: nox.Session, marker: str, workers: str, dist: str) -> None:
    # The policy test runs the pinned checkov on the session's synth output.
    checkov = Path(_venv(session, CHECKOV_ENV, ROOT / "requirements-policy.txt")).parent / "checkov"
    # Bytecode caches are written (__pycache__, git-ignored) even where the environment turns them off
    # (PYTHONDONTWRITEBYTECODE=1): otherwise every worker and every CLI run a test starts compiles the project
    # and rewrites the test modules again, ~1.5 s of CPU per process. An empty value counts as unset.
    run_py(session, "-m", "pytest", "-n", workers, "--dist", dist, "-m", marker, *(session.posargs or ["-q"]),
           env={"CHECKOV_BIN": str(checkov), "PYTHONDONTWRITEBYTECODE": "", **authz_env(session)})


@nox.session(python=False)
def policy(session: nox.Session) -> None:
    """Synthesize both regions; checkov, then the authorization gate (grants vs AWS's data, run-time flows)."""
    run_py(session, "-m", "cicd.deploy.synth")
    checkov = Path(_venv(session, CHECKOV_ENV, ROOT / "requirements-policy.txt")).parent / "checkov"
    run_py(session, "-m", "cicd.policy.checkov", "--checkov", str(checkov), *session.posargs)
    run_py(session, "-m", "cicd.policy.authz", env=authz_env(session))


@nox.session(python=False, default=False)
def mutation(session: nox.Session) -> None:
    """Mutation testing (mutmut) of the modules in mutation.yml with their fast tests; killed % per module. --ci: bounded."""
    # Its own venv: the toolchain plus mutmut (requirements-mutation.txt includes requirements.txt).
    python = _venv(session, MUTATION_ENV, ROOT / "requirements-mutation.txt", (ROOT / "requirements.txt",))
    session.run(python, "-m", "cicd.quality.mutation", *session.posargs, external=True, env=QUIET_ENV)


def deploy(session: nox.Session, region: str) -> None:
    run_py(session, "-m", "cicd.deploy.cli", "deploy", region, *session.posargs)


@nox.session(python=False, name="deploy-east", default=False)
def deploy_east(session: nox.Session) -> None:
    """Synth, plan and (after confirmation) apply us-east-1. Options: --auto-approve/--yes, --emulator URL, --unlock ID."""
    deploy(session, "us-east-1")


@nox.session(python=False, name="deploy-west", default=False)
def deploy_west(session: nox.Session) -> None:
    """Synth, plan and (after confirmation) apply us-west-2. Options: --auto-approve/--yes, --emulator URL, --unlock ID."""
    deploy(session, "us-west-2")


@nox.session(python=False, name="bootstrap-east", default=False)
def bootstrap_east(session: nox.Session) -> None:
    """Create us-east-1's Terraform state bucket (versioned, encrypted, private, TLS only); idempotent. --emulator URL."""
    run_py(session, "-m", "cicd.deploy.cli", "bootstrap", "us-east-1", *session.posargs)


@nox.session(python=False, name="bootstrap-west", default=False)
def bootstrap_west(session: nox.Session) -> None:
    """Create us-west-2's Terraform state bucket (versioned, encrypted, private, TLS only); idempotent. --emulator URL."""
    run_py(session, "-m", "cicd.deploy.cli", "bootstrap", "us-west-2", *session.posargs)


@nox.session(python=False, default=False)
def emulator(session: nox.Session) -> None:
    """Main job, no AWS account needed: both regions applied into local AWS emulators, drift-checked, destroyed."""
    run_py(session, "-m", "cicd.emulator.run", *session.posargs, env=authz_env(session))


@nox.session(python=False, default=False)
def failover(session: nox.Session) -> None:
    """Promote us-west-2 to serve production (disaster recovery). Options: --auto-approve, --emulator URL."""
    run_py(session, "-m", "cicd.deploy.cli", "failover", "us-west-2", *session.posargs)


@nox.session(python=False, default=False)
def bench(session: nox.Session) -> None:
    """Synth time and memory vs a provider-only floor and lean floor (ratios), preview, no-op synth. --runs N, --json, --profile."""
    run_py(session, "-m", "bench.run", *session.posargs)


@nox.session(default=False)
def lint(session: nox.Session) -> None:
    """ruff on every Python file."""
    session.install("ruff==0.8.6")
    session.run("ruff", "check", "cicd", "stack", "lambda", "bench", "tests", "noxfile.py")
