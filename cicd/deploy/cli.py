"""`nox -s deploy-east|deploy-west|failover|bootstrap-east|bootstrap-west`: the state bucket, then synth,
init, plan, confirm, apply, print the outputs.

    python -m cicd.deploy.cli deploy REGION [--auto-approve|--yes] [--emulator [URL]] [--unlock LOCK_ID]
    python -m cicd.deploy.cli failover REGION [--auto-approve|--yes] [--emulator [URL]]
    python -m cicd.deploy.cli bootstrap REGION [--emulator [URL]]

State lives in the region's S3 backend from its .env (STATE_BUCKET, STATE_KEY), with Terraform's
lock file, on AWS and in the emulator alike. `bootstrap` creates the bucket (cicd.deploy.bootstrap); a
deploy checks it first and offers to create a missing one. A deploy that finds the state locked
stops at once, naming the holder and how to release a stale lock (`--unlock LOCK_ID`, which asks
first). With `--emulator URL` it targets a running local emulator (`nox -s emulator -- --keep`
prints one), with terraform's work folder under .emulator/port-<port>/<region>; `--emulator` alone
starts a fresh emulator for this run only. `failover` synthesizes the region as primary (full
production footprint) and applies it; it reads nothing from any other region, so it works while the
primary region is down.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence, Tuple
from urllib.parse import urlparse

from cicd.deploy import bootstrap, source_notice, synth
from cicd.workspace.config import ROOT, RegionConfig, load_all
from cicd.workspace.errors import UserError, run_cli
from cicd.deploy.state_lock import LockInfo, StateLocked
from cicd.deploy.terraform import Terraform, prepare_workdir

# Local working state (terraform data, emulator state); CICD_WORK_DIR relocates it (tests do).
WORK_DIR = Path(os.environ.get("CICD_WORK_DIR", ROOT))
DEPLOY_DIR = WORK_DIR / ".deploy"
EMULATOR_DIR = WORK_DIR / ".emulator"
SESSIONS = {"us-east-1": "east", "us-west-2": "west"}  # noxfile: deploy-east, bootstrap-west, ...


def session_command(verb: str, region: str, *args: str) -> str:
    """How the user runs `verb` for `region` (the nox session when there is one)."""
    if region in SESSIONS:
        return " ".join([f"nox -s {verb}-{SESSIONS[region]}", *(["--", *args] if args else [])])
    return " ".join(["python -m cicd.deploy.cli", verb, region, *args])


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


def confirm(region: str, question: str, auto_approve: bool, what: str) -> bool:
    """Ask `question` on the terminal (only 'yes' counts); without one, --auto-approve is the only way."""
    if auto_approve:
        return True
    if not sys.stdin.isatty():
        raise UserError(f"{region}: {what} and there is no terminal to confirm on; re-run with --auto-approve")
    return input(f"{question} Only 'yes' is accepted: ").strip() == "yes"


@contextlib.contextmanager
def target(emulator_url: Optional[str], region: str) -> Iterator["Target"]:
    """Where a command goes: AWS (credentials checked first), a running emulator URL, or a fresh one ('start')."""
    if emulator_url is None:
        account = check_aws_credentials(region)
        yield Target(region=region, env={}, workdir=DEPLOY_DIR / region, endpoint=None, account=account,
                     emulator_arg=())
        return
    from cicd.emulator.endpoint import ACCOUNT_ID
    from cicd.emulator.server import Emulator, start

    if emulator_url == "start":
        with start() as emulator:
            print(f"emulator started at {emulator.endpoint} for this run", flush=True)
            try:
                yield Target(region=region, env=emulator.subprocess_env(region),
                             workdir=emulator_workroot(emulator.port) / region, endpoint=emulator.endpoint,
                             account=ACCOUNT_ID, emulator_arg=("--emulator",))
            finally:
                # The emulator's state dies with it: so does the work folder describing it.
                shutil.rmtree(emulator_workroot(emulator.port), ignore_errors=True)
        return
    parsed = urlparse(emulator_url)
    if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost") or not parsed.port:
        raise UserError(f"--emulator {emulator_url}: allowed: http://127.0.0.1:PORT (a local emulator)")
    running = Emulator(server=None, host=parsed.hostname, port=parsed.port)  # attach only: never stopped here
    yield Target(region=region, env=running.subprocess_env(region), workdir=emulator_workroot(parsed.port) / region,
                 endpoint=running.endpoint, account=ACCOUNT_ID, emulator_arg=("--emulator", emulator_url))


@dataclass(frozen=True)
class Target:
    region: str
    env: Dict[str, str]
    workdir: Path
    endpoint: Optional[str]  # the emulator's; None for AWS
    account: str
    emulator_arg: Tuple[str, ...]  # how the user named the target, to repeat in hints

    def state_bucket(self, cfg: RegionConfig) -> bootstrap.StateBucket:
        return bootstrap.StateBucket(name=cfg.state.bucket, region=cfg.state.region, account=self.account,
                                     env_file=cfg.env_file)


def ensure_state_bucket(cfg: RegionConfig, where: Target, auto_approve: bool) -> None:
    """Check the state bucket before terraform needs it; create a missing one (after confirmation on AWS)."""
    s3 = bootstrap.s3_client(cfg.state.region, where.env)
    bucket = where.state_bucket(cfg)
    missing = bootstrap.check(s3, bucket)
    if missing is None and where.endpoint is None and not confirm(
            cfg.region, f"The state bucket s3://{bucket.name} does not exist in {bucket.region}. Create it?",
            auto_approve, f"the state bucket s3://{bucket.name} does not exist yet"):
        raise UserError(f"{cfg.region}: not deployed: the state bucket s3://{bucket.name} does not exist; "
                        f"create it with {session_command('bootstrap', cfg.region)}")
    print(f"{cfg.region}: {bootstrap.ensure(s3, bucket)}", flush=True)
    print(f"{cfg.region}: state: S3 backend s3://{cfg.state.bucket}/{cfg.state.key} with lock file"
          f"{' (in the emulator at ' + where.endpoint + ')' if where.endpoint else ''}", flush=True)


def _locked(err: StateLocked, where: Target) -> UserError:
    unlock = session_command("deploy", where.region, *where.emulator_arg, "--unlock", err.lock.id)
    return UserError(f"{err.problems[0]}; if that deploy is still running, wait for it; if it was killed, "
                     f"release the lock: {unlock}")


def prepare(cfg: RegionConfig, where: Target, auto_approve: bool, promote: bool = False) -> Terraform:
    """Synth (reusing unchanged output), the state bucket, the work folder and `terraform init`."""
    synth.main(["--region", cfg.region] + (["--promote", cfg.region] if promote else []))
    ensure_state_bucket(cfg, where, auto_approve)
    prepare_workdir(synth_out() / "stacks" / cfg.region, where.workdir, cfg.region, where.endpoint)
    tf = Terraform(where.workdir, env=where.env, label=cfg.region)
    print(f"{cfg.region}: terraform init", flush=True)
    tf.init()
    return tf


def apply_region(cfg: RegionConfig, where: Target, auto_approve: bool, promote: bool = False) -> Dict[str, object]:
    """Plan, confirm and apply one region; return its outputs."""
    tf = prepare(cfg, where, auto_approve, promote)
    try:
        summary = tf.plan()
        print(f"{cfg.region}: plan: {summary}", flush=True)
        if summary.changes:
            if not confirm(cfg.region, f"Apply to {cfg.region}: {summary}?", auto_approve,
                           f"plan has changes ({summary})"):
                print(f"{cfg.region}: not applied")
                return {}
            seconds = tf.apply(total=summary.add + summary.change + summary.destroy)
            print(f"{cfg.region}: applied in {seconds:.0f} s", flush=True)
    except StateLocked as err:
        raise _locked(err, where) from None
    outputs = tf.outputs()
    print_outputs(cfg.region, outputs)
    return outputs


def read_lock(cfg: RegionConfig, where: Target) -> Optional[LockInfo]:
    """The lock file terraform's S3 backend keeps beside the state (<key>.tflock), if one is held."""
    from botocore.exceptions import ClientError

    s3 = bootstrap.s3_client(cfg.state.region, where.env)
    try:
        body = s3.get_object(Bucket=cfg.state.bucket, Key=f"{cfg.state.key}.tflock")["Body"].read()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
            return None
        raise
    return LockInfo.from_json(json.loads(body))


