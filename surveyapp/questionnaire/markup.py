"""The questionnaire's inputs as HTML, written directly rather than through WTForms' widgets.

A questionnaire page holds a few hundred inputs, labels and options. WTForms' widgets
build each one through a generic attribute writer (sorting, cleaning and escaping every
attribute through ``Markup.format``) and make a throwaway field object per radio button
and checkbox; that was most of the time a respondent waited for the page. The functions
here write the very same markup (``tests/questionnaire/test_markup.py`` compares them
with WTForms' own widgets, field by field, in every state) for the widget kinds the
questionnaire uses, and leave any other widget to WTForms.

:class:`FastMeta` plugs them into WTForms' one documented rendering hook,
``Meta.render_field``, so forms and templates keep calling ``field(**attributes)``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape
from wtforms import SelectMultipleField, widgets
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.meta import DefaultMeta


def written(html: str) -> Markup:
    """HTML this module wrote, marked safe: every value in it went through ``escape``."""
    return Markup(html)  # noqa: S704  # nosec B704 - built from escaped values only


def _key(key: str) -> str:
    """An attribute's name as WTForms writes it (``class_`` -> ``class``, ``data_x`` ->
    ``data-x``)."""
    key = key.rstrip("_")
    if key.startswith(("data_", "aria_")):
        key = key.replace("_", "-")
    return key


def attributes(params: dict[str, Any]) -> str:
    """HTML attributes, sorted by name; True writes a bare attribute, False none (the
    output of :func:`wtforms.widgets.html_params`)."""
    parts = []
    for key in sorted(params):
        value = params[key]
        if value is True:
            parts.append(_key(key))
        elif value is not False:
            parts.append(f'{_key(key)}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return " ".join(parts)


def _flags(field: Field, names: tuple[str, ...], params: dict[str, Any]) -> None:
    """Add the attributes the field's validators imply (``required``, ``maxlength``...)."""
    for name, value in vars(field.flags).items():
        if name in names and name not in params:
            params[name] = value() if callable(value) else value


_INPUT_FLAGS = {
    "text": ("required", "disabled", "readonly", "maxlength", "minlength", "pattern"),
    "email": ("required", "disabled", "readonly", "maxlength", "minlength", "pattern"),
    "date": ("required", "disabled", "readonly", "max", "min", "step"),
    "number": ("required", "disabled", "readonly", "max", "min", "step"),
    "hidden": ("disabled",),
    "checkbox": ("required", "disabled"),
    "radio": ("required", "disabled"),
    "submit": ("required", "disabled"),
}


def _input(field: Field, input_type: str, params: dict[str, Any]) -> Markup:
    params.setdefault("id", field.id)
    params.setdefault("type", input_type)
    if "value" not in params:
        params["value"] = field._value()
    _flags(field, _INPUT_FLAGS[input_type], params)
    params["name"] = field.name
    return written(f"<input {attributes(params)}>")


def _textarea(field: Field, params: dict[str, Any]) -> Markup:
    params.setdefault("id", field.id)
    _flags(field, ("required", "disabled", "readonly", "maxlength", "minlength"), params)
    params["name"] = field.name
    return written(f"<textarea {attributes(params)}>\r\n{escape(field._value())}</textarea>")


@lru_cache(maxsize=8192)
def _option(value: str, label: str, selected: bool) -> str:
    """One ``<option>``; the same few hundred (countries, vocabularies) appear on every
    page, so each is written once."""
    chosen = " selected" if selected else ""
    value_text = str(escape(value)).replace('"', "&quot;")
    return f'<option{chosen} value="{value_text}">{escape(label)}</option>'


def _text(value: Any) -> str:
    """An option's value or label as text (``str(True)`` for a boolean, as WTForms)."""
    return value if type(value) is str else str(value)


def _plain_choices(field: Any) -> list[tuple[Any, Any, bool]] | None:
    """A choice field's options as (value, label, selected), as WTForms' ``iter_choices``
    gives them, without a new object per option; None unless the choices are plain (the
    ``SelectChoice`` list the form class holds, no groups, no attributes of their own,
    ``str`` as coercion)."""
    choices = field.choices
    if not isinstance(choices, list) or field.coerce is not str:
        return None
    if not all(type(c) is SelectChoice and not c.render_kw and c.optgroup is None for c in choices):
        return None
    if isinstance(field, SelectMultipleField):
        chosen = field.data or ()
        return [(c.value, c.label, str(c.value) in chosen) for c in choices]
    data = field.data
    return [(c.value, c.label, str(c.value) == data) for c in choices]


