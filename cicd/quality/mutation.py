"""`nox -s mutation`: mutation testing of the modules that carry the product's claims (mutmut 3).

mutation.yml lists the modules, the fast tests that guard each, and the surviving mutants known to be
equivalent (with the reason). Each group of modules is mutated in a scratch copy of the workspace, so
the work tree is never touched; mutmut runs, for each mutant, only the tests that reach the mutated
function. The table gives, per module, the share of its mutants that a test killed, not counting the
listed equivalent ones; the run fails when a module is under the threshold or (in the full run) a
surviving mutant is neither killed nor listed. `--ci` is the bounded run: no slow tests (the real
terraform plan), and only every n-th mutant of each module (its `ci_sample` in mutation.yml).

The Lambda's modules are imported by their file names (the function folder goes on sys.path, as in
the Lambda runtime), while mutmut names a module by its path; they are therefore mutated from a
`src/` folder of the scratch copy (mutmut strips `src.`), and left out of the copied function folder.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "mutation.yml"
SCRATCH = ROOT / ".mutation"
COPIED = ("cicd", "stack", "lambda", "tests", "environments", "templates", "cdktf.json", "requirements.txt",
          "README.md")  # README: tests check the keys it documents
LAMBDA_DIR = "lambda/health_check/"
IGNORED = shutil.ignore_patterns("__pycache__", ".terraform", "cdktf.out", ".pytest_cache", "*.pyc")
KILLED = {"killed", "timeout", "caught by type check"}  # a mutant that hangs the tests is detected too


@dataclass
class Module:
    path: str
    tests: List[str]
    functions: List[str]
    slow: List[str]
    slow_functions: List[str]
    ci: bool
    ci_sample: int
    group: str

    @property
    def source(self) -> str:
        """Where mutmut sees the module in the scratch copy."""
        return "src/" + self.path[len(LAMBDA_DIR):] if self.path.startswith(LAMBDA_DIR) else self.path

    @property
    def dotted(self) -> str:
        name = self.source[:-len(".py")].replace("/", ".")
        return name[len("src."):] if name.startswith("src.") else name

    def globs(self, full: bool) -> List[str]:
        return [f"{self.dotted}.{g}" for g in self.functions + (self.slow_functions if full else [])]


@dataclass
class Score:
    module: Module
    statuses: Dict[str, str] = field(default_factory=dict)
    equivalent: List[str] = field(default_factory=list)
    unlisted: Dict[str, str] = field(default_factory=dict)  # surviving mutant -> its mutated line

    @property
    def killed(self) -> int:
        return sum(s in KILLED for s in self.statuses.values())

    @property
    def counted(self) -> int:
        return len(self.statuses) - len(self.equivalent)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.counted if self.counted else 100.0


def load_config(path: Path = CONFIG) -> tuple:
    raw = yaml.safe_load(path.read_text())
    modules = [Module(path=m["path"], tests=list(m.get("tests") or []), functions=list(m.get("functions", ["*"])),
                      slow=list(m.get("slow") or []), slow_functions=list(m.get("slow_functions") or []),
                      ci=bool(m.get("ci", True)), ci_sample=int(m.get("ci_sample", raw.get("ci_sample", 3))),
                      group=str(m.get("group") or ("lambda" if m["path"].startswith(LAMBDA_DIR) else "workspace")))
               for m in raw["modules"]]
    return float(raw.get("threshold", 85)), modules, list(raw.get("equivalent") or [])


def _prepare(work: Path, modules: Sequence[Module], full: bool, max_children: int) -> None:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=IGNORED)
        elif source.exists():
            shutil.copy2(source, work / name)
    for module in modules:
        if module.source != module.path:
            (work / module.source).parent.mkdir(parents=True, exist_ok=True)
            (work / module.path).rename(work / module.source)
    tests = sorted({t for m in modules for t in m.tests + (m.slow if full else [])})
    lines = ["[mutmut]", "source_paths =", *[f"    {m.source}" for m in modules],
             "also_copy =", *[f"    {name}" for name in COPIED],
             "pytest_add_cli_args_test_selection =", *[f"    {t}" for t in tests],
             "pytest_add_cli_args =", "    -p", "    no:cacheprovider",
             "use_git_change_detection = false", ""]
    (work / "setup.cfg").write_text("\n".join(lines))


_SHOW = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
names, path = json.loads(sys.stdin.read())
lines = {}
for name in names:
    diff = get_diff_for_mutant(name, path=path)
    added = [l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    lines[name] = added[0] if added else "(line removed)"
print(json.dumps(lines))
"""


def _mutated_lines(work: Path, names: Sequence[str], source: str) -> Dict[str, str]:
    """The mutated line of each mutant (as `mutmut show` prints it), in one process for all of them."""
    if not names:
        return {}
    shown = subprocess.run([sys.executable, "-c", _SHOW], cwd=work, input=json.dumps([list(names), source]),
                           capture_output=True, text=True, timeout=600, check=True).stdout
    return json.loads(shown)


