"""The health-check function under test, loaded from lambda/health_check, and the boto3 sessions the tests use.

`lambda` is a Python keyword, so the function folder goes on sys.path and handler.py is loaded under
the unique name `health_check_handler` (another Lambda's `handler` module cannot shadow it). Every
session, the function's and the tests' own, shares one botocore model loader (see new_session).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Dict

import boto3
import botocore.loaders
import botocore.session

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "lambda" / "health_check"
sys.path.insert(0, str(FUNCTION_DIR))
_spec = importlib.util.spec_from_file_location("health_check_handler", FUNCTION_DIR / "handler.py")
assert _spec and _spec.loader
handler_module = importlib.util.module_from_spec(_spec)
sys.modules["health_check_handler"] = handler_module
_spec.loader.exec_module(handler_module)

import hc_aws  # noqa: E402,F401  (needs the sys.path entry above; the function's client module, for the others)

# The region of every client here and of the world the tests build (health_check_world).
REGION = "us-east-1"

# One model loader for every session of the run: a fresh loader re-parses the (large) endpoint
# and service JSON files, which made each test spend over a second building clients.
_LOADER = botocore.loaders.create_loader()


def new_session() -> boto3.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    session = boto3.session.Session(botocore_session=core)
    # boto3 appends its data path to the shared loader for every session; keep the list short.
    paths = _LOADER.search_paths
    paths[:] = list(dict.fromkeys(paths))
    return session


_TEST_SESSION = new_session()
_TEST_CLIENTS: Dict[str, Any] = {}


def aws_client(service: str) -> Any:
    """Clients for building and inspecting moto state, shared by all tests: creating an EC2
    client per test is costly, and moto's stubber serves clients made before the mock started."""
    if service not in _TEST_CLIENTS:
        _TEST_CLIENTS[service] = _TEST_SESSION.client(service, region_name=REGION)
    return _TEST_CLIENTS[service]
