"""The source mirror's buildspec (templates/buildspecs/mirror.yml.j2): strict, exact, and checked by
cicd.workspace.validate.mirror_buildspec, which the preview runs on it."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from cicd.docs import preview

from cicd.workspace import render, validate
from cicd.workspace.config import load_all
from cicd.workspace.errors import TemplateError

EAST = load_all()[0]
SOURCE = "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/microservices"
TARGET = "https://git-codecommit.us-west-2.amazonaws.com/v1/repos/microservices"


def check(text, source=SOURCE, targets=(TARGET,)):
    return validate.mirror_buildspec("mirror", text, source_url=source, target_urls=list(targets))


def test_the_primary_mirrors_into_the_dr_repository_of_the_same_name():
    text = render.render_mirror_buildspec(EAST)
    doc = check(text)
    assert doc["env"]["variables"] == {"SOURCE_URL": SOURCE, "TARGET_URLS": TARGET}
    commands = doc["phases"]["pre_build"]["commands"] + doc["phases"]["build"]["commands"]
    # Signed by the build role through the AWS CLI's credential helper: no stored Git credentials.
    assert "git config --global credential.helper '!aws codecommit credential-helper $@'" in commands
    assert 'git clone --mirror "$SOURCE_URL" source.git' in commands
    push = [c for c in commands if " push " in c]
    assert push == ['for url in $TARGET_URLS; do echo "mirroring to $url"; git -C source.git push "$url" '
                    "'refs/heads/*:refs/heads/*' 'refs/tags/*:refs/tags/*' || exit 1; done"]


def test_two_targets_are_pushed_in_turn():
    cfg = dataclasses.replace(EAST, source_mirror_regions=("us-west-2", "eu-west-1"))
    text = render.render_mirror_buildspec(cfg)
    doc = check(text, targets=(TARGET, TARGET.replace("us-west-2", "eu-west-1")))
    assert doc["env"]["variables"]["TARGET_URLS"].split() == [TARGET, TARGET.replace("us-west-2", "eu-west-1")]


@pytest.mark.parametrize("key", ["source_url", "target_urls"])
def test_every_variable_is_required(key):
    context = {"source_url": SOURCE, "target_urls": [TARGET]}
    del context[key]
    with pytest.raises(TemplateError) as caught:
        render.Renderer().render(render.MIRROR_BUILDSPEC, context)
    assert caught.value.problems == [f"templates/{render.MIRROR_BUILDSPEC}: undefined variable: '{key}' is undefined"]


def _edited(old: str, new: str) -> str:
    text = render.render_mirror_buildspec(EAST)
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize("old,new,problem", [
    ("git -C source.git push \"$url\" 'refs/heads/*", "git -C source.git push \"$url\" '+refs/heads/*",
     "force-pushes"),
    ("git -C source.git push", "git -C source.git push --force", "force-pushes"),
    ("git -C source.git push", "git -C source.git push --mirror", "force-pushes"),
    (f'SOURCE_URL: "{SOURCE}"', f'SOURCE_URL: "{TARGET}"', "SOURCE_URL is"),
    (f'TARGET_URLS: "{TARGET}"', 'TARGET_URLS: ""', "TARGET_URLS is"),
    ("git -C source.git push", "git -C source.git fetch", "no git push command"),
    ("version: 0.2", "version: 0.1", "buildspec version"),
])
def test_the_check_refuses_a_broken_mirror(old, new, problem):
    with pytest.raises(TemplateError) as caught:
        check(_edited(old, new))
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert all("\n" not in p and p.startswith("mirror: ") for p in caught.value.problems)


def test_the_preview_check_names_the_template_and_region(tmp_path, monkeypatch):
    broken = tmp_path / "buildspecs"
    broken.mkdir()
    (broken / "mirror.yml.j2").write_text(render.Renderer().env.loader.get_source(
        render.Renderer().env, render.MIRROR_BUILDSPEC)[0].replace("'refs/heads/*", "'+refs/heads/*"))
    with pytest.raises(TemplateError, match=r"buildspecs/mirror.yml.j2 \(us-east-1\): .* force-pushes"):
        preview.check_mirror(EAST, render.Renderer(tmp_path))
    # The real template passes the same check and is valid YAML.
    assert yaml.safe_load(preview.check_mirror(EAST, render.Renderer()))["version"] == 0.2


def test_no_terraform_interpolation_in_the_rendered_buildspec():
    text = render.render_mirror_buildspec(EAST)
    assert "${" not in text and "%{" not in text
