"""Nested Terraform blocks given as lists of dicts.

jsii converts a dict passed directly for a struct from snake_case, but passes the dicts inside a
list through as raw maps, which must then use the struct's camelCase property names. `blocks()`
lets the constructs write every block in snake_case, like the Terraform docs.
"""
from __future__ import annotations

from typing import Any, Dict, List

# Free-form maps whose keys are data, not property names.
_VERBATIM = {"configuration", "dimensions", "tags", "variables"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _convert(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(k): (v if k in _VERBATIM else _convert(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert(v) for v in value]
    return value


def blocks(*items: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [_convert(item) for item in items]
