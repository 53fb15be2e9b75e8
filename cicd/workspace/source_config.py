"""The source keys of a region's .env (SOURCE_PROVIDER, SOURCE_REPOSITORY's form, SOURCE_CONNECTION_ARN,
SOURCE_MIRROR_REGIONS): parsers and cross-checks used by cicd.workspace.config, which alone reads the files."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from cicd.workspace.fields import match
from cicd.workspace.model import RegionConfig, SourceProvider

# CodeCommit repository names; a Git host's full repository id is `owner/name` (GitLab: `group/subgroup/name`).
_CODECOMMIT_REPOSITORY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_GIT_HOST_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
# Connections created before the 2024 rename carry the codestar-connections prefix; both still work.
_CONNECTION_ARN = re.compile(r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):([a-z0-9-]+):\d{12}:"
                             r"connection/[0-9a-f-]{36}$")


def source_provider(raw: str) -> SourceProvider:
    try:
        return SourceProvider(raw)
    except ValueError:
        raise ValueError(f"allowed: {', '.join(p.value for p in SourceProvider)}") from None


def repository_parser(provider: Optional[SourceProvider]) -> Callable[[str], str]:
    if provider is None:
        return lambda v: v  # SOURCE_PROVIDER is already reported: which form is right is unknown
    if provider.is_git_host:
        return match(_GIT_HOST_REPOSITORY, f"the {provider.value} repository as owner/name (e.g. my-org/microservices)")
    return match(_CODECOMMIT_REPOSITORY, "1-100 letters, digits, '.', '_', '-' (a CodeCommit repository name)")


def source_extras(c: Any, region: str, provider: Optional[SourceProvider],
                   regions_parser: Callable[[str], Tuple[str, ...]]) -> Tuple[Optional[str], Tuple[str, ...]]:
    """SOURCE_CONNECTION_ARN (Git hosts only) and SOURCE_MIRROR_REGIONS (CodeCommit only)."""
    arn = c.get("SOURCE_CONNECTION_ARN", lambda v: v) or None
    mirrors = c.get("SOURCE_MIRROR_REGIONS", regions_parser) or ()
    if provider is None:
        return None, ()
    if arn is not None:
        match = _CONNECTION_ARN.match(arn)
        if not provider.is_git_host:
            c.problem("SOURCE_CONNECTION_ARN", arn, "only used with a Git host; allowed: empty with "
                      "SOURCE_PROVIDER=codecommit")
        elif not match:
            c.problem("SOURCE_CONNECTION_ARN", arn, "allowed: a connection ARN such as arn:aws:codeconnections:"
                      f"{region}:123456789012:connection/<uuid>, or empty to let the stack create one")
        elif match.group(2) != region:
            # A pipeline in the DR region must not depend on a connection that lives in the primary region.
            c.problem("SOURCE_CONNECTION_ARN", arn, f"is in {match.group(2)}; allowed: a connection in {region} "
                      "(each region uses its own connection to the same repository)")
    elif provider is SourceProvider.GITHUB_ENTERPRISE_SERVER:
        c.problem("SOURCE_CONNECTION_ARN", "", "missing; GitHub Enterprise Server needs a host (your server's URL "
                  "and network) set up in the console: allowed: the ARN of a connection on that host")
    if mirrors and provider.is_git_host:
        c.problem("SOURCE_MIRROR_REGIONS", ",".join(mirrors), "only used with SOURCE_PROVIDER=codecommit (every "
                  "region's pipeline reads the Git host itself); allowed: empty")
    return (arn if provider.is_git_host else None), (mirrors if not provider.is_git_host else ())


def check_mirrors(configs: Sequence[RegionConfig], shown: Callable[[Path], Path]) -> List[str]:
    """A region mirrored into must read the same CodeCommit repository name (the mirror job pushes to that
    name) under the same PROJECT_NAME (its grant on the DR key names the key's alias, alias/<project>-pipeline)."""
    by_region = {c.region: c for c in configs}
    problems = []
    for cfg in configs:
        for target in cfg.source_mirror_regions:
            other = by_region.get(target)
            if other is None:
                continue  # a region managed elsewhere: its repository must simply exist under the same name
            if other.project != cfg.project:
                problems.append(f"{shown(cfg.env_file)}: SOURCE_MIRROR_REGIONS={','.join(cfg.source_mirror_regions)}: "
                                f"{target} has PROJECT_NAME={other.project}; allowed: regions of project {cfg.project}")
            elif other.source_provider is not SourceProvider.CODECOMMIT or other.source_repository != cfg.source_repository:
                problems.append(f"{shown(cfg.env_file)}: SOURCE_MIRROR_REGIONS={','.join(cfg.source_mirror_regions)}: "
                                f"{target} must read CodeCommit repository {cfg.source_repository!r}; allowed: "
                                f"regions whose .env has SOURCE_PROVIDER=codecommit and "
                                f"SOURCE_REPOSITORY={cfg.source_repository}")
    return problems