def run_group(modules: Sequence[Module], equivalent: List[dict], full: bool, sample: Optional[int], max_children: int,
              keep: bool) -> List[Score]:
    SCRATCH.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=SCRATCH))
    try:
        _prepare(work, modules, full, max_children)
        globs = [g for m in modules for g in m.globs(full)]
        if not globs:
            return [Score(m) for m in modules]
        log = work / "mutmut.log"
        with log.open("w") as out:
            code = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children),
                                   *_sampled(work, modules, full, sample)], cwd=work, stdout=out,
                                  stderr=subprocess.STDOUT, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}).returncode
        if code != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise SystemExit(f"mutmut failed (exit {code}) for {', '.join(m.path for m in modules)}:\n{tail}")
        return [_score(work, m, equivalent, full) for m in modules]
    finally:
        if keep:
            print(f"scratch copy kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _all_mutants(work: Path, module: Module, full: bool) -> List[str]:
    meta = work / "mutants" / (module.source + ".meta")
    if not meta.exists():
        return []
    names = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(n for n in names if any(fnmatch.fnmatchcase(n, g) for g in module.globs(full)))


def _sampled(work: Path, modules: Sequence[Module], full: bool, sample: Optional[int]) -> List[str]:
    """The mutant names to run: all of them, or every n-th of each module (`sample`, else its `ci_sample`)."""
    globs = [g for m in modules for g in m.globs(full)]
    if sample is not None and sample <= 1:
        return globs
    # Generating the mutants is cheap and needs no tests: let mutmut do it, then pick by name.
    subprocess.run([sys.executable, "-c", "import mutmut.__main__ as m; m.set_mutant_under_test('mutant_generation');"
                    "m.makedirs('mutants', exist_ok=True); m.copy_src_dir(); m.copy_also_copy_files();"
                    "m.create_mutants(1)"], cwd=work, check=True, capture_output=True)
    names = [n for m in modules for n in _all_mutants(work, m, full)[::sample or m.ci_sample]]
    return names or globs


def _score(work: Path, module: Module, equivalent: List[dict], full: bool) -> Score:
    from mutmut.stats import status_by_exit_code

    meta = work / "mutants" / (module.source + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    score = Score(module)
    for name in _all_mutants(work, module, full):
        if codes.get(name) is None:
            continue  # not run: left out by --sample
        score.statuses[name] = status_by_exit_code[codes[name]]
    alive = [name for name, status in score.statuses.items() if status not in KILLED]
    for name, line in _mutated_lines(work, alive, module.source).items():
        function = name.rsplit(".", 1)[1].partition("__mutmut_")[0]
        if any(e["module"] == module.path and e["function"] == function and e["line"] == line for e in equivalent):
            score.equivalent.append(name)
        else:
            score.unlisted[name] = f"{score.statuses[name]}: {line}"
    return score


def report(scores: Sequence[Score], threshold: float) -> str:
    rows = [("module", "mutants", "killed", "equivalent", "not killed", "killed %")]
    for s in scores:
        rows.append((s.module.path, str(len(s.statuses)), str(s.killed), str(len(s.equivalent)),
                     str(len(s.unlisted)), f"{s.percent:.1f}" if s.statuses else "not run (slow tests only)"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for s in scores:
        for name, what in sorted(s.unlisted.items()):
            lines.append(f"not killed, not listed as equivalent in mutation.yml: {name} ({what})")
    lines.append(f"threshold: {threshold:.0f} % of each module's non-equivalent mutants killed")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s mutation --", description=__doc__.splitlines()[0])
    parser.add_argument("--ci", action="store_true", help="bounded run: no slow tests, a sample of each module's mutants")
    parser.add_argument("--sample", type=int, help="run every N-th mutant of each module (default: all; with --ci, "
                                                 "each module's ci_sample in mutation.yml)")
    parser.add_argument("--module", action="append", default=[], help="only this module path (repeatable)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested in parallel (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies under .mutation/")
    args = parser.parse_args(argv)
    threshold, modules, equivalent = load_config()
    unknown = sorted(set(args.module) - {m.path for m in modules})
    if unknown:
        parser.error(f"--module {unknown[0]}: not in mutation.yml; allowed: {', '.join(m.path for m in modules)}")
    chosen = [m for m in modules if (not args.module or m.path in args.module) and (m.ci or not args.ci)]
    full = not args.ci
    sample = args.sample if args.sample is not None else (None if args.ci else 1)
    started = time.perf_counter()
    scores: List[Score] = []
    # One mutmut run per group (the Lambda's modules and the workspace's share no tests or imports): mutmut
    # selects tests per function among the group's tests, so a module with fast tests of its own gets a group.
    for name in dict.fromkeys(m.group for m in chosen):
        group = [m for m in chosen if m.group == name]
        if group:
            print(f"mutating {', '.join(m.path for m in group)} ...", flush=True)
            scores.extend(run_group(group, equivalent, full, sample, args.max_children, args.keep))
    print(report(scores, threshold))
    print(f"mutation run ({'ci: sampled, no slow tests' if args.ci else 'full'}) "
          f"took {time.perf_counter() - started:.0f} s")
    # The bounded CI run gates on the threshold; the full run also on survivors nobody has looked at.
    failed = [s for s in scores if s.statuses and (s.percent < threshold or (s.unlisted and not args.ci))]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
