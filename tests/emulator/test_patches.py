"""The patch registry of cicd/emulator/moto_patches/ as a whole: every patch is tested, remove_all() restores moto,
apply_all() is idempotent.

Each patch is exercised through boto3 against the running emulator in test_patches_<service>.py (one module
per service, as cicd/emulator/moto_patches/ has); test_gaps.py shows the same gaps on an unpatched moto server.
"""

from __future__ import annotations

import ast
from pathlib import Path

from cicd.emulator import moto_patches


def test_every_patch_is_tested() -> None:
    """Guard: a new patch needs a test in a test_patches_<service>.py module (named test_<patch name>...)."""
    tested = {
        node.name[len("test_"):]
        for path in Path(__file__).resolve().parent.glob("test_patches_*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    missing = [p for p in moto_patches.PATCHES if not any(t.startswith(p) for t in tested)]
    assert missing == []


def test_remove_all_restores_moto_and_apply_all_reinstalls(emulator) -> None:
    """remove_all() puts moto's own callables back (and drops the added operations); apply_all() again
    re-installs everything. (The emulator started by the fixture keeps running in between.)"""
    from moto.codecommit.responses import CodeCommitResponse
    from moto.codecommit import models as cc_models
    from moto.core.config import default_user_config
    from moto.s3.models import FakeBucket

    patched = CodeCommitResponse.create_repository
    originals = {k: dict(v) for k, v in moto_patches.ORIGINALS.items()}
    try:
        moto_patches.remove_all()
        assert moto_patches.applied() == []
        assert CodeCommitResponse.create_repository is originals["codecommit_tags_and_kms_key"][
            "CodeCommitResponse.create_repository"]
        assert cc_models.CodeCommit.__init__ is originals["codecommit_dates_as_epoch"]["CodeCommit.__init__"]
        assert "list_tags_for_resource" not in CodeCommitResponse.__dict__
        assert moto_patches._marker(FakeBucket.__dict__["_log_permissions_enabled_policy"]) is None
        assert default_user_config["iam"]["load_aws_managed_policies"] is False
    finally:
        assert moto_patches.apply_all() == list(moto_patches.PATCHES)
    assert CodeCommitResponse.create_repository is not patched  # a fresh install
    assert moto_patches._marker(CodeCommitResponse.create_repository) == "codecommit_tags_and_kms_key"
    assert "list_tags_for_resource" in CodeCommitResponse.__dict__


def test_apply_all_is_idempotent(emulator) -> None:
    """apply_all() twice installs nothing twice: the patched callables and the saved originals stay."""
    from moto.codecommit.responses import CodeCommitResponse
    from moto.codebuild import responses as cb

    before = (CodeCommitResponse.create_repository, cb._validate_required_params_source)
    originals = {k: dict(v) for k, v in moto_patches.ORIGINALS.items()}
    assert moto_patches.apply_all() == list(moto_patches.PATCHES)
    assert (CodeCommitResponse.create_repository, cb._validate_required_params_source) == before
    assert moto_patches.ORIGINALS == originals
    # the saved originals are moto's own functions, never one of ours
    for saved in originals.values():
        for fn in saved.values():
            assert moto_patches._marker(fn) is None
