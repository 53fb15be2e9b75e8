"""`nox -s policy`: run checkov on the synthesized regions and apply the suppressions the stack declares.

checkov's terraform_json runner honours no inline skip comments, so the stack records each
suppression on the resource it applies to, with its reason, as a Terraform JSON comment (Terraform
ignores properties named "//"; cdktf already writes its metadata there):

    "aws_cloudwatch_log_group": {"<logical id>": {"//": {"checkov_skip": {"CKV_AWS_338": "<reason>"},
                                                         "metadata": {...}}, ...}}

(`stack/policy.py` writes it.) This gate runs checkov with JSON output on `<out>/stacks`, maps every
failed check to its resource in that region's cdk.tf.json and counts it as suppressed only when that
resource carries a skip for that check id with a non-empty reason. It fails (exit 1) on any
unsuppressed failure, on any stale suppression (a skip that matches no failure, so the list stays
honest), on a malformed annotation, and when more than MAX_SUPPRESSED_IDS distinct check ids are
suppressed. A missing checkov binary or synth output is a one-line error (exit 2).

Never imports cdktf.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from cicd.workspace.annotations import CHECK_ID, COMMENT_KEY, SKIP_KEY
from cicd.workspace.config import ROOT
from cicd.workspace.errors import UserError, run_cli

MAX_SUPPRESSED_IDS = 20  # a budget: more distinct suppressed checks means the stack should be fixed
CHECKOV_ARGS = ("--framework", "terraform_json", "--quiet", "--compact", "-o", "json", "--skip-download")
CHECKOV_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Failure:
    """One failed checkov result."""
    check_id: str
    check_name: str
    region: str
    resource: str  # "<type>.<logical id>" when found in the stack, else what checkov reported


@dataclass(frozen=True)
class Skip:
    """One suppression declared on a resource of a region's cdk.tf.json."""
    region: str
    resource: str  # "<type>.<logical id>"
    check_id: str
    reason: str


@dataclass
class Result:
    passed: int = 0
    failed: int = 0
    regions: Tuple[str, ...] = ()
    checkov_version: str = "?"
    suppressed: List[Tuple[Failure, Skip]] = field(default_factory=list)
    unsuppressed: List[Failure] = field(default_factory=list)
    stale: List[Skip] = field(default_factory=list)
    invalid: List[str] = field(default_factory=list)  # malformed annotations, one line each

    @property
    def suppressed_ids(self) -> List[str]:
        return sorted({f.check_id for f, _ in self.suppressed})

    @property
    def ok(self) -> bool:
        return (not self.unsuppressed and not self.stale and not self.invalid
                and len(self.suppressed_ids) <= MAX_SUPPRESSED_IDS)


# --- reading the synthesized stacks ---------------------------------------------------------------

def load_stacks(stacks_dir: Path) -> Dict[str, Dict[str, Any]]:
    """region -> parsed cdk.tf.json of every region folder under `stacks_dir`."""
    if not stacks_dir.is_dir():
        raise UserError(f"no synthesized output at {stacks_dir}: run `nox -s synth` first (or pass --out)")
    docs = {}
    for path in sorted(stacks_dir.glob("*/cdk.tf.json")):
        try:
            docs[path.parent.name] = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"{path}: not readable as JSON ({err})") from None
    if not docs:
        raise UserError(f"no <region>/cdk.tf.json under {stacks_dir}: run `nox -s synth` first (or pass --out)")
    return docs


def declared_skips(region: str, doc: Mapping[str, Any]) -> Tuple[List[Skip], List[str]]:
    """Every skip annotation of one region (resources and data sources), and the malformed ones."""
    skips: List[Skip] = []
    invalid: List[str] = []
    for block in ("resource", "data"):
        for rtype, items in (doc.get(block) or {}).items():
            if not isinstance(items, dict):
                continue
            for name, body in items.items():
                comment = body.get(COMMENT_KEY) if isinstance(body, dict) else None
                if not isinstance(comment, dict) or SKIP_KEY not in comment:
                    continue
                address = f"{'data.' if block == 'data' else ''}{rtype}.{name}"
                entries = comment[SKIP_KEY]
                if not isinstance(entries, dict):
                    invalid.append(f"{region} {address}: {SKIP_KEY} must map check ids to reasons")
                    continue
                for check_id, reason in entries.items():
                    if not CHECK_ID.match(str(check_id)):
                        invalid.append(f"{region} {address}: {check_id!r} is not a checkov check id")
                    elif not isinstance(reason, str) or not reason.strip():
                        invalid.append(f"{region} {address}: skip of {check_id} has no reason")
                    skips.append(Skip(region, address, str(check_id), reason if isinstance(reason, str) else ""))
    return skips, invalid


