"""The synthesis floor: what any CDKTF app with the AWS provider pays, with none of our code.

An `App` with one `TerraformStack` per region (us-east-1, us-west-2), each holding an `AwsProvider`
and one trivial resource (an SNS topic), synthesized into `CDKTF_OUTDIR` (default: a fresh temporary
folder). It imports exactly what `stack.app` needs from jsii: `cdktf`, `constructs` and the AWS
provider bindings (whose package `__init__` loads every one of its ~2,100 modules and the provider's
jsii assembly into Node). `bench.run` times it against `python -m stack.app`.

    python -m bench.floor_app            # or: CDKTF_OUTDIR=/tmp/x python bench/floor_app.py
    python -m bench.floor_app --on-demand

`--on-demand` loads the provider the way the stack does (stack.load_provider_modules_on_demand: only
the modules used, not the package's ~2,140): the lean floor, the least any synth with these bindings
can pay. The benchmark reports the full synth against both.
"""
from __future__ import annotations

import os
import sys
import tempfile
from typing import Optional, Sequence

REGIONS = ("us-east-1", "us-west-2")


def build(outdir: str, regions: Sequence[str] = REGIONS):
    """The floor App (not yet synthesized)."""
    from cdktf import App, TerraformStack
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.sns_topic import SnsTopic

    app = App(outdir=outdir)
    for region in regions:
        stack = TerraformStack(app, region)
        AwsProvider(stack, "aws", region=region)
        SnsTopic(stack, "topic", name=f"floor-{region}")
    return app


def main(argv: Optional[Sequence[str]] = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if "--on-demand" in (argv or ()):
        from stack import load_provider_modules_on_demand

        load_provider_modules_on_demand()
    outdir = os.environ.get("CDKTF_OUTDIR") or tempfile.mkdtemp(prefix="floor-synth-")
    build(outdir).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
