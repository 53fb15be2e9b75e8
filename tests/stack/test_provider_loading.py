"""Issue #8: the stack loads only the AWS provider modules it uses, and that changes nothing synthesized.

The byte-level equivalence is the determinism test's comparison (test_stack_logs_tags_outputs.py): the
`resynthesized` fixture is produced with the provider package imported eagerly, the session synth with
modules loaded on demand, and every leaf but the deployment id must be equal. Here: that the two really
were loaded the two ways.
"""
from __future__ import annotations

import sys

import stack


def _loaded_provider_modules() -> set:
    return {m for m in sys.modules if m.startswith(stack.PROVIDER_PACKAGE + ".") and m.count(".") == 1}


def test_the_session_synth_loaded_only_the_modules_the_stack_uses(synthesized) -> None:
    loaded = _loaded_provider_modules()
    assert f"{stack.PROVIDER_PACKAGE}.sns_topic" in loaded and f"{stack.PROVIDER_PACKAGE}.ecs_service" in loaded
    assert f"{stack.PROVIDER_PACKAGE}.xray_group" not in loaded  # never used by the stack
    resource_types = {rtype for s in synthesized.values() for rtype in s.doc.get("resource", {})}
    # one module per resource/data type used, plus the provider and _jsii: not the package's ~2,140
    assert len(loaded) <= len(resource_types) + 10, sorted(loaded)


def test_the_comparison_synth_imported_the_package_eagerly(resynthesized) -> None:
    assert resynthesized.loading["lazy"] is False  # the package's own __init__ ran first
    assert resynthesized.loading["modules"] > 2000


def test_registering_is_a_no_op_once_the_package_is_imported() -> None:
    assert stack.PROVIDER_PACKAGE in sys.modules
    assert stack.load_provider_modules_on_demand() is False
    assert stack.load_provider_modules_on_demand("no_such_package_here") is False
