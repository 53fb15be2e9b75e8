"""CodeConnections: the service moto lacks, answered for the operations aws_codeconnections_connection uses."""

from __future__ import annotations

import json
import re
import sys
import types
import uuid
from typing import Any, Dict, List

from ._registry import _UNDO, _patch

SERVICE = "codeconnections"
# Values of CodeConnections' ProviderType (botocore's codeconnections model).
PROVIDER_TYPES = ("Bitbucket", "GitHub", "GitHubEnterpriseServer", "GitLab", "GitLabSelfManaged", "AzureDevOps")
_URL_BASE = r"https?://codeconnections\.(.+)\.amazonaws\.com"


def _models() -> types.ModuleType:
    """The backend and response classes, built on moto's own base classes."""
    from moto.core.base_backend import BackendDict, BaseBackend
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import BaseResponse

    class Connection:
        def __init__(self, account_id: str, region: str, name: str, provider_type: str, host_arn: str | None):
            self.arn = f"arn:aws:codeconnections:{region}:{account_id}:connection/{uuid.uuid4()}"
            self.name, self.provider_type, self.host_arn, self.owner = name, provider_type, host_arn, account_id
            self.tags: Dict[str, str] = {}

        def to_dict(self) -> Dict[str, Any]:
            # A new connection is PENDING until its owner completes the handshake in the console, as on AWS.
            out = {"ConnectionName": self.name, "ConnectionArn": self.arn, "ProviderType": self.provider_type,
                   "OwnerAccountId": self.owner, "ConnectionStatus": "PENDING"}
            if self.host_arn:
                out["HostArn"] = self.host_arn
            return out

    class CodeConnectionsBackend(BaseBackend):
        def __init__(self, region_name: str, account_id: str):
            super().__init__(region_name, account_id)
            self.connections: Dict[str, Connection] = {}

        @property
        def _url_module(self) -> Any:  # moto reads url_bases/url_paths from the service's urls module
            return types.SimpleNamespace(url_bases=[_URL_BASE], url_paths={"{0}/$": CodeConnectionsResponse.dispatch})

        def get(self, arn: str) -> Connection:
            if arn not in self.connections:
                raise JsonRESTError("ResourceNotFoundException", f"Connection {arn} not found")
            return self.connections[arn]

    class CodeConnectionsResponse(BaseResponse):
        def __init__(self) -> None:
            super().__init__(service_name=SERVICE)

        @property
        def backend(self) -> CodeConnectionsBackend:
            return module.codeconnections_backends[self.current_account][self.region]

        def _tags(self) -> Dict[str, str]:
            tags = {t["Key"]: t["Value"] for t in self._get_param("Tags") or []}
            if any(k.lower().startswith("aws:") for k in tags):
                raise JsonRESTError("ValidationException", "Tag keys must not start with aws:")
            return tags

        def create_connection(self) -> str:
            name = self._get_param("ConnectionName") or ""
            provider_type, host_arn = self._get_param("ProviderType"), self._get_param("HostArn")
            if not 1 <= len(name) <= 32:
                raise JsonRESTError("ValidationException", "ConnectionName must be 1-32 characters")
            if bool(provider_type) == bool(host_arn):
                raise JsonRESTError("ValidationException", "Specify exactly one of ProviderType and HostArn")
            if provider_type and provider_type not in PROVIDER_TYPES:
                raise JsonRESTError("ValidationException", f"ProviderType must be one of {', '.join(PROVIDER_TYPES)}")
            tags = self._tags()
            conn = Connection(self.current_account, self.region, name, provider_type, host_arn)
            conn.tags.update(tags)
            self.backend.connections[conn.arn] = conn
            return json.dumps({"ConnectionArn": conn.arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]})

        def get_connection(self) -> str:
            return json.dumps({"Connection": self.backend.get(self._get_param("ConnectionArn")).to_dict()})

        def list_connections(self) -> str:
            kind = self._get_param("ProviderTypeFilter")
            found = [c.to_dict() for c in self.backend.connections.values() if not kind or c.provider_type == kind]
            return json.dumps({"Connections": found})

        def delete_connection(self) -> str:
            self.backend.get(self._get_param("ConnectionArn"))
            del self.backend.connections[self._get_param("ConnectionArn")]
            return "{}"

        def list_tags_for_resource(self) -> str:
            tags = self.backend.get(self._get_param("ResourceArn")).tags
            return json.dumps({"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})

        def tag_resource(self) -> str:
            self.backend.get(self._get_param("ResourceArn")).tags.update(self._tags())
            return "{}"

        def untag_resource(self) -> str:
            tags = self.backend.get(self._get_param("ResourceArn")).tags
            for key in self._get_param("TagKeys") or []:
                tags.pop(key, None)
            return "{}"

    module = types.ModuleType(f"moto.{SERVICE}")
    module.__doc__ = "CodeConnections, added by cicd.emulator.moto_patches.codeconnections (moto 5.2.5 has none)."
    module.CodeConnectionsBackend = CodeConnectionsBackend  # type: ignore[attr-defined]
    module.CodeConnectionsResponse = CodeConnectionsResponse  # type: ignore[attr-defined]
    # botocore's endpoint data lists no regions for codeconnections (it resolves endpoints by rules): serve
    # every region of the partition, as EC2 lists them.
    from boto3 import Session

    module.codeconnections_backends = BackendDict(  # type: ignore[attr-defined]
        CodeConnectionsBackend, SERVICE, use_boto3_regions=False,
        additional_regions=Session().get_available_regions("ec2"))
    return module


@_patch("codeconnections_service")
def _codeconnections_service() -> None:
    # moto 5.2.5 has no CodeConnections service at all: CreateConnection is answered "Unable to find appropriate
    # backend" (HTTP 404), so aws_codeconnections_connection cannot be created. AWS creates the connection in
    # status PENDING (a person completes the handshake with the Git host in the console), and answers
    # GetConnection, DeleteConnection, ListConnections and the three tagging operations for it. Added here as a
    # moto service of its own (a module moto.codeconnections and its URL pattern), never shadowing one that a
    # newer moto brings.
    from moto import backend_index

    name = f"moto.{SERVICE}"
    try:
        __import__(name)
        return  # a newer moto has the service: leave it alone (tests/emulator/test_gaps.py will notice)
    except ImportError:
        pass
    sys.modules[name] = _models()
    entry = (SERVICE, re.compile(_URL_BASE))
    patterns: List[Any] = backend_index.backend_url_patterns
    patterns.append(entry)

    def undo() -> None:
        sys.modules.pop(name, None)
        if entry in patterns:
            patterns.remove(entry)

    _UNDO.setdefault("codeconnections_service", []).append(undo)
