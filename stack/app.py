"""cdktf.json's "app": synthesize every region into CDKTF_OUTDIR (default cdktf.out), one process.

`python -m stack.app [--region R ...] [--promote R]`: --promote synthesizes region R as primary
(disaster-recovery failover).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

# jsii prints a Node end-of-life banner on every start: users need not see it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cicd.workspace import deployment_id as deployment_ids  # noqa: E402
from cicd.workspace.config import load_all  # noqa: E402
from cicd.workspace.errors import UserError, run_cli  # noqa: E402


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.app", description=__doc__.splitlines()[0])
    parser.add_argument("--region", action="append", default=[], help="only this region (repeatable)")
    parser.add_argument("--promote", action="append", default=[], help="synthesize this region as primary")
    args = parser.parse_args(argv)

    configs = load_all()  # validate before paying for jsii
    known = [c.region for c in configs]
    for region in args.region + args.promote:
        if region not in known:
            raise UserError(f"--region/--promote {region}: allowed: {', '.join(known)}")
    configs = [c.promoted() if c.region in args.promote else c for c in configs]
    chosen = [c for c in configs if not args.region or c.region in args.region]
    deployment_id = deployment_ids.current()

    from cdktf import App

    from stack.pipeline_stack import PipelineStack

    app = App(outdir=os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    for cfg in chosen:
        PipelineStack(app, cfg.region, cfg=cfg, deployment_id=deployment_id)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
