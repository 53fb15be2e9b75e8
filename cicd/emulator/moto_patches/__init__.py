"""Compatibility patches that make moto 5.2.5 answer like AWS for the operations our stack uses.

Each patch fixes one gap seen when the real Terraform AWS provider (hashicorp/aws 5.100.0) applies,
re-plans and destroys the stack against ``moto server``. Rules for every patch here:

* narrow: only the failing operation or field is touched;
* named: each patch function starts with a comment naming the moto version, service, operation, the gap
  and what AWS does;
* AWS-like: it makes moto behave like AWS; it never makes moto accept input that AWS refuses (never loosen
  a check AWS makes);
* idempotent: ``apply_all()`` may be called any number of times; ``remove_all()`` undoes them all.

Layout: one module per service, named after the prefix of its patches' names (``codecommit_*`` patches
live in ``codecommit.py``; ``lambda_*`` in ``awslambda.py``, as moto names that service), and
``_registry.py`` with the registry (``_patch``, ``_replace``, ``_add``, ``_marker``) and the helpers the
patches share. The original moto callables are kept in ``ORIGINALS`` (keyed by patch name) while applied.

``cicd.emulator.server.start()`` applies them; they change moto for the whole Python process, so the emulator
removes them again when its last in-process server stops. tests/emulator/test_gaps.py shows every gap on
an unpatched moto server; tests/emulator/test_patches_<service>.py exercise each patch.
"""

from __future__ import annotations

import warnings
from typing import List, Sequence

import moto

# the registry, importable from the package as it was from the single module
from ._registry import (  # noqa: F401
    _APPLIED,
    _LOCK,
    _MISSING,
    _UNDO,
    MOTO_VERSION,
    ORIGINALS,
    PATCHES,
    _add,
    _as_list,
    _epoch,
    _marker,
    _patch,
    _replace,
    _utcnow,
)

# Importing a service module registers its patches; apply_all() installs them in this order (the order of
# the original single module). Keep it: remove_all() undoes them in reverse.
from . import iam  # noqa: F401
from . import codecommit  # noqa: F401
from . import codebuild  # noqa: F401
from . import codedeploy  # noqa: F401
from . import codepipeline  # noqa: F401
from . import ecs  # noqa: F401
from . import s3  # noqa: F401
from . import ec2  # noqa: F401
from . import awslambda  # noqa: F401
from . import applicationautoscaling  # noqa: F401
from . import codeconnections  # noqa: F401
from .codedeploy import hook_executions, hook_status, rolled_back
from .codepipeline import trust_policy_allows_service
from .s3 import bucket_policy_allows_log_delivery

__all__ = [
    "MOTO_VERSION",
    "ORIGINALS",
    "PATCHES",
    "applied",
    "apply_all",
    "bucket_policy_allows_log_delivery",
    "hook_executions",
    "hook_status",
    "remove_all",
    "rolled_back",
    "trust_policy_allows_service",
]


def apply_all(only: Sequence[str] = ()) -> List[str]:
    """Install every patch (once; calling again is a no-op), or only those whose name starts with one of
    the prefixes in `only` (e.g. ``("codedeploy_",)``). Returns the names of the patches in effect."""
    if moto.__version__ != MOTO_VERSION:
        # The patches name exact moto internals; a different moto may have fixed or moved them.
        warnings.warn(
            f"cicd.emulator.moto_patches was written for moto {MOTO_VERSION}, found {moto.__version__}",
            RuntimeWarning,
            stacklevel=2,
        )
    with _LOCK:
        for name, install in PATCHES.items():
            if name not in _APPLIED and (not only or name.startswith(tuple(only))):
                install()
                _APPLIED.append(name)
        return list(_APPLIED)


def remove_all() -> None:
    """Undo every patch, leaving moto as it was imported (e.g. for in-process moto tests that follow)."""
    with _LOCK:
        for name in reversed(_APPLIED):
            for undo in reversed(_UNDO.pop(name, [])):
                undo()
            ORIGINALS.pop(name, None)
        _APPLIED.clear()


def applied() -> List[str]:
    """The patches currently in effect."""
    with _LOCK:
        return list(_APPLIED)