def _locate(doc: Mapping[str, Any], reported: str) -> Optional[str]:
    """The "<type>.<logical id>" checkov means by `reported`.

    checkov names resources "<type>.<name>" in graph checks but "resource.<name>" (or "data.<name>")
    in resource checks; cdktf's logical ids are unique in a stack, so the name alone finds it.
    """
    prefix, _, name = reported.partition(".")
    if not name:
        return None
    if prefix not in ("resource", "data"):
        if name in ((doc.get("resource") or {}).get(prefix) or {}):
            return f"{prefix}.{name}"
        if name in ((doc.get("data") or {}).get(prefix) or {}):
            return f"data.{prefix}.{name}"
        return None
    matches = [rtype for rtype, items in (doc.get(prefix) or {}).items() if isinstance(items, dict) and name in items]
    if len(matches) != 1:
        return None
    return f"{'data.' if prefix == 'data' else ''}{matches[0]}.{name}"


# --- classifying checkov's report -----------------------------------------------------------------

def _reports(raw: Any) -> List[Mapping[str, Any]]:
    """checkov prints one report object per framework (a list when several ran)."""
    reports = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(r, dict) for r in reports):
        raise UserError("checkov's JSON output is not a report object or a list of them")
    return reports


def _region_of(check: Mapping[str, Any], docs: Mapping[str, Any]) -> Optional[str]:
    for key in ("file_abs_path", "file_path", "repo_file_path"):
        value = check.get(key)
        if value:
            region = Path(str(value)).parent.name
            if region in docs:
                return region
    return None


def classify(raw_report: Any, docs: Mapping[str, Mapping[str, Any]]) -> Result:
    """Split checkov's failed checks into suppressed and unsuppressed; find stale and malformed skips."""
    result = Result(regions=tuple(sorted(docs)))
    skips: Dict[Tuple[str, str, str], Skip] = {}
    for region, doc in docs.items():
        declared, invalid = declared_skips(region, doc)
        result.invalid.extend(invalid)
        for skip in declared:
            skips[(skip.region, skip.resource, skip.check_id)] = skip
    used = set()
    for report in _reports(raw_report):
        summary = report.get("summary", report)
        result.passed += int(summary.get("passed", 0))
        result.failed += int(summary.get("failed", 0))
        result.checkov_version = str(summary.get("checkov_version", result.checkov_version))
        for check in (report.get("results") or {}).get("failed_checks") or []:
            check_id = str(check.get("check_id"))
            region = _region_of(check, docs)
            reported = str(check.get("resource"))
            address = _locate(docs[region], reported) if region else None
            failure = Failure(check_id, str(check.get("check_name") or ""), region or str(check.get("file_path")),
                              address or reported)
            skip = skips.get((region, address, check_id)) if address else None
            if skip is not None and skip.reason.strip():
                result.suppressed.append((failure, skip))
                used.add((skip.region, skip.resource, skip.check_id))
            else:
                result.unsuppressed.append(failure)
    result.stale = [s for key, s in sorted(skips.items()) if key not in used and s.reason.strip()]
    return result


# --- running checkov ------------------------------------------------------------------------------

def resolve_checkov(checkov: str) -> str:
    path = Path(checkov)
    if path.parent != Path(".") or os.sep in checkov:
        if not path.is_file():
            raise UserError(f"--checkov {checkov}: no such file; build it with `nox -s policy` "
                            f"(pip install -r requirements-policy.txt)")
        if not os.access(str(path), os.X_OK):
            raise UserError(f"--checkov {checkov}: not executable")
        return str(path)
    found = shutil.which(checkov)
    if not found:
        raise UserError(f"--checkov {checkov}: not found on PATH; build it with `nox -s policy` "
                        f"(pip install -r requirements-policy.txt)")
    return found


