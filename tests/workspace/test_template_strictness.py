"""Jinja templates are strict: an undefined variable, a syntax error, a missing template or output that is
not JSON fails naming the template; and no template holds Terraform interpolation (`${`, `%{`)."""
from __future__ import annotations

from pathlib import Path

import pytest
from template_testkit import API, EAST, bare_taskdefs

from cicd.workspace import render
from cicd.workspace.config import Stage
from cicd.workspace.errors import TemplateError


def test_undefined_variable_names_template_and_variable(tmp_path):
    (tmp_path / "t.j2").write_text("ok {{ defined }} then {{ not_defined_anywhere }}\n")
    with pytest.raises(TemplateError) as caught:
        render.Renderer(tmp_path).render("t.j2", {"defined": 1})
    message = str(caught.value)
    assert f"{tmp_path.name}/t.j2" in message and "not_defined_anywhere" in message and "\n" not in message


def test_undefined_in_a_condition_or_attribute_also_fails(tmp_path):
    # Lenient Undefined would treat these as false / empty: StrictUndefined must not.
    (tmp_path / "if.j2").write_text("{% if missing_flag %}x{% endif %}")
    (tmp_path / "attr.j2").write_text("{{ item.missing_attr }}")
    with pytest.raises(TemplateError, match="missing_flag"):
        render.Renderer(tmp_path).render("if.j2", {})
    with pytest.raises(TemplateError, match="missing_attr"):
        render.Renderer(tmp_path).render("attr.j2", {"item": {}})


def test_real_taskdef_template_with_a_missing_value_fails_by_name():
    context = render.taskdef_context(EAST, Stage.STAGING, API, render.example_refs(EAST, Stage.STAGING, API), None)
    del context["log_group"]
    with pytest.raises(TemplateError) as caught:
        render.Renderer().render_json(render.TASKDEF, context)
    assert "templates/taskdefs/taskdef.json.j2" in str(caught.value) and "log_group" in str(caught.value)


class _Recorder(render.Renderer):
    """Remembers the context every real template was rendered with."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def render(self, name, context):
        self.calls.append((name, dict(context)))
        return super().render(name, context)


def _real_template_contexts():
    recorder = _Recorder()
    render.render_taskdef(EAST, Stage.STAGING, API, render.example_refs(EAST, Stage.STAGING, API), None, recorder)
    render.render_build_buildspec(EAST, API, bare_taskdefs(EAST, API), recorder)  # also renders the appspec
    render.render_test_buildspec(EAST.services, recorder)
    contexts = {}
    for name, context in recorder.calls:
        contexts.setdefault(name, context)
    assert set(contexts) == {render.TASKDEF, render.APPSPEC, render.BUILD_BUILDSPEC, render.TEST_BUILDSPEC}
    return [(name, key, context) for name, context in sorted(contexts.items()) for key in sorted(context)]


@pytest.mark.parametrize("name,key,context", _real_template_contexts(),
                         ids=[f"{n}-{k}" for n, k, _ in _real_template_contexts()])
def test_every_variable_of_every_real_template_is_required(name, key, context):
    reduced = {k: v for k, v in context.items() if k != key}
    with pytest.raises(TemplateError) as caught:
        render.Renderer().render(name, reduced)
    assert caught.value.problems == [f"templates/{name}: undefined variable: '{key}' is undefined"]


def test_syntax_error_names_template_and_line(tmp_path):
    (tmp_path / "bad.j2").write_text("line one\n{% for x in %}\n")
    with pytest.raises(TemplateError, match=rf"{tmp_path.name}/bad.j2:2: template syntax error"):
        render.Renderer(tmp_path).render("bad.j2", {})


def test_missing_template_and_non_json_output_are_template_errors(tmp_path):
    (tmp_path / "notjson.j2").write_text("{ not json")
    with pytest.raises(TemplateError, match="nothere.j2: template not found"):
        render.Renderer(tmp_path).render("nothere.j2", {})
    with pytest.raises(TemplateError, match="notjson.j2: rendered output is not JSON"):
        render.Renderer(tmp_path).render_json("notjson.j2", {})


def test_templates_never_contain_terraform_interpolation():
    for path in Path(render.TEMPLATES_DIR).rglob("*.j2"):
        text = path.read_text()
        assert "${" not in text and "%{" not in text, path
