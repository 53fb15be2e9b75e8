"""What the health-check tests observe and steer of the function: the AWS calls its own clients make
(recorded as IAM actions, or failed on demand), its decision log lines and the hook statuses it sent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import pytest
from botocore.awsrequest import AWSResponse

from health_check_function import hc_aws


# IAM prefix differs from the endpoint prefix only for CloudWatch.
_IAM_PREFIX = {"monitoring": "cloudwatch"}
# Operations authorized by an IAM action of another name (Service Authorization Reference).
_IAM_ACTION = {"lambda:Invoke": "lambda:InvokeFunction"}


@dataclass
class Recorder:
    """Every AWS operation the function's own clients invoked, as IAM actions, with API params."""

    calls: List[Tuple[str, Dict[str, Any]]] = field(default_factory=list)

    def __call__(self, params: Dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model
        prefix = _IAM_PREFIX.get(service.endpoint_prefix, service.signing_name or service.endpoint_prefix)
        action = f"{prefix}:{model.name}"
        self.calls.append((_IAM_ACTION.get(action, action), dict(params)))

    @property
    def actions(self) -> set:
        return {action for action, _ in self.calls}

    def count(self, action: str) -> int:
        return sum(1 for a, _ in self.calls if a == action)


def fail_operation(event_name: str, code: str, status: int = 400, times: int = 10**6) -> List[int]:
    """Make the function's own clients get error `code` for one operation, `times` times.

    `event_name` is e.g. "elastic-load-balancing-v2.DescribeTargetHealth". Returns the list of
    attempt numbers seen (its length is the number of attempts)."""
    attempts: List[int] = []

    def before_call(**_: Any) -> Any:
        attempts.append(len(attempts) + 1)
        if len(attempts) > times:
            return None  # let the real (moto) call through
        response = AWSResponse("https://injected.invalid", status, {}, None)
        parsed = {"Error": {"Code": code, "Message": f"injected {code}"},
                  "ResponseMetadata": {"HTTPStatusCode": status}}
        return response, parsed

    hc_aws.session().events.register(f"before-call.{event_name}", before_call)
    return attempts


def decisions(capsys: pytest.CaptureFixture) -> List[Dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("type") == "decision"]


PUT = "put_lifecycle_event_hook_execution_status"


def sent_status(gap: Dict[str, List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    return gap[PUT]


def only_decision(capsys: pytest.CaptureFixture) -> Dict[str, Any]:
    found = decisions(capsys)
    assert len(found) == 1, found  # one JSON line per decision, not one per check
    return found[0]