def run_checkov(checkov: str, stacks_dir: Path) -> Any:
    """checkov's parsed JSON report on `stacks_dir` (exit 0: all passed, 1: some failed)."""
    command = [resolve_checkov(checkov), "-d", str(stacks_dir), *CHECKOV_ARGS]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_SECONDS)
    except OSError as err:
        raise UserError(f"--checkov {checkov}: cannot run it ({err.strerror or err})") from None
    except subprocess.TimeoutExpired:
        raise UserError(f"checkov did not finish within {CHECKOV_TIMEOUT_SECONDS} s") from None
    last_error = next((line for line in reversed(proc.stderr.splitlines()) if line.strip()), "")
    if proc.returncode not in (0, 1):
        raise UserError(f"checkov exited with {proc.returncode}: {last_error or 'no error output'}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise UserError(f"checkov printed no JSON report (exit {proc.returncode}): "
                        f"{last_error or proc.stdout.strip()[:200] or 'no output'}") from None


def evaluate(checkov: str, out: Path) -> Result:
    stacks = out / "stacks"
    docs = load_stacks(stacks)  # before paying for checkov
    return classify(run_checkov(checkov, stacks), docs)


# --- reporting ------------------------------------------------------------------------------------

def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(result: Result) -> str:
    parts = [f"checkov {result.checkov_version} on {', '.join(result.regions)}: "
             f"{result.passed} passed, {result.failed} failed"]
    counts: Counter = Counter()
    for failure, skip in result.suppressed:
        counts[(failure.check_id, skip.reason)] += 1
    if counts:
        rows = [(check_id, str(n), reason) for (check_id, reason), n in sorted(counts.items())]
        parts.append("\nSuppressed (declared in the stack, with their reason):\n"
                     + _table(("check", "count", "reason"), rows))
    if result.unsuppressed:
        rows = [(f.check_id, f.region, f.resource, f.check_name)
                for f in sorted(result.unsuppressed, key=lambda f: (f.check_id, f.region, f.resource))]
        parts.append("\nUnsuppressed failures (fix the stack, or skip with a reason where it applies):\n"
                     + _table(("check", "region", "resource", "name"), rows))
    if result.stale:
        rows = [(s.check_id, s.region, s.resource, s.reason) for s in result.stale]
        parts.append("\nStale suppressions (the check passes or no longer applies: remove the skip):\n"
                     + _table(("check", "region", "resource", "reason"), rows))
    if result.invalid:
        parts.append("\nMalformed suppressions:\n" + "\n".join(f"  {line}" for line in result.invalid))
    by_region: Dict[str, int] = defaultdict(int)
    for failure, _ in result.suppressed:
        by_region[failure.region] += 1
    ids = result.suppressed_ids
    parts.append(
        f"\nsuppressed: {len(result.suppressed)} results "
        f"({', '.join(f'{r} {n}' for r, n in sorted(by_region.items())) or 'none'}), "
        f"{len(ids)} distinct check ids (budget {MAX_SUPPRESSED_IDS}); "
        f"unsuppressed: {len(result.unsuppressed)}; stale: {len(result.stale)}; malformed: {len(result.invalid)}")
    if len(ids) > MAX_SUPPRESSED_IDS:
        parts.append(f"too many distinct suppressed check ids: {len(ids)} > {MAX_SUPPRESSED_IDS}")
    parts.append(f"policy gate: {'PASSED' if result.ok else 'FAILED'}")
    return "\n".join(parts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.policy.checkov", description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", required=True, help="the checkov executable (path, or a name on PATH)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("CDKTF_OUTDIR", ROOT / "cdktf.out")),
                        help="synth output folder holding stacks/<region>/cdk.tf.json (default cdktf.out)")
    args = parser.parse_args(argv)
    result = evaluate(args.checkov, args.out)
    print(report(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(run_cli(main))
