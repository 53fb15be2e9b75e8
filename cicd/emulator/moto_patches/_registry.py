"""The patch registry shared by every service module of :mod:`cicd.emulator.moto_patches`.

``_patch(name)`` registers a patch's install function (in registration order: the order the service
modules are imported by the package). An install function changes moto only through ``_replace`` (swap
an existing callable, remembering moto's original once) and ``_add`` (add an operation moto lacks, never
shadowing one a newer moto brings), or records its own undo in ``_UNDO``. Also the small helpers several
patches share (``_utcnow``, ``_epoch``, ``_as_list``).
"""

from __future__ import annotations

import datetime
import threading
import warnings
from typing import Any, Callable, Dict, List

import moto

MOTO_VERSION = "5.2.5"

# name -> the function that installs the patch
PATCHES: Dict[str, Callable[[], None]] = {}
# name -> the moto callables a patch replaced (unpatched behaviour, for tests)
ORIGINALS: Dict[str, Dict[str, Any]] = {}
# name -> how to undo it (run in reverse order by remove_all)
_UNDO: Dict[str, List[Callable[[], None]]] = {}
_APPLIED: List[str] = []
_LOCK = threading.RLock()
_MISSING = object()


def _patch(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(fn: Callable[[], None]) -> Callable[[], None]:
        PATCHES[name] = fn
        return fn

    return register


def _set(owner: Any, attr: str, value: Any) -> None:
    if value is _MISSING:
        delattr(owner, attr)
    else:
        setattr(owner, attr, value)


def _replace(patch: str, owner: Any, attr: str, new: Any) -> None:
    """Set owner.attr = new, remembering the original once (so re-applying is a no-op)."""
    current = owner.__dict__.get(attr, _MISSING) if isinstance(owner, type) else getattr(owner, attr)
    if current is not _MISSING and _marker(current) == patch:
        return
    label = f"{getattr(owner, '__name__', owner)}.{attr}"
    ORIGINALS.setdefault(patch, {})[label] = getattr(owner, attr) if current is _MISSING else current
    _function_of(new)._cicd_patch = patch
    setattr(owner, attr, new)
    _UNDO.setdefault(patch, []).append(lambda: _set(owner, attr, current))


def _function_of(obj: Any) -> Any:
    """The plain function behind a property / staticmethod / classmethod (or obj itself)."""
    if isinstance(obj, property):
        return obj.fget
    if isinstance(obj, (staticmethod, classmethod)):
        return obj.__func__
    return obj


def _marker(obj: Any) -> Any:
    return getattr(_function_of(obj), "_cicd_patch", None)


def _add(patch: str, owner: type, attr: str, new: Callable[..., Any]) -> None:
    """Add an operation moto does not have. Never shadows one that a newer moto brings (it warns)."""
    existing = owner.__dict__.get(attr)
    if existing is not None:
        if _marker(existing) != patch:
            warnings.warn(
                f"moto now implements {owner.__name__}.{attr}; patch {patch!r} leaves it alone - re-check it "
                f"(written for moto {MOTO_VERSION}, running {moto.__version__})",
                RuntimeWarning,
                stacklevel=3,
            )
        return
    new._cicd_patch = patch
    setattr(owner, attr, new)
    _UNDO.setdefault(patch, []).append(lambda: _set(owner, attr, _MISSING))


def _utcnow() -> Any:
    from moto.core.utils import utcnow

    return utcnow()


def _epoch(value: Any) -> Any:
    """An ISO-8601 string or a datetime (naive = UTC, as moto keeps them) as epoch seconds: the timestamp
    format of the AWS JSON protocols. Anything else is returned unchanged."""
    from moto.core.parse import default_timestamp_parser

    if isinstance(value, str):
        value = default_timestamp_parser(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    return value


def _as_list(value: Any) -> List[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
