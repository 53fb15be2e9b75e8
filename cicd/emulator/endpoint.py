"""What a client needs of a running emulator, wherever it runs: its endpoint, a matching environment, its
inspection and control paths.

Both kinds of emulator share it: the one in this process (:mod:`cicd.emulator.server`) and the one in a child
process (:mod:`cicd.emulator.process`); code that only talks to an emulator (terraform subprocesses, the
rehearsal, the tests) needs nothing else, and neither kind has to import the other for it.

Terraform provider settings that work with it: ``access_key``/``secret_key`` "testing",
``skip_credentials_validation``, ``skip_metadata_api_check``, ``s3_use_path_style = true`` and the
endpoint from AWS_ENDPOINT_URL. Do not set ``skip_requesting_account_id``: the provider would then build
some ARNs with an empty account (CodeDeploy tags never read back); moto answers sts:GetCallerIdentity.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from typing import Any, Mapping

from cicd.emulator.wsgi import HOLD_WRITES, INSPECT_HOOK_EXECUTIONS, INSPECT_HOOK_STATUS

# Variables that would make a terraform/boto3 subprocess talk to real AWS or use other credentials.
# They are removed by Endpoint.subprocess_env().
_CONFLICTING_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
# moto's default account; every ARN the emulator creates carries it.
ACCOUNT_ID = "123456789012"


class Endpoint:
    """What a client needs of a running emulator: its endpoint and a matching environment."""

    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self, region: str | None = None) -> dict[str, str]:
        """Environment variables a terraform/boto3/aws-cli subprocess needs to use this emulator.

        Merge them over os.environ (or use :meth:`subprocess_env`, which also drops variables that would
        select other credentials). AWS_DEFAULT_REGION/AWS_REGION are only set when ``region`` is given.
        """
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            # Never ask an instance metadata service for credentials or the region.
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if region:
            env["AWS_DEFAULT_REGION"] = region
            env["AWS_REGION"] = region
        return env

    def subprocess_env(
        self, region: str | None = None, base: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """``base`` (default os.environ) without other credential sources or per-service endpoints,
        plus :meth:`env`."""
        src = dict(os.environ if base is None else base)
        for key in list(src):
            if key in _CONFLICTING_ENV or key.startswith("AWS_ENDPOINT_URL_"):
                del src[key]
        if not region:
            src.pop("AWS_DEFAULT_REGION", None)
            src.pop("AWS_REGION", None)
        src.update(self.env(region))
        return src

    def hook_status(self, deployment_id: str, hook_execution_id: str) -> str | None:
        """The status a lifecycle hook reported for a deployment (see INSPECT_HOOK_STATUS), or None."""
        query = urllib.parse.urlencode({"deploymentId": deployment_id, "hookExecutionId": hook_execution_id})
        with urllib.request.urlopen(f"{self.endpoint}{INSPECT_HOOK_STATUS}?{query}", timeout=30) as resp:  # noqa: S310
            return json.loads(resp.read())["status"]

    def hook_executions(self, deployment_id: str) -> dict[str, Any]:
        """What CodeDeploy would know of a deployment's hooks (see INSPECT_HOOK_EXECUTIONS):
        ``{"executions": {lifecycle event: hook execution id}, "rolledBack": bool}``."""
        query = urllib.parse.urlencode({"deploymentId": deployment_id})
        with urllib.request.urlopen(f"{self.endpoint}{INSPECT_HOOK_EXECUTIONS}?{query}", timeout=30) as resp:  # noqa: S310
            return json.loads(resp.read())

    def hold_writes(self, on: bool) -> None:
        """Answer every non-S3 write 503 (retried by SDKs) until released; see emulator_wsgi.HOLD_WRITES."""
        req = urllib.request.Request(f"{self.endpoint}{HOLD_WRITES}?on={int(on)}", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            resp.read()

    def reset(self) -> None:
        """Drop every resource held by the emulator (moto's /moto-api/reset)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            resp.read()
