"""How the questionnaire's WTForms forms are built, translated and written out.

A questionnaire form holds a few hundred fields (an institution and up to thirty
programmes) and every page builds one, sometimes two. WTForms' defaults suit a login form
but cost a respondent most of their wait here: each field is constructed from scratch on
every request (its label, flags, choices and validators, although none of them changes
between requests), Flask-WTF reads WTForms' message catalogue from disk on every request,
and its generic widgets write each input through a generic attribute writer.
:class:`QuestionnaireMeta` changes the three through the hooks WTForms' ``Meta`` offers:

- ``bind_field``: a field is built once per form class, name and prefix, and each form
  gets its own shallow copy, which the form then processes (data, input, errors) exactly
  as it processes a new field. What the copies share never changes after construction.
- ``get_translations``: :data:`surveyapp.i18n.wtforms_messages`, one catalogue per language.
- ``render_field``: :func:`surveyapp.questionnaire.markup.render`, the same markup sooner.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import wtforms
from markupsafe import Markup
from wtforms.fields import Field
from wtforms.fields.core import UnboundField
from wtforms.meta import DefaultMeta

from surveyapp.i18n import wtforms_messages
from surveyapp.questionnaire.markup import key_of, render

# Fields whose state after construction is read-only (label, flags, validators, choices,
# widget), so that copies may share it; a field of any other kind (a FormField, a
# FieldList, a CSRF token) holds per-form objects and is built as WTForms builds it.
_SHAREABLE = (
    wtforms.BooleanField,  # and SubmitField
    wtforms.DateTimeField,  # and DateField
    wtforms.DecimalField,
    wtforms.IntegerField,
    wtforms.SelectField,  # and RadioField, SelectMultipleField
    wtforms.StringField,  # and TextAreaField, EmailField, HiddenField
)

# Built fields by their unbound field (a class attribute of a cached form class), then by
# name and prefix; weak, so that a form class nobody holds any more takes its fields along.
_BUILT: WeakKeyDictionary[UnboundField, dict[tuple[str, str], Field]] = WeakKeyDictionary()


def _built(form: Any, unbound_field: UnboundField, options: dict[str, Any]) -> Field | None:
    """The field as first built for this unbound field, name and prefix; None for a kind
    that cannot be shared."""
    if not issubclass(unbound_field.field_class, _SHAREABLE):
        return None
    by_place = _BUILT.setdefault(unbound_field, {})
    place = (options["name"], options["prefix"])
    field = by_place.get(place)
    if field is None:
        field = unbound_field.bind(form=form, **options)
        field._form = None  # each copy names its own form; this one keeps none alive
        by_place[place] = field
    return field


class QuestionnaireMeta(DefaultMeta):
    """The ``Meta`` of the questionnaire's forms (see the module's docstring)."""

    def bind_field(self, form: Any, unbound_field: UnboundField, options: dict[str, Any]) -> Field:
        """A copy of the field built once for this class, name and prefix, belonging to
        ``form``; the form processes it next, as it would a new one."""
        built = _built(form, unbound_field, options)
        if built is None:
            return unbound_field.bind(form=form, **options)
        field = object.__new__(type(built))
        field.__dict__.update(built.__dict__)
        field._form = form
        field.meta = form.meta
        return field

    def get_translations(self, form: Any) -> Any:
        """WTForms' messages in the request's language (:data:`i18n.wtforms_messages`)."""
        return wtforms_messages

    def render_field(self, field: Field, render_kw: dict[str, Any]) -> Markup:
        """``field(**attributes)``: the same markup as the field's widget, sooner."""
        params = {key_of(k): v for k, v in render_kw.items()}
        own = getattr(field, "render_kw", None)
        if own:
            params = {**{key_of(k): v for k, v in own.items()}, **params}
        return render(field, params)
