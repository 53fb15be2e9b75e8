"""The source keys: SOURCE_PROVIDER, SOURCE_REPOSITORY's form per provider, SOURCE_CONNECTION_ARN and
SOURCE_MIRROR_REGIONS; every bad value one line naming the file, the key, the value and what is allowed."""
from __future__ import annotations

from pathlib import Path

import pytest

from cicd.workspace.config import SourceProvider, load_all, load_region
from cicd.workspace.errors import ConfigError

EAST_ARN = "arn:aws:codeconnections:us-east-1:123456789012:connection/0f9e8d7c-6b5a-4c3d-9e1f-2a3b4c5d6e7f"
OLD_EAST_ARN = "arn:aws:codestar-connections:us-east-1:123456789012:connection/0f9e8d7c-6b5a-4c3d-9e1f-2a3b4c5d6e7f"
WEST_ARN = EAST_ARN.replace("us-east-1", "us-west-2")
GITHUB = {"SOURCE_PROVIDER": "github", "SOURCE_REPOSITORY": "my-org/microservices", "SOURCE_MIRROR_REGIONS": ""}


def problems_of(environments: Path, region: str = "us-east-1"):
    with pytest.raises(ConfigError) as caught:
        load_region(region, environments_dir=environments)
    return caught.value.problems


def one_line(problems, environments: Path, key: str, value: str, *allowed: str) -> str:
    assert len(problems) == 1, problems
    line = problems[0]
    assert "\n" not in line and str(environments / "us-east-1" / ".env") in line and f"{key}={value}:" in line, line
    for fragment in allowed:
        assert fragment in line, (fragment, line)
    return line


def test_the_committed_files_use_codecommit_and_mirror_the_primary_into_the_dr_region():
    east, west = load_all()
    assert (east.source_provider, west.source_provider) == (SourceProvider.CODECOMMIT, SourceProvider.CODECOMMIT)
    assert east.source_mirror_regions == ("us-west-2",) and west.source_mirror_regions == ()
    assert east.source_connection_arn is None and west.source_connection_arn is None


def test_codecommit_is_the_default_when_the_keys_are_absent(env_dir):
    cfg = load_region("us-east-1", environments_dir=env_dir(drop=("SOURCE_PROVIDER", "SOURCE_MIRROR_REGIONS")))
    assert cfg.source_provider is SourceProvider.CODECOMMIT and cfg.source_mirror_regions == ()


@pytest.mark.parametrize("provider,kind", [("github", "GitHub"), ("gitlab", "GitLab"), ("bitbucket", "Bitbucket")])
def test_a_git_host_with_a_connection_the_stack_creates(env_dir, provider, kind):
    cfg = load_region("us-east-1", environments_dir=env_dir(changes={**GITHUB, "SOURCE_PROVIDER": provider}))
    assert cfg.source_provider.is_git_host and cfg.source_provider.connection_type == kind
    assert cfg.source_repository == "my-org/microservices" and cfg.source_connection_arn is None


@pytest.mark.parametrize("arn", [EAST_ARN, OLD_EAST_ARN])
def test_an_existing_connection_of_either_prefix(env_dir, arn):
    cfg = load_region("us-east-1", environments_dir=env_dir(changes={**GITHUB, "SOURCE_CONNECTION_ARN": arn}))
    assert cfg.source_connection_arn == arn


def test_github_enterprise_server_with_its_connection_and_a_gitlab_subgroup(env_dir):
    cfg = load_region("us-east-1", environments_dir=env_dir(changes={
        **GITHUB, "SOURCE_PROVIDER": "github-enterprise-server", "SOURCE_CONNECTION_ARN": EAST_ARN}))
    assert cfg.source_provider.connection_type == "GitHubEnterpriseServer"
    cfg = load_region("us-east-1", environments_dir=env_dir(changes={
        **GITHUB, "SOURCE_PROVIDER": "gitlab", "SOURCE_REPOSITORY": "group/sub/microservices"}))
    assert cfg.source_repository == "group/sub/microservices"


