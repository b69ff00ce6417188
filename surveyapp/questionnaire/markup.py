"""The questionnaire's inputs as HTML, written directly rather than through WTForms' widgets.

A questionnaire page holds a few hundred inputs, labels and options. WTForms' widgets
build each one through a generic attribute writer (sorting, cleaning and escaping every
attribute through ``Markup.format``) and make a throwaway field object per radio button
and checkbox; that was most of the time a respondent waited for the page. The functions
here write the very same markup (``tests/questionnaire/test_markup.py`` compares them
with WTForms' own widgets, field by field, in every state) for the widget kinds the
questionnaire uses, and leave any other widget to WTForms.

:class:`surveyapp.questionnaire.form_meta.QuestionnaireMeta` plugs them into WTForms'
one documented rendering hook, ``Meta.render_field``, so forms and templates keep calling
``field(**attributes)``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape
from wtforms import SelectMultipleField, widgets
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice


def written(html: str) -> Markup:
    """HTML this module wrote, marked safe: every value in it went through ``escape``."""
    return Markup(html)  # noqa: S704  # nosec B704 - built from escaped values only


def key_of(key: str) -> str:
    """An attribute's name as WTForms writes it (``class_`` -> ``class``, ``data_x`` ->
    ``data-x``)."""
    key = key.rstrip("_")
    if key.startswith(("data_", "aria_")):
        key = key.replace("_", "-")
    return key


def _attribute(key: str, value: Any) -> str:
    """One attribute: bare for True, nothing for False, else ``name="value"``."""
    if value is True:
        return key_of(key)
    if value is False:
        return ""
    return f'{key_of(key)}="{str(escape(value)).replace(chr(34), "&quot;")}"'


@lru_cache(maxsize=8192)
def _written_attributes(params: tuple[tuple[str, Any], ...]) -> str:
    """Attributes already in name order, each written once: an input's id, name, type and
    flags are the same on every page, only its value differs."""
    return " ".join(part for part in (_attribute(k, v) for k, v in params) if part)


def attributes(params: dict[str, Any]) -> str:
    """HTML attributes, sorted by name; True writes a bare attribute, False none (the
    output of :func:`wtforms.widgets.html_params`)."""
    ordered = sorted(params.items(), key=_by_name)
    value = None
    if ordered and ordered[-1][0] == "value":  # the answer, different for everyone
        value = _attribute(*ordered.pop())
    try:
        written_ = _written_attributes(tuple(ordered))
    except TypeError:  # a value that cannot be a cache key (a list): written each time
        written_ = _written_attributes.__wrapped__(tuple(ordered))
    if not value:
        return written_
    return f"{written_} {value}" if written_ else value


def _by_name(item: tuple[str, Any]) -> str:
    return item[0]


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


class _SelectOptions:
    """A select's ``<option>`` markup for one list of plain choices (254 countries on
    every questionnaire page), written once per list: each option unselected and
    selected, and the whole list with none selected."""

    def __init__(self, choices: list[SelectChoice]) -> None:
        self.choices = choices  # held, so that no other list takes its id while cached
        self.unselected = [
            _option(_text(c.value), _text(c.label or c.value), False) for c in choices
        ]
        self.selected = [_option(_text(c.value), _text(c.label or c.value), True) for c in choices]
        self.none_selected = "".join(self.unselected)
        self.positions: dict[str, list[int]] = {}
        for number, choice in enumerate(choices):
            self.positions.setdefault(str(choice.value), []).append(number)

    def markup(self, data: Any) -> str:
        """The options, those whose value equals ``data`` selected (WTForms' test)."""
        numbers = self.positions.get(data) if isinstance(data, str) else None
        if not numbers:
            return self.none_selected
        parts = list(self.unselected)
        for number in numbers:
            parts[number] = self.selected[number]
        return "".join(parts)


# Written option lists by the id of the choices list they hold (see _SelectOptions).
_SELECT_OPTIONS: dict[int, _SelectOptions] = {}
_SELECT_OPTIONS_KEPT = 512


def _select_options(field: Any) -> str | None:
    """A plain select's options as markup; None when the choices are not plain."""
    choices = field.choices
    if field.coerce is not str or not isinstance(choices, list):
        return None
    known = _SELECT_OPTIONS.get(id(choices))
    if known is None or known.choices is not choices:
        if _plain_choices(field) is None:
            return None
        if len(_SELECT_OPTIONS) >= _SELECT_OPTIONS_KEPT:
            _SELECT_OPTIONS.clear()
        known = _SELECT_OPTIONS[id(choices)] = _SelectOptions(choices)
    return known.markup(field.data)


def _select(field: Any, params: dict[str, Any]) -> Markup:
    options = _select_options(field)
    if options is None:  # groups or options with attributes of their own: WTForms writes them
        return field.widget(field, **params)
    params.setdefault("id", field.id)
    _flags(field, ("required", "disabled"), params)
    params["name"] = field.name
    return written(f"<select {attributes(params)}>{options}</select>")


def options(field: Any, **params: Any) -> Markup:
    """A radio or checkbox group's options, each ``<li>input label</li>``: what iterating
    the field and rendering each option with its label writes, without an object per
    option."""
    own = {key_of(k): v for k, v in (field.render_kw or {}).items()}
    own.update({key_of(k): v for k, v in params.items()})
    input_type = "radio" if isinstance(field.option_widget, widgets.RadioInput) else "checkbox"
    names = _INPUT_FLAGS[input_type]
    implied = tuple(
        sorted(
            (k, v() if callable(v) else v)
            for k, v in _validator_flags(field).items()
            if k in names and k not in own
        )
    )
    choices = _choices(field)
    place = (field.id, field.name, input_type, tuple(own.items()), implied)
    labelled = tuple((value, text) for value, text, _selected in choices)
    try:
        written_ = _written_options(*place, labelled)
    except TypeError:  # an attribute or label that cannot be a cache key: written each time
        written_ = _written_options.__wrapped__(*place, labelled)
    return written(
        "".join(
            checked if selected else unchecked
            for (unchecked, checked), (_value, _text, selected) in zip(
                written_, choices, strict=True
            )
        )
    )


@lru_cache(maxsize=2048)
def _written_options(
    field_id: str,
    name: str,
    input_type: str,
    own: tuple[tuple[str, Any], ...],
    implied: tuple[tuple[str, Any], ...],
    labelled: tuple[tuple[Any, Any], ...],
) -> tuple[tuple[str, str], ...]:
    """Each option's ``<li>`` unchecked and checked: a group's options are the same on
    every page, only which are ticked differs."""
    items = []
    for index, (value, text) in enumerate(labelled):
        option_id = f"{field_id}-{index}"
        label = escape(text or value)
        pair = []
        for selected in (False, True):
            attrs = dict(own)
            if selected:
                attrs.setdefault("checked", True)
            attrs.setdefault("id", option_id)
            attrs.setdefault("type", input_type)
            attrs.setdefault("value", str(value))
            attrs.update(implied)
            attrs["name"] = name
            pair.append(
                f'<li><input {attributes(attrs)}> <label for="{option_id}">{label}</label></li>'
            )
        items.append((pair[0], pair[1]))
    return tuple(items)


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
