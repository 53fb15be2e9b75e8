"""`nox -s deploy-east|deploy-west|failover`: synth, init, plan, confirm, apply, print the outputs.

    python -m cicd.deploy deploy REGION [--auto-approve] [--emulator [URL]]
    python -m cicd.deploy failover REGION [--auto-approve] [--emulator [URL]]

Against AWS (the default) state lives in the region's S3 backend from its .env. With `--emulator URL`
it targets a running local emulator (`nox -s emulator -- --keep` prints one), with local state under
.emulator/port-<port>/<region>; `--emulator` alone starts a fresh emulator for this run only.
`failover` synthesizes the region as primary (full production footprint) and applies it; it reads
nothing from any other region, so it works while the primary region is down.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence
from urllib.parse import urlparse

from cicd import source_notice, synth
from cicd.config import ROOT, load_all
from cicd.errors import UserError, run_cli
from cicd.terraform import PlanSummary, Terraform, prepare_workdir

# Local working state (terraform data, emulator state); CICD_WORK_DIR relocates it (tests do).
WORK_DIR = Path(os.environ.get("CICD_WORK_DIR", ROOT))
DEPLOY_DIR = WORK_DIR / ".deploy"
EMULATOR_DIR = WORK_DIR / ".emulator"


def synth_out() -> Path:
    return Path(os.environ.get("CDKTF_OUTDIR", ROOT / "cdktf.out"))


def emulator_workroot(port: int) -> Path:
    """Local state for everything deployed into the emulator on `port` (shared by all sessions)."""
    return EMULATOR_DIR / f"port-{port}"


def check_aws_credentials(region: str) -> str:
    """Fail before anything is touched when no usable AWS credentials are configured."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        identity = boto3.client("sts", region_name=region).get_caller_identity()
    except NoCredentialsError:
        raise UserError("AWS credentials: none found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                        "(or use --emulator for the local emulator)") from None
    except ClientError as err:
        raise UserError(f"AWS credentials: rejected by STS ({err.response['Error'].get('Code')}); "
                        "refresh them (aws sso login / new keys) and retry") from None
    except BotoCoreError as err:
        raise UserError(f"AWS credentials: {' '.join(str(err).split())}") from None
    return identity["Account"]


def print_outputs(region: str, outputs: Dict[str, object]) -> None:
    rows = []
    for name, value in sorted(outputs.items()):
        if isinstance(value, dict):
            rows.extend((f"{name}[{k}]", str(v)) for k, v in sorted(value.items()))
        else:
            rows.append((name, str(value)))
    width = max((len(k) for k, _ in rows), default=0)
    print(f"\nOutputs of {region}:")
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
    for line in source_notice.pending_connection(region, outputs):
        print(line)


def confirm(region: str, summary: PlanSummary, auto_approve: bool) -> bool:
    if auto_approve:
        return True
    if not sys.stdin.isatty():
        raise UserError(f"{region}: plan has changes ({summary}) and there is no terminal to confirm on; "
                        "re-run with --auto-approve")
    answer = input(f"Apply to {region}: {summary}? Only 'yes' is accepted: ").strip()
    return answer == "yes"


def apply_region(region: str, env: Dict[str, str], workdir: Path, emulator: bool, auto_approve: bool,
                 promote: bool = False) -> Dict[str, object]:
    """Synth (reusing unchanged output), plan, confirm and apply one region; return its outputs."""
    synth.main(["--region", region] + (["--promote", region] if promote else []))
    prepare_workdir(synth_out() / "stacks" / region, workdir, region, emulator)
    tf = Terraform(workdir, env=env, label=region)
    print(f"{region}: terraform init ({'local state, emulator' if emulator else 'S3 backend'})", flush=True)
    tf.init()
    summary = tf.plan()
    print(f"{region}: plan: {summary}", flush=True)
    if summary.changes:
        if not confirm(region, summary, auto_approve):
            print(f"{region}: not applied")
            return {}
        seconds = tf.apply(total=summary.add + summary.change + summary.destroy)
        print(f"{region}: applied in {seconds:.0f} s", flush=True)
    outputs = tf.outputs()
    print_outputs(region, outputs)
    return outputs


@contextlib.contextmanager
def target(emulator_url: Optional[str], region: str) -> Iterator[tuple]:
    """(environment, workdir, emulator?) for AWS, a running emulator URL, or a fresh one ('start')."""
    if emulator_url is None:
        check_aws_credentials(region)
        yield {}, DEPLOY_DIR / region, False
        return
    from cicd.emulator import Emulator, start

    if emulator_url == "start":
        with start() as emulator:
            print(f"emulator started at {emulator.endpoint} for this run", flush=True)
            try:
                yield emulator.subprocess_env(region), emulator_workroot(emulator.port) / region, True
            finally:
                # The emulator's state dies with it: so does the local state describing it.
                shutil.rmtree(emulator_workroot(emulator.port), ignore_errors=True)
        return
    parsed = urlparse(emulator_url)
    if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost") or not parsed.port:
        raise UserError(f"--emulator {emulator_url}: allowed: http://127.0.0.1:PORT (a local emulator)")
    running = Emulator(server=None, host=parsed.hostname, port=parsed.port)  # attach only: never stopped here
    yield running.subprocess_env(region), emulator_workroot(parsed.port) / region, True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["deploy", "failover"])
    parser.add_argument("region")
    parser.add_argument("--auto-approve", action="store_true", help="apply without asking")
    parser.add_argument("--emulator", nargs="?", const="start", metavar="URL",
                        help="target a local emulator (URL of a running one; alone: start one for this run)")
    args = parser.parse_args(argv)
    known = {c.region: c for c in load_all()}
    if args.region not in known:
        raise UserError(f"region {args.region}: no environments/{args.region}/.env; allowed: {', '.join(known)}")
    promote = args.command == "failover"
    if promote and known[args.region].is_primary:
        raise UserError(f"failover {args.region}: it is already the primary region (REGION_ROLE=primary)")
    with target(args.emulator, args.region) as (env, workdir, emulator):
        outputs = apply_region(args.region, env, workdir, emulator, args.auto_approve, promote=promote)
    if promote and outputs:
        endpoints = {k: v for k, v in dict(outputs.get("service_endpoints", {})).items() if k.startswith("production/")}
        print(f"\n{args.region} now serves production:")
        for name, url in sorted(endpoints.items()):
            print(f"  {name}: {url}")
        print("Point DNS at these endpoints. Failback: see README, Disaster recovery.")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.exit(run_cli(main))
