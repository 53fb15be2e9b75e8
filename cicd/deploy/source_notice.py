"""What a person must do after a deploy that created a CodeConnections connection: it stays PENDING until
someone authorizes it with the Git host, and the pipeline cannot read the repository until then."""
from __future__ import annotations

from typing import Dict, List


def pending_connection(region: str, outputs: Dict[str, object]) -> List[str]:
    """The steps to authorize a PENDING connection, from a region's outputs (none if nothing is pending)."""
    if outputs.get("source_connection_status") != "PENDING":
        return []
    return [
        f"\n{region}: the source connection {outputs.get('source_connection_arn')} is PENDING; "
        "the pipeline cannot read the repository until it is authorized:",
        f"  1. open {outputs.get('source_connection_console_url')} and choose the connection",
        "  2. choose 'Update pending connection' and authorize the AWS Connector on the Git host "
        "(GitHub: 'Install a new app', pick the organization and repository, 'Connect')",
        "  3. when its status is Available, push to the release branch or choose 'Release change' on the pipeline",
    ]
