"""AWS's paging, on moto's answers: moto answers every list/describe call in one page, AWS in pages
(DescribeAlarms 50 alarms, DescribeTargetGroups 400 groups, ListDeploymentGroups and ListDeployments 100
names), each but the last with a token the next request must send back. `serve_in_pages` makes the
function's own clients get moto's real answer cut into pages of `size` items, so a page token the
function drops, sends under the wrong name or reads from the wrong field loses items as it would on AWS.

CloudWatch's AlarmTypes too: AWS returns only metric alarms unless AlarmTypes names CompositeAlarm, and
moto (5.2.5) ignores the parameter and has no PutCompositeAlarm; `composite` adds composite alarms to
the answer as AWS would give them, and only when they were asked for.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import hc_aws


def serve_in_pages(operation: str, keys: Sequence[str], token_in: str, token_out: str, size: int = 1,
                   composite: Sequence[Dict[str, Any]] = ()) -> List[Optional[str]]:
    """`operation` as botocore names its events ("cloudwatch.DescribeAlarms"); `keys` the answer's lists,
    paged as one sequence. Returns the token each request sent (None for the first)."""
    sent: List[Optional[str]] = []

    def before(params: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
        token = params.pop(token_in, None)  # moto would ignore it: the page is cut here
        sent.append(token)
        context["page"] = int(token.rpartition("-")[2]) if token else 0
        context["alarm_types"] = params.get("AlarmTypes") or ["MetricAlarm"]

    def after(parsed: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
        if "page" not in context or parsed.get("Error"):
            return
        if composite:
            types = context["alarm_types"]
            parsed["MetricAlarms"] = parsed.get("MetricAlarms", []) if "MetricAlarm" in types else []
            parsed["CompositeAlarms"] = list(composite) if "CompositeAlarm" in types else []
        items = [(key, item) for key in keys for item in parsed.get(key) or []]
        start = context["page"] * size
        for key in keys:
            parsed[key] = [item for k, item in items[start:start + size] if k == key]
        parsed.pop(token_out, None)
        if start + size < len(items):
            parsed[token_out] = f"page-{context['page'] + 1}"

    events = hc_aws.session().events
    events.register(f"provide-client-params.{operation}", before)
    events.register(f"after-call.{operation}", after)
    return sent
