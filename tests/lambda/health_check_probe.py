"""The pre-traffic test's path in the health-check tests: the probe function run in this process and an ALB
node for the hook to find (moto runs no function code without Docker and creates no ALB node interfaces).
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

from botocore.awsrequest import AWSResponse

from health_check_function import aws_client, hc_aws

PROBE_FUNCTION = "shop-test-probe"
ALB_SUFFIX = "app/shop-stg-alb/0123abcd"


def serve_probe_function() -> List[Dict[str, Any]]:
    """Stand-in for the Lambda service running the probe function: the hook's synchronous Invoke of
    PROBE_FUNCTION runs the real probe code (hc_probe.handler) on the payload the hook sent, in this
    process (moto runs no function code without Docker). Returns the payloads seen."""
    import io

    from botocore.response import StreamingBody

    import hc_probe

    seen: List[Dict[str, Any]] = []

    def before_call(params: Dict[str, Any], **_: Any) -> Any:
        body = params.get("body")
        payload = json.loads(body if isinstance(body, (bytes, str)) and body else b"{}")
        seen.append(payload)
        answer = json.dumps(hc_probe.handler(payload, None)).encode()
        response = AWSResponse("https://lambda.invalid", 200, {}, None)
        return response, {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(answer), len(answer)),
                          "ResponseMetadata": {"HTTPStatusCode": 200}}

    hc_aws.session().events.register("before-call.lambda.Invoke", before_call)
    return seen


def alb_node(address: str = "127.0.0.1") -> None:
    """An ALB node's network interface (description `ELB app/<name>/<id>`), at `address`."""
    ec2 = aws_client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet, Description=f"ELB {ALB_SUFFIX}", PrivateIpAddress=address)
