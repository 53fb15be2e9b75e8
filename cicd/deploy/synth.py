"""`nox -s synth`: synthesize regions into cdktf.out/stacks/<region>, atomically, reusing unchanged output.

Every input that feeds the synthesized JSON is hashed into a fingerprint stored beside each region's
output: environment files, templates, the stack, config and rendering code, the Lambda's code,
pinned versions, cdktf.json, the promotion flag and a `DEPLOYMENT_ID` override. When the
fingerprint is unchanged the previous output is reused without starting jsii (and keeps its
deployment ID: nothing new is being deployed). `--force` always synthesizes.

A failed synth never leaves a half-written region folder: each region is synthesized into a
temporary folder and swapped in only when the whole app synthesized.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from cicd.workspace.config import ROOT, load_all
from cicd.workspace.errors import UserError, run_cli

FINGERPRINT_FILE = ".inputs.sha256"
# What feeds the synthesized output; anything else (tests, docs, the noxfile) does not.
INPUT_GLOBS = ("environments/*/.env", "templates/**/*", "stack/**/*.py", "cicd/**/*.py",
               "lambda/health_check/*.py", "requirements.txt", "cdktf.json")


def input_files(root: Optional[Path] = None) -> List[Path]:
    root = root or ROOT  # looked up per call, so a test can point the whole CLI at a copy of the inputs
    files = {p for pattern in INPUT_GLOBS for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts}
    return sorted(files)


def fingerprint(region: str, promoted: bool, environ: Dict[str, str], root: Optional[Path] = None) -> str:
    root = root or ROOT
    digest = hashlib.sha256()
    for path in input_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"region={region}\0promoted={promoted}\0".encode())
    digest.update(f"DEPLOYMENT_ID={environ.get('DEPLOYMENT_ID', '').strip()}\0".encode())
    digest.update(f"python={sys.version_info[:2]}\0".encode())
    return digest.hexdigest()


def _stored(out: Path, region: str) -> Optional[str]:
    stamp = out / "stacks" / region / FINGERPRINT_FILE
    return stamp.read_text().strip() if stamp.is_file() else None


def stale_regions(regions: Sequence[str], prints: Dict[str, str], out: Path, force: bool = False) -> List[str]:
    """The regions to synthesize: all with `force`, else those whose stored fingerprint is not `prints`'s."""
    return [r for r in regions if force or _stored(out, r) != prints[r]]


def synthesize(regions: Sequence[str], promote: Iterable[str], out: Path) -> None:
    """Run the CDKTF app for `regions` into a temporary folder, then swap each region into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".synth-", dir=out))
    try:
        from stack.app import main as app_main

        previous = os.environ.get("CDKTF_OUTDIR")
        os.environ["CDKTF_OUTDIR"] = str(scratch)
        try:
            app_main([a for r in regions for a in ("--region", r)] + [a for r in promote for a in ("--promote", r)])
        finally:
            if previous is None:
                os.environ.pop("CDKTF_OUTDIR", None)
            else:
                os.environ["CDKTF_OUTDIR"] = previous
        (out / "stacks").mkdir(exist_ok=True)
        for region in regions:
            target = out / "stacks" / region
            old = out / f".old-{region}"
            if target.exists():
                target.rename(old)
            (scratch / "stacks" / region).rename(target)
            shutil.rmtree(old, ignore_errors=True)
        if (scratch / "manifest.json").exists():
            shutil.copy2(scratch / "manifest.json", out / "manifest.json")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s synth --", description=__doc__.splitlines()[0])
    parser.add_argument("--region", action="append", default=[], help="only this region (repeatable)")
    parser.add_argument("--promote", action="append", default=[], help="synthesize this region as primary (DR)")
    parser.add_argument("--force", action="store_true", help="synthesize even when no input changed")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("CDKTF_OUTDIR", ROOT / "cdktf.out")))
    args = parser.parse_args(argv)

    configs = load_all()  # a bad .env fails here, in a second, before jsii starts
    known = [c.region for c in configs]
    for region in args.region + args.promote:
        if region not in known:
            raise UserError(f"--region/--promote {region}: no environments/{region}/.env; allowed: {', '.join(known)}")
    regions = args.region or known
    prints = {r: fingerprint(r, r in args.promote, dict(os.environ)) for r in regions}
    stale = stale_regions(regions, prints, args.out, force=args.force)
    for region in regions:
        if region not in stale:
            print(f"{region}: inputs unchanged, reusing {args.out / 'stacks' / region} (--force to synthesize)")
    if not stale:
        return 0
    started = time.perf_counter()
    print(f"synthesizing {', '.join(stale)} (starting jsii and the AWS provider bindings takes a few seconds) ...",
          flush=True)
    synthesize(stale, [r for r in args.promote if r in stale], args.out)
    for region in stale:
        (args.out / "stacks" / region / FINGERPRINT_FILE).write_text(prints[region] + "\n")
        print(f"{region}: synthesized into {args.out / 'stacks' / region}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
