"""The CodeConnections patch (cicd/emulator/moto_patches/codeconnections.py), exercised through boto3 against the
running emulator. Gap (moto 5.2.5): there is no CodeConnections service at all (test_gaps.py shows it)."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from .helpers import error_code, unique

ARN = re.compile(r"^arn:aws:codeconnections:eu-west-1:\d{12}:connection/[0-9a-f-]{36}$")


def test_codeconnections_service_connection_lifecycle(aws) -> None:
    """CreateConnection makes a PENDING connection (AWS waits for the console handshake); Get, List, the
    tagging operations and Delete answer for it as AWS does."""
    cc = aws("codeconnections")
    name = unique("gh")[:32]
    arn = cc.create_connection(ProviderType="GitHub", ConnectionName=name,
                               Tags=[{"Key": "owner", "Value": "platform"}])["ConnectionArn"]
    assert ARN.match(arn)
    got = cc.get_connection(ConnectionArn=arn)["Connection"]
    assert got["ConnectionStatus"] == "PENDING" and got["ProviderType"] == "GitHub" and got["ConnectionName"] == name
    assert arn in [c["ConnectionArn"] for c in cc.list_connections(ProviderTypeFilter="GitHub")["Connections"]]
    assert arn not in [c["ConnectionArn"] for c in cc.list_connections(ProviderTypeFilter="GitLab")["Connections"]]
    cc.tag_resource(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "all"}])
    cc.untag_resource(ResourceArn=arn, TagKeys=["owner"])
    assert cc.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "all"}]
    cc.delete_connection(ConnectionArn=arn)
    with pytest.raises(ClientError) as exc:
        cc.get_connection(ConnectionArn=arn)
    assert error_code(exc) == "ResourceNotFoundException"


@pytest.mark.parametrize("kwargs", [
    {"ProviderType": "Subversion", "ConnectionName": "x"},       # not a provider type
    {"ProviderType": "GitHub", "ConnectionName": "x" * 33},      # names are 1-32 characters
    {"ConnectionName": "x"},                                     # neither a provider type nor a host
    {"ProviderType": "GitHub", "ConnectionName": "x", "Tags": [{"Key": "aws:reserved", "Value": "v"}]},
])
def test_codeconnections_service_refuses_what_aws_refuses(aws, kwargs) -> None:
    """The patch never accepts input AWS refuses (client-side validation off, so the server is what answers)."""
    cc = aws("codeconnections", parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        cc.create_connection(**kwargs)
    assert error_code(exc) == "ValidationException"


def test_codeconnections_service_is_removable() -> None:
    """remove_all() takes the service away again (in a fresh interpreter: the emulator of this package uses
    the patched moto of this one)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from moto import backend_index\n"
        "from cicd.emulator import moto_patches\n"
        "moto_patches.apply_all()\n"
        "assert 'moto.codeconnections' in sys.modules\n"
        "assert any(n == 'codeconnections' for n, _ in backend_index.backend_url_patterns)\n"
        "moto_patches.remove_all()\n"
        "assert 'moto.codeconnections' not in sys.modules\n"
        "assert not any(n == 'codeconnections' for n, _ in backend_index.backend_url_patterns)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert done.returncode == 0, done.stderr
