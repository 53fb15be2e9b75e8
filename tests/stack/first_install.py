"""Evaluating a scaling minimum of the synthesized stack for a release marker value (stack/services.py):
`${aws_ssm_parameter.<name>.insecure_value == "none" ? 0 : N}` is Terraform's conditional; the marker's
refreshed value decides it on every plan."""
from __future__ import annotations

import re
from typing import Any, Tuple

_EXPR = re.compile(r'^\$\{aws_ssm_parameter\.([A-Za-z0-9_-]+)\.insecure_value == "([^"]*)" \? (\d+) : (\d+)\}$')


def minimum(stack: Any, value: Any, marker_value: str) -> int:
    """The scaling minimum `value` gives when its marker holds `marker_value`."""
    match = _EXPR.match(str(value))
    assert match, f"min_capacity {value!r} is not the release-marker conditional"
    name, unreleased, before, after = match.groups()
    assert name in stack.resources("aws_ssm_parameter"), name
    return int(before) if marker_value == unreleased else int(after)


def marker_of(stack: Any, value: Any) -> Tuple[str, dict]:
    match = _EXPR.match(str(value))
    assert match, value
    return match.group(1), stack.resources("aws_ssm_parameter")[match.group(1)]
