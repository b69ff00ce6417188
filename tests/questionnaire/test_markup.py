"""The questionnaire's inputs and fields are written directly, for speed, and must read
exactly as before: every input as WTForms' own widget writes it, every field as the Jinja
macros (kept in ``reference_field.html``) wrote it, for every field of every shipped and
test questionnaire, in English and German, blank, filled in, refused and read-only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jinja2 import Environment, FileSystemLoader
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.fields import Field, FieldList, FormField
from wtforms.meta import DefaultMeta

from surveyapp.definitions import Definition, available, load_definition
from surveyapp.i18n import gettext
from surveyapp.questionnaire import field_markup, forms, markup
from surveyapp.questionnaire.form_meta import QuestionnaireMeta

TEXT = 'Zentrum für Zelltherapie & <Co> "GMP" l\'hôpital'
SENSIBLE = {"integer": "12", "decimal": "12.5", "date": "2025-03-31"}


def _inputs(form: Form) -> Iterator[Field]:
    """Every input of a form, inside its sub-forms and blocks."""
    for field in form:
        yield from _leaves(field)


def _leaves(field: Field) -> Iterator[Field]:
    if isinstance(field, FormField):
        for inner in field.form:
            yield from _leaves(inner)
    elif isinstance(field, FieldList):
        for block in field.entries:
            yield from _leaves(block)
    else:
        yield field


def _typed(form: Form, definition: Definition, sensible: bool) -> MultiDict:
    """What a respondent might send for every input: text with every character HTML
    escapes, or sensible values; the first options of every choice."""
    sent = MultiDict()
    kinds = {
        f.key: f.type for level in ("institution", "entry") for f in definition.level_fields(level)
    }
    for leaf in _inputs(form):
        if leaf.type in ("SubmitField", "CSRFTokenField") or leaf.name == "submit_key":
            continue
        key = leaf.name.rsplit("-", 1)[-1]
        if leaf.type in ("SelectField", "RadioField"):
            values = [str(c.value) for c in leaf.choices if c.value]
            sent.add(leaf.name, values[0] if values else "")
        elif leaf.type in ("CheckboxesField", "SelectMultipleField"):
            for choice in leaf.choices[:2]:
                sent.add(leaf.name, str(choice.value))
        elif leaf.type == "BooleanField":
            sent.add(leaf.name, "y")
        elif leaf.type == "IntegerField":
            sent.add(leaf.name, "7" if sensible else "many")
        elif leaf.type == "HiddenField":
            sent.add(leaf.name, "")
        else:
            sent.add(leaf.name, SENSIBLE.get(kinds.get(key, ""), TEXT) if sensible else TEXT)
    return sent


def _forms(definition: Definition) -> Iterator[tuple[str, Any]]:
    """The questionnaire form of a definition blank (as pre-filled with nothing), typed
    in and refused, and typed in sensibly."""
    blank = forms.form_data(definition, {"institution": {}, "entries": [{"fields": {}}]})
    form = forms.questionnaire_form(definition, formdata=None, data=blank, meta={"csrf": False})
    yield "blank", form
    for name, sensible in (("refused", False), ("sensible", True)):
        typed = forms.questionnaire_form(
            definition, formdata=_typed(form, definition, sensible), meta={"csrf": False}
        )
        typed.validate()
        yield name, typed


def _definitions() -> list[tuple[str, int]]:
    return available()


@pytest.fixture
def every_questionnaire(test_questionnaires: None) -> list[Definition]:
    """Every shipped questionnaire version and the test ones with every field type."""
    return [load_definition(name, version) for name, version in _definitions()]


@pytest.fixture
def reference(app: Flask) -> Any:
    """The field macros as they were (Jinja, through WTForms' widgets), for comparison."""
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(
        gettext, lambda s, p, n: s if n == 1 else p, newstyle=True
    )
    return environment.get_template("reference_field.html").module


def _wtforms_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QuestionnaireMeta, "render_field", DefaultMeta.render_field)


def _same(html: str) -> str:
    """Markup compared as a person's browser reads it: whitespace between tags and the
    spelling of an apostrophe (the macros left it raw, Python escapes it) do not count."""
    html = re.sub(r">\s+<", "><", str(html).strip())
    return re.sub(r"\s+", " ", html).replace("&#39;", "'")


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_input_reads_as_wtforms_writes_it(app, every_questionnaire, language, monkeypatch):
    attribute_sets: list[dict[str, Any]] = [
        {},
        {"disabled": True},
        {"disabled": False, "aria-describedby": "a-hint a-error", "aria-invalid": "true"},
        {"class_": "radios", "disabled": False},
    ]
    compared = 0
    for definition in every_questionnaire:
        with app.test_request_context(f"/?lang={language}"):
            from flask import session

            session["lang"] = language
            for _state, form in _forms(definition):
                for leaf in _inputs(form):
                    for attributes in attribute_sets:
                        fast = str(leaf(**attributes))
                        with monkeypatch.context() as patch:
                            _wtforms_rendering(patch)
                            slow = str(leaf(**attributes))
                        assert fast == slow, (definition.name, leaf.name, attributes)
                        compared += 1
                    assert str(markup.label(leaf)) == str(leaf.label)
                    if leaf.type in ("RadioField", "CheckboxesField"):
                        for disabled in (False, True):
                            written = str(markup.options(leaf, disabled=disabled))
                            options = "".join(
                                f"<li>{DefaultMeta().render_field(o, {'disabled': disabled})} "
                                f"{o.label}</li>"
                                for o in leaf
                            )
                            assert written == options, (definition.name, leaf.name)
    assert compared > 1000


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_field_reads_as_the_macros_wrote_it(
    app, every_questionnaire, reference, language, monkeypatch
):
    compared = 0
    for definition in every_questionnaire:
        with app.test_request_context("/"):
            from flask import session

            session["lang"] = language
            for _state, form in _forms(definition):
                blocks = [("institution", form.institution_block.form)] + [
                    ("entry", block.form) for block in form.entries
                ]
                for level, block in blocks:
                    for field in definition.level_fields(level):
                        for disabled in (False, True):
                            for to_confirm in (False, True):
                                written = field_markup.field(
                                    block,
                                    field,
                                    definition,
                                    disabled=disabled,
                                    to_confirm=to_confirm,
                                )
                                prompt = forms.expected_prompt(block, field, definition)
                                with monkeypatch.context() as patch:
                                    _wtforms_rendering(patch)
                                    macro = reference.field(
                                        block, field, disabled, prompt, to_confirm
                                    )
                                assert _same(written) == _same(macro), (definition.name, field.key)
                                compared += 1
    assert compared > 200


def test_an_answer_is_escaped_wherever_it_is_shown(app, every_questionnaire):
    definition = every_questionnaire[-1]
    with app.test_request_context("/"):
        _state, form = list(_forms(definition))[1]
        page = "".join(
            str(field_markup.field(form.institution_block.form, field, definition))
            for field in definition.level_fields("institution")
        )
    assert "<Co>" not in page
    assert "&lt;Co&gt;" in page