def _choices(field: Any) -> list[tuple[Any, Any, bool]]:
    """(value, label, selected) of every option, plain or not."""
    plain = _plain_choices(field)
    if plain is not None:
        return plain
    return [(c.value, c.label, bool(c.selected)) for c in field._iter_choices_normalized()]


def _select(field: Any, params: dict[str, Any]) -> Markup:
    choices = _plain_choices(field)
    if choices is None:  # groups or options with attributes of their own: WTForms writes them
        return field.widget(field, **params)
    params.setdefault("id", field.id)
    _flags(field, ("required", "disabled"), params)
    params["name"] = field.name
    options = "".join(
        _option(_text(value), _text(label or value), selected) for value, label, selected in choices
    )
    return written(f"<select {attributes(params)}>{options}</select>")


def options(field: Any, **params: Any) -> Markup:
    """A radio or checkbox group's options, each ``<li>input label</li>``: what iterating
    the field and rendering each option with its label writes, without an object per
    option."""
    own = {_key(k): v for k, v in (field.render_kw or {}).items()}
    own.update({_key(k): v for k, v in params.items()})
    input_type = "radio" if isinstance(field.option_widget, widgets.RadioInput) else "checkbox"
    names = _INPUT_FLAGS[input_type]
    implied = {k: (v() if callable(v) else v) for k, v in _validator_flags(field).items()}
    items = []
    for index, (value, text, selected) in enumerate(_choices(field)):
        option_id = f"{field.id}-{index}"
        attrs = dict(own)
        if selected:
            attrs.setdefault("checked", True)
        attrs.setdefault("id", option_id)
        attrs.setdefault("type", input_type)
        attrs.setdefault("value", str(value))
        for name, value in implied.items():
            if name in names and name not in attrs:
                attrs[name] = value
        attrs["name"] = field.name
        label = escape(text or value)
        items.append(
            f'<li><input {attributes(attrs)}> <label for="{option_id}">{label}</label></li>'
        )
    return written("".join(items))


def _validator_flags(field: Any) -> dict[str, Any]:
    """The flags an option of the field gets: those its validators set, as WTForms gives
    each option the field's validators."""
    flags: dict[str, Any] = {}
    for validator in field.validators or ():
        flags.update(getattr(validator, "field_flags", {}) or {})
    return flags


def _listed(field: Any, params: dict[str, Any]) -> Markup:
    params.setdefault("id", field.id)
    return written(f"<ul {attributes(params)}>{options(field)}</ul>")


def label(field: Field) -> Markup:
    """``<label for="id">text</label>``, as ``field.label`` writes it."""
    target = attributes({"for": field.label.field_id})
    return written(f"<label{' ' if target else ''}{target}>{escape(field.label.text)}</label>")


def _plain(field: Any, widget: Any) -> bool:
    """Whether an input widget writes nothing beyond its attributes: no datalist object,
    no date format, no step or bounds of its own (those stay with WTForms)."""
    if getattr(field, "_datalist", None) is not None or getattr(field, "format", None):
        return False
    return all(getattr(widget, name, None) is None for name in ("step", "min", "max"))


_INPUT_TYPES: dict[type, str] = {
    widgets.TextInput: "text",
    widgets.EmailInput: "email",
    widgets.DateInput: "date",
    widgets.NumberInput: "number",
    widgets.HiddenInput: "hidden",
    widgets.CheckboxInput: "checkbox",
    widgets.SubmitInput: "submit",
}


def render(field: Any, params: dict[str, Any]) -> Markup:
    """A field's markup by its widget, as the widget would write it; widgets this module
    does not know are left to WTForms."""
    widget = field.widget
    kind = type(widget)
    if kind in _INPUT_TYPES and _plain(field, widget):
        if kind is widgets.CheckboxInput and getattr(field, "checked", field.data):
            params.setdefault("checked", True)
        if kind is widgets.SubmitInput:
            params.setdefault("value", field.label.text)
        return _input(field, _INPUT_TYPES[kind], params)
    if kind is widgets.TextArea:
        return _textarea(field, params)
    if kind is widgets.Select and not widget.multiple:
        return _select(field, params)
    if kind is widgets.ListWidget and not widget.prefix_label and widget.html_tag == "ul":
        return _listed(field, params)
    return widget(field, **params)


class FastMeta(DefaultMeta):
    """WTForms' rendering hook, writing the questionnaire's inputs through :func:`render`."""

    def render_field(self, field: Field, render_kw: dict[str, Any]) -> Markup:
        """``field(**attributes)``: the same markup as the field's widget, sooner."""
        params = {_key(k): v for k, v in render_kw.items()}
        own = getattr(field, "render_kw", None)
        if own:
            params = {**{_key(k): v for k, v in own.items()}, **params}
        return render(field, params)
