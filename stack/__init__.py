"""The CDKTF stack: one parameterized TerraformStack per region, one construct per concern.

Importing this package does not import cdktf; `stack.app` and the construct modules do. It does
arrange that the AWS provider bindings load only the resource modules the stack uses (below).
"""
from __future__ import annotations

import importlib.util
import sys
import types

PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"


def load_provider_modules_on_demand(name: str = PROVIDER_PACKAGE) -> bool:
    """Register the provider package without running its ``__init__``; True if this call did it.

    The package's ``__init__`` imports all of its ~2,140 resource modules (about half of every synth's
    time and ~0.5 GB) although the stack uses ~50 of them. Each resource module is self-contained: its
    own imports, its own ``check_type``, and ``from .._jsii import *``, which loads the provider's jsii
    assembly into Node exactly as the package would. With the package registered empty,
    ``from cdktf_cdktf_provider_aws.sns_topic import SnsTopic`` loads that module alone, and the
    synthesized JSON is byte for byte what the eagerly imported package gives
    (tests/stack/test_provider_loading.py). Whoever imports the package first decides: if it is
    already imported, nothing changes.
    """
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)  # finds the package; does not execute it
    if spec is None or not spec.submodule_search_locations:
        return False
    package = types.ModuleType(name, "AWS provider bindings: resource modules load on first import")
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__package__ = name
    package.__spec__ = spec
    sys.modules[name] = package
    return True


load_provider_modules_on_demand()
