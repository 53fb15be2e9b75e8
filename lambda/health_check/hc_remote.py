"""The pre-traffic HTTP test through the test listener, sent by the probe function inside the VPC.

The hook function runs outside the VPC, and the ALB's test listener admits only the probe function's
security group. The ALB is internet-facing, so its DNS name resolves to public addresses the private
subnets have no route to (no NAT gateway); its nodes also have private addresses in the public
subnets, on network interfaces described `ELB app/<name>/<id>`. The hook looks those up
(ec2:DescribeNetworkInterfaces) and invokes the probe function synchronously with the base URLs and
the group's checks; the probe makes no AWS API call, so it needs no VPC endpoint.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import hc_aws

Verdict = Tuple[str, str]


def alb_addresses(alb_suffix: str, tries: int, budget: hc_aws.Budget) -> List[str]:
    pages = hc_aws.paginate("ec2", "describe_network_interfaces", budget, tries, "NextToken", "NextToken",
                            Filters=[{"Name": "description", "Values": [f"ELB {alb_suffix}"]}])
    return sorted({eni["PrivateIpAddress"] for eni in hc_aws.collect(pages, "NetworkInterfaces")
                   if eni.get("PrivateIpAddress")})


def probe(function: str, listener: Mapping[str, Any], checks: Sequence[Mapping[str, Any]], timeout: float,
          tries: int, budget: hc_aws.Budget, rec: Dict[str, Any]) -> Optional[Verdict]:
    addresses = alb_addresses(str(listener["alb"]), tries, budget)
    rec["test_listener_addresses"] = addresses
    if not addresses:
        return "Failed", f"no network interface of ALB {listener['alb']} found: the test listener cannot be reached"
    payload = {"base_urls": [f"{listener['scheme']}://{a}:{listener['port']}" for a in addresses],
               "checks": list(checks), "timeout": timeout, "attempts": tries}
    # One attempt: a retried invocation would send the smoke requests again; the probe retries inside.
    response = hc_aws.call("lambda", "invoke", budget, 1, FunctionName=function, InvocationType="RequestResponse",
                           Payload=json.dumps(payload).encode())
    body = response["Payload"].read() if hasattr(response.get("Payload"), "read") else response.get("Payload")
    try:
        result = json.loads(body or b"{}")
    except ValueError:
        result = {"ok": False, "error": f"unreadable probe answer {body!r:.200}"}
    if response.get("FunctionError"):
        return "Failed", f"the probe function failed ({response['FunctionError']}): {result}"
    rec["probe"] = result
    if not result.get("ok"):
        return "Failed", f"smoke request through the test listener failed: {result.get('error')}"
    return None
