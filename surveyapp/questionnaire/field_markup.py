"""One questionnaire field as the page shows it: label, hint, prompts, errors and input.

The questionnaire page repeats this for every field of the institution and of each
programme, a few hundred times for an institution with several programmes. As Jinja
macros (a macro per field, calling a macro per part) the calls themselves cost more than
the markup; written here once, in plain Python, the page spends its time on what differs
between respondents. Everything still comes from the definition: the field's type picks
the shape, its texts come through the catalogue in the page's language, and its input
through :mod:`surveyapp.questionnaire.markup`. The HTML is what the macros wrote, which
``tests/questionnaire/test_field_markup.py`` checks for every type and state.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape
from wtforms import Form
from wtforms.fields import Field

from surveyapp.definitions import Definition, FieldDefinition
from surveyapp.i18n import gettext as _
from surveyapp.questionnaire.forms import expected_prompt
from surveyapp.questionnaire.markup import label, options, written

# Types drawn by :func:`_generic`: their own input with unit, hint and show_if.
GENERIC_TYPES = frozenset(
    {"integer", "decimal", "date", "yes_no_unknown", "choice", "multi_choice", "text_list"}
    | {"long_text"}
)


@lru_cache(maxsize=4)
def disease_terms(terms: tuple[str, ...]) -> Markup:
    """The ``<datalist>`` of disease suggestions: the same few hundred on every page until
    the registry changes them, so written once per list."""
    options = "".join(f'<option value="{escape(term)}">' for term in terms)
    return written(f'<datalist id="disease-terms">{options}</datalist>')


def _errors(input_: Field) -> str:
    return "".join(
        f'<p class="error" id="{escape(input_.id)}-error">{escape(e)}</p>' for e in input_.errors
    )


def _hint(input_: Field) -> str:
    """The field's help beneath its label ('' without), which its input names."""
    if not input_.description:
        return ""
    return f'<p class="hint" id="{escape(input_.id)}-hint">{escape(input_.description)}</p>'


def _plain(input_: Field, disabled: bool) -> str:
    """A label, its hint and errors, and the input, in a ``div.field``."""
    described = (f"{input_.id}-hint " if input_.description else "") + (
        f"{input_.id}-error" if input_.errors else ""
    )
    attributes: dict[str, Any] = {"disabled": disabled}
    if described.strip():
        attributes["aria-describedby"] = described.strip()
    if input_.errors:
        attributes["aria-invalid"] = "true"
    return (
        f'<div class="field{" has-error" if input_.errors else ""}">{label(input_)}{_hint(input_)}'
        f"{_errors(input_)}{input_(**attributes)}</div>"
    )


def _generic(block: Form, field: FieldDefinition, disabled: bool) -> str:
    """A field of a generic type: its own input, unit and hint; with show_if, the field
    whose answer it depends on, for static/questionnaire.js to hide it until relevant."""
    input_ = block[field.key]
    field_id = escape(input_.id)
    group = input_.type in ("RadioField", "CheckboxesField")
    tag = "fieldset" if group else "div"
    described_by = (
        (f"{input_.id}-hint " if input_.description else "")
        + (f"{input_.id}-unit " if field.unit else "")
        + (f"{input_.id}-error" if input_.errors else "")
    ).strip()
    opening = f'<{tag} class="field{" has-error" if input_.errors else ""}" id="{field_id}-field"'
    if field.show_if and field.show_if.field in block:
        condition = escape(block[field.show_if.field].name)
        wanted = escape(" ".join(field.show_if.values))
        opening += f' data-show-if="{condition}" data-show-values="{wanted}"'
    if group and described_by:
        opening += f' aria-describedby="{escape(described_by)}"'
    heading = f"<legend>{escape(input_.label.text)}</legend>" if group else str(label(input_))
    if group:
        kind = "radios" if input_.type == "RadioField" else "checkboxes"
        body = f'<ul id="{field_id}" class="{kind}">{options(input_, disabled=disabled)}</ul>'
    else:
        attributes: dict[str, Any] = {"disabled": disabled}
        if described_by:
            attributes["aria-describedby"] = described_by
        if input_.errors:
            attributes["aria-invalid"] = "true"
        body = str(input_(**attributes))
        if field.unit:
            unit = f'<span class="unit" id="{field_id}-unit">{escape(_(field.unit))}</span>'
            body = f'<span class="with-unit">{body} {unit}</span>'
    return f"{opening}>{heading}{_hint(input_)}{_errors(input_)}{body}</{tag}>"


def field(
    block: Form,
    field: FieldDefinition,
    definition: Definition | None = None,
    *,
    disabled: bool = False,
    to_confirm: bool = False,
) -> Markup:
    """The markup of one definition field in a form block; with ``definition``, the soft
    prompt of an expected answer still missing (:func:`forms.expected_prompt`)."""
    first_id = escape(block[field.key].id)
    parts = []
    prompt = expected_prompt(block, field, definition) if definition is not None else ""
    if prompt and not disabled:
        parts.append(
            f'<p class="notice expected" id="{first_id}-expected" role="note">{escape(prompt)}</p>'
        )
    if to_confirm and not disabled:
        check = _(
            "We read this from your institution's name as RESTORE's Table 1 printed it: "
            "please check it."
        )
        parts.append(f'<p class="notice" id="{first_id}-confirm" role="note">{escape(check)}</p>')
    parts.append(_shape(block, field, disabled))
    return written("".join(parts))


def _shape(block: Form, field: FieldDefinition, disabled: bool) -> str:
    """The field's own markup, by its type."""
    input_ = block[field.key]
    kind = field.type
    if kind in GENERIC_TYPES or (kind == "text" and not field.in_table1):
        return _generic(block, field, disabled)
    if kind == "atmp_types":
        hint = f'<p class="hint">{escape(_(field.help))}</p>' if field.help else ""
        return (
            f'<fieldset class="field{" has-error" if input_.errors else ""}">'
            f"<legend>{escape(_(field.label))}</legend>{hint}{_errors(input_)}"
            f"{input_(disabled=disabled)}{_plain(block[field.key + '_other'], disabled)}"
            "</fieldset>"
        )
    if kind == "patient_count":
        return (
            '<fieldset class="field inline-pair">'
            f'<legend class="visually-hidden">{escape(_(field.label))}</legend>'
            f"{_plain(input_, disabled)}{_plain(block[field.key + '_qualifier'], disabled)}"
            "</fieldset>"
        )
    if kind == "answer":
        return (
            f'<fieldset class="field{" has-error" if input_.errors else ""}">'
            f"<legend>{escape(_(field.label))}</legend>{_errors(input_)}"
            f"{input_(disabled=disabled, class_='radios')}</fieldset>"
        )
    if kind == "term_list":
        added = "" if disabled else _plain(block[field.key + "_add"], disabled)
        return _plain(input_, disabled) + added
    return _plain(input_, disabled)