def unlock(cfg: RegionConfig, where: Target, lock_id: str, auto_approve: bool) -> None:
    """Release a stale lock after showing who held it and asking (terraform force-unlock)."""
    held = read_lock(cfg, where)
    if held is None:
        raise UserError(f"{cfg.region}: --unlock {lock_id}: the state is not locked; nothing to release")
    if held.id != lock_id:
        raise UserError(f"{cfg.region}: --unlock {lock_id}: the lock held is {held.describe()}; "
                        "release only a lock you have checked is stale, by its ID")
    question = (f"Release the lock on {cfg.region}'s state held by {held.describe()}? Only do this when that "
                "deploy is no longer running.")
    if not confirm(cfg.region, question, auto_approve, f"releasing lock {lock_id} needs confirmation"):
        print(f"{cfg.region}: lock kept")
        return
    tf = prepare(cfg, where, auto_approve)
    tf.force_unlock(lock_id)
    print(f"{cfg.region}: released lock {lock_id}; deploy again with {session_command('deploy', cfg.region, *where.emulator_arg)}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.deploy.cli", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["deploy", "failover", "bootstrap"])
    parser.add_argument("region")
    parser.add_argument("--auto-approve", "--yes", action="store_true", dest="auto_approve",
                        help="apply (or release a lock, or create the state bucket) without asking")
    parser.add_argument("--emulator", nargs="?", const="start", metavar="URL",
                        help="target a local emulator (URL of a running one; alone: start one for this run)")
    parser.add_argument("--unlock", metavar="LOCK_ID", help="release a stale state lock (asks first), then stop")
    args = parser.parse_args(argv)
    known = {c.region: c for c in load_all()}
    if args.region not in known:
        raise UserError(f"region {args.region}: no environments/{args.region}/.env; allowed: {', '.join(known)}")
    cfg = known[args.region]
    promote = args.command == "failover"
    if promote and cfg.is_primary:
        raise UserError(f"failover {args.region}: it is already the primary region (REGION_ROLE=primary)")
    if args.unlock is not None and args.command != "deploy":
        raise UserError(f"--unlock: only with deploy (usage: {session_command('deploy', args.region, '--unlock', 'LOCK_ID')})")
    with target(args.emulator, args.region) as where:
        if args.command == "bootstrap":
            s3 = bootstrap.s3_client(cfg.state.region, where.env)
            print(f"{args.region}: {bootstrap.ensure(s3, where.state_bucket(cfg))}")
            return 0
        if args.unlock is not None:
            unlock(cfg, where, args.unlock, args.auto_approve)
            return 0
        outputs = apply_region(cfg, where, args.auto_approve, promote=promote)
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
