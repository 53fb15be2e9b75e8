"""Walking a synthesized JSON document, shared by the stack fixtures and the secret scan.

A plain module (not conftest) so test modules can import it directly.
"""
from __future__ import annotations

from typing import Any, Iterator, Tuple


def walk(value: Any, path: Tuple = ()) -> Iterator[Tuple[Tuple, Any]]:
    """Every leaf of a JSON document with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, path + (index,))
    else:
        yield path, value