BAD = [
    # (changes, key, value shown, fragments of what is allowed)
    ({"SOURCE_PROVIDER": "svn"}, "SOURCE_PROVIDER", "svn",
     ("allowed: codecommit, github, github-enterprise-server, gitlab, bitbucket",)),
    ({**GITHUB, "SOURCE_REPOSITORY": "microservices"}, "SOURCE_REPOSITORY", "microservices",
     ("the github repository as owner/name",)),
    ({"SOURCE_REPOSITORY": "my-org/microservices"}, "SOURCE_REPOSITORY", "my-org/microservices",
     ("a CodeCommit repository name",)),
    ({**GITHUB, "SOURCE_CONNECTION_ARN": "arn:aws:codecommit:us-east-1:123456789012:microservices"},
     "SOURCE_CONNECTION_ARN", "arn:aws:codecommit:us-east-1:123456789012:microservices",
     ("allowed: a connection ARN", "or empty to let the stack create one")),
    ({**GITHUB, "SOURCE_CONNECTION_ARN": WEST_ARN}, "SOURCE_CONNECTION_ARN", WEST_ARN,
     ("is in us-west-2", "allowed: a connection in us-east-1")),
    ({"SOURCE_CONNECTION_ARN": EAST_ARN}, "SOURCE_CONNECTION_ARN", EAST_ARN,
     ("only used with a Git host", "SOURCE_PROVIDER=codecommit")),
    ({**GITHUB, "SOURCE_PROVIDER": "github-enterprise-server"}, "SOURCE_CONNECTION_ARN", "",
     ("GitHub Enterprise Server needs a host", "allowed: the ARN of a connection")),
    ({**GITHUB, "SOURCE_MIRROR_REGIONS": "us-west-2"}, "SOURCE_MIRROR_REGIONS", "us-west-2",
     ("only used with SOURCE_PROVIDER=codecommit", "allowed: empty")),
    ({"SOURCE_MIRROR_REGIONS": "us-east-1"}, "SOURCE_MIRROR_REGIONS", "us-east-1",
     ("allowed: other AWS regions",)),
    ({"SOURCE_MIRROR_REGIONS": "mars-1"}, "SOURCE_MIRROR_REGIONS", "mars-1", ("allowed: other AWS regions",)),
]


@pytest.mark.parametrize("changes,key,value,allowed", BAD, ids=[f"{b[1]}={b[2][:30]}" for b in BAD])
def test_a_bad_source_value_is_one_clear_line(env_dir, changes, key, value, allowed):
    root = env_dir(changes=changes)
    one_line(problems_of(root), root, key, value, *allowed)


def test_a_bad_provider_does_not_also_blame_the_repository(env_dir):
    # Which repository form is right depends on the provider: with the provider unknown, one problem only.
    root = env_dir(changes={"SOURCE_PROVIDER": "githb", "SOURCE_REPOSITORY": "my-org/microservices"})
    one_line(problems_of(root), root, "SOURCE_PROVIDER", "githb", "allowed: codecommit")


def test_the_mirrored_region_must_read_the_same_codecommit_repository(env_dir):
    env_dir(region="us-east-1")
    root = env_dir(region="us-west-2", changes={"SOURCE_REPOSITORY": "other-repo"})
    with pytest.raises(ConfigError) as caught:
        load_all(root)
    assert len(caught.value.problems) == 1
    line = caught.value.problems[0]
    assert str(root / "us-east-1" / ".env") in line and "SOURCE_MIRROR_REGIONS=us-west-2:" in line
    assert "us-west-2 must read CodeCommit repository 'microservices'" in line and "\n" not in line
    # ... and a DR region on a Git host cannot be mirrored into either.
    root = env_dir(region="us-west-2", changes=GITHUB)
    with pytest.raises(ConfigError, match="SOURCE_PROVIDER=codecommit and SOURCE_REPOSITORY=microservices"):
        load_all(root)


def test_both_regions_on_a_git_host_load(env_dir):
    env_dir(region="us-east-1", changes=GITHUB)
    root = env_dir(region="us-west-2", changes={**GITHUB, "SOURCE_CONNECTION_ARN": WEST_ARN})
    east, west = load_all(root)
    assert east.source_repository == west.source_repository == "my-org/microservices"
    assert east.source_connection_arn is None and west.source_connection_arn == WEST_ARN


def test_readme_documents_the_source_keys_and_keeps_the_quick_start():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for key in ("SOURCE_PROVIDER", "SOURCE_REPOSITORY", "SOURCE_BRANCH", "SOURCE_CONNECTION_ARN",
                "SOURCE_MIRROR_REGIONS"):
        assert f"`{key}`" in readme, key
    for provider in SourceProvider:
        assert f"`{provider.value}`" in readme, provider
    assert "## Quick start\n\n```sh\nnox -s emulator\nnox -s tests\n```\n" in readme
    assert "## Switching the source" in readme and "Update pending connection" in readme


def test_the_mirrored_region_must_be_of_the_same_project(env_dir):
    env_dir(region="us-east-1")
    root = env_dir(region="us-west-2", changes={"PROJECT_NAME": "other"})
    with pytest.raises(ConfigError) as caught:
        load_all(root)
    (line,) = caught.value.problems
    assert "SOURCE_MIRROR_REGIONS=us-west-2: us-west-2 has PROJECT_NAME=other; allowed: regions of project shop" in line


def test_a_pending_connection_is_explained_after_the_deploy(capsys):
    from cicd.deploy import cli as deploy

    url = "https://us-east-1.console.aws.amazon.com/codesuite/settings/connections?region=us-east-1"
    deploy.print_outputs("us-east-1", {"source_connection_status": "PENDING", "source_connection_console_url": url,
                                       "source_connection_arn": EAST_ARN})
    out = capsys.readouterr().out
    assert f"the source connection {EAST_ARN} is PENDING" in out and f"open {url}" in out
    assert "Update pending connection" in out
    deploy.print_outputs("us-east-1", {"source_connection_status": "AVAILABLE"})
    assert "PENDING" not in capsys.readouterr().out
