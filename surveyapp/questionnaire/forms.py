"""Flask-WTF forms built from a questionnaire definition: one input kind per field type.

The definition in ``forms/`` names each field's label, type, vocabulary, whether it is
required and its maximum length; this module turns that into WTForms classes (cached per
definition) and converts between form data and answers in the controlled-value shapes of
:mod:`surveyapp.registry.values`. Table 1's types check shape only; the generic types
(:mod:`surveyapp.definitions.answers`) are read here exactly as every other area reads
them, so the respondent's message and the stored value come from the one reading.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import replace
from functools import cache
from typing import Any

from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, StopValidation

from surveyapp.definitions import Definition, FieldDefinition
from surveyapp.definitions import answers as generic
from surveyapp.definitions.vocabularies import CODE_VOCABULARIES
from surveyapp.definitions.vocabularies import choices as vocabulary_choices
from surveyapp.i18n import country_label, country_names
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.questionnaire.form_meta import QuestionnaireMeta
from surveyapp.registry import values
from surveyapp.routing import id_from
from surveyapp.vocabulary import Answer, AtmpType, PatientsQualifier, countries

MAX_ENTRIES = 30
# A choice with up to this many options is asked with radio buttons, a longer one with a
# select: every option stays visible while the list is short enough to read at a glance.
RADIOS_UP_TO = 6


class TranslatedForm(Form):
    """A sub-form whose built-in messages come in the request's language, like FlaskForm's."""

    Meta = QuestionnaireMeta


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


# WTForms' own message for a value that is none of the choices, translated by WTForms'
# catalogue (so not one of this project's texts to extract).
NOT_A_CHOICE = "Not a valid choice."


class CountryField(SelectField):
    """A country, by its ISO code, or the empty choice that leads the list.

    WTForms checks a choice by building every option (over 250 countries) with each
    submitted form; the code is checked against the set of codes instead, with WTForms'
    own message."""

    def pre_validate(self, form: Form) -> None:
        """Refuse a value that is no country code (nor the empty choice)."""
        if self.process_errors or not self.validate_choice:
            return
        if self.data != "" and self.data not in countries():
            raise ValidationError(self.invalid_choice_message or self.gettext(NOT_A_CHOICE))


def _website(_form: Form, field: StringField) -> None:
    """The registry's one rule for websites (:func:`values.website_problem`), so nothing
    but an http(s) address or a host name is ever published as a link."""
    value = (field.data or "").strip()
    if value and values.website_problem(value):
        raise ValidationError(
            _l(
                "Enter a web address that starts with http:// or https://, "
                "or a host name such as www.example.org."
            )
        )


def _length(definition: FieldDefinition) -> list[Any]:
    return [Length(max=definition.max_length)] if definition.max_length else []


def _options(field: FieldDefinition, blank: bool = False) -> list[SelectChoice]:
    """A choice field's options in the page's language: labels of vocabularies defined in
    code through the catalogue, those of data vocabularies through their own translations.
    Called when a form is built, so each request gets its own language."""
    language = str(get_locale() or "en")
    in_code = field.vocabulary in CODE_VOCABULARIES
    options = [
        SelectChoice(code, _(label) if in_code else label)
        for code, label in vocabulary_choices(field.vocabulary or "", language)
    ]
    return [SelectChoice("", _("Choose one")), *options] if blank else options


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def range_hint(field: FieldDefinition) -> str:
    """The bounds of a number field as the respondent reads them ('' without bounds)."""
    low = None if field.min is None else _number(field.min)
    high = None if field.max is None else _number(field.max)
    if low is not None and high is not None:
        return _("From %(min)s to %(max)s.", min=low, max=high)
    if low is not None:
        return _("At least %(min)s.", min=low)
    if high is not None:
        return _("At most %(max)s.", max=high)
    return ""


def _out_of_range(field: FieldDefinition) -> str:
    low = None if field.min is None else _number(field.min)
    high = None if field.max is None else _number(field.max)
    if low is not None and high is not None:
        return _("Enter a number from %(min)s to %(max)s.", min=low, max=high)
    if low is not None:
        return _("Enter a number of at least %(min)s.", min=low)
    return _("Enter a number of at most %(max)s.", max=high)


def problem_message(field: FieldDefinition, raw: Any) -> str:
    """The sentence a respondent reads for an answer that
    :func:`surveyapp.definitions.answers.read` refused, in the page's language: what to
    enter instead (the reading's own problem is worded for imports and logs, in English)."""
    match field.type:
        case "integer" | "decimal":
            unbounded = generic.read(replace(field, min=None, max=None), raw)
            if unbounded.problem is None:
                return _out_of_range(field)
            if field.type == "integer":
                return _("Enter a whole number, such as 12.")
            return _("Enter a number, such as 12.5.")
        case "date":
            return _("Enter a date as year-month-day, such as 2025-03-31.")
        case "yes_no_unknown" | "choice":
            return _("Choose one of the answers offered.")
        case "multi_choice":
            return _("Choose only among the answers offered.")
        case "text_list":
            return _(
                "Each line may have at most %(count)s characters; shorten the longer ones.",
                count=field.max_length,
            )
    return _(
        "This may have at most %(count)s characters; it has %(length)s.",
        count=field.max_length,
        length=len(str(raw)),
    )


class _Answered:
    """Checks a generic field's input by the one reading of its type, and only while the
    field is asked: an answer whose ``show_if`` is not met is ignored, never refused."""

    def __init__(self, field: FieldDefinition, condition: FieldDefinition | None) -> None:
        self.field = field
        self.condition = condition

    def _asked(self, form: Form) -> bool:
        if self.condition is None or self.condition.key not in form:
            return True  # a condition on the institution, for an entry: checked on saving
        given = form[self.condition.key].data
        if generic.is_generic(self.condition):
            given = generic.read(self.condition, given).value
        return generic.condition_met(self.field, {self.condition.key: given})

    def __call__(self, form: Form, input_: Field) -> None:
        if not self._asked(form):
            raise StopValidation()
        reading = generic.read(self.field, input_.data)
        if reading.problem:
            raise StopValidation(problem_message(self.field, input_.data))
        if self.field.required and reading.value is None:
            raise StopValidation(_("Please answer this question."))


def condition_hint(field: FieldDefinition, condition: FieldDefinition | None) -> str:
    """'Answer if <label> is <value>.' for a field with ``show_if`` ('' without): without
    JavaScript every field shows, so the respondent reads when to answer it."""
    if field.show_if is None:
        return ""
    wanted = field.show_if.values
    if condition is not None and condition.vocabulary:
        labels = [str(o.label) for o in _options(condition) if o.value in wanted]
    else:
        labels = list(wanted)
    other = _(condition.label) if condition is not None else field.show_if.field
    return _("Answer if %(field)s is %(values)s.", field=other, values=_(" or ").join(labels))


def expected_prompt(block: Form, field: FieldDefinition, definition: Definition) -> str:
    """The soft prompt of a field with ``expected_if`` that another answer in its block
    makes expected and that is still empty ('' otherwise): it asks, it never refuses."""
    condition = field.expected_if
    if condition is None or condition.field not in block or field.key not in block:
        return ""
    given = block[condition.field].data
    values = given if isinstance(given, list) else [given]
    if not any(str(value) in condition.values for value in values if value):
        return ""
    if block[field.key].data not in (None, "", []):
        return ""
    other = definition.field(condition.field)
    labels = {o.value: str(o.label) for o in _options(other)} if other.vocabulary else {}
    answered = [labels.get(str(v), str(v)) for v in values if str(v) in condition.values]
    return _(
        "You answered “%(question)s: %(answer)s”. Please answer this question too, so the "
        "registry shows it.",
        question=_(other.heading),
        answer=_(" or ").join(answered),
    )


def _hint(field: FieldDefinition, condition: FieldDefinition | None) -> str:
    """A generic field's hint in the request's language: when to answer it, its help and
    its bounds."""
    parts = [
        condition_hint(field, condition),
        _(field.help) if field.help else "",
        range_hint(field),
    ]
    if field.type == "text_list" and not field.help:
        parts.append(_("One per line."))
    return " ".join(part for part in parts if part)


def _generic_input(field: FieldDefinition, condition: FieldDefinition | None) -> Field:
    """The input of a generic field: its own kind per type, checked by :class:`_Answered`."""
    checks = [_Answered(field, condition)]
    label = _(field.label)
    help_text = _hint(field, condition)
    match field.type:
        case "integer" | "decimal":
            attributes: dict[str, Any] = {
                "inputmode": "numeric" if field.type == "integer" else "decimal"
            }
            if field.min is not None:
                attributes["min"] = _number(field.min)
            if field.max is not None:
                attributes["max"] = _number(field.max)
            return StringField(label, checks, description=help_text, render_kw=attributes)
        case "date":
            return StringField(label, checks, description=help_text, widget=widgets.DateInput())
        case "yes_no_unknown" | "choice":
            if len(vocabulary_choices(field.vocabulary or "")) <= RADIOS_UP_TO:
                return RadioField(
                    label,
                    checks,
                    choices=_options(field),
                    validate_choice=False,
                    description=help_text,
                )
            return SelectField(
                label,
                checks,
                choices=_options(field, blank=True),
                validate_choice=False,
                description=help_text,
            )
        case "multi_choice":
            return CheckboxesField(
                label,
                checks,
                choices=_options(field),
                validate_choice=False,
                description=help_text,
            )
        case "text_list":
            return TextAreaField(label, checks, description=help_text)
    attributes = {"maxlength": field.max_length} if field.max_length else {}
    if field.type == "text":
        return StringField(label, checks, description=help_text, render_kw=attributes)
    return TextAreaField(label, checks, description=help_text, render_kw=attributes)


def _inputs(
    definition: FieldDefinition, condition: FieldDefinition | None = None
) -> dict[str, Any]:
    """The WTForms fields for one definition field, by name (``condition``: the field its
    ``show_if`` names)."""
    if generic.is_generic(definition):
        return {definition.key: _generic_input(definition, condition)}
    presence = DataRequired() if definition.required else Optional()
    label = _(definition.label)
    help_text = _(definition.help) if definition.help else ""
    match definition.type:
        case "text":
            return {
                definition.key: StringField(
                    label, [presence, *_length(definition)], description=help_text
                )
            }
        case "email":
            return {
                definition.key: EmailField(
                    label, [Optional(), Email(), *_length(definition)], description=help_text
                )
            }
        case "url":
            return {
                definition.key: StringField(
                    label, [Optional(), _website, *_length(definition)], description=help_text
                )
            }
        case "country":
            choices = _country_choices(_("Choose a country"), str(get_locale() or "en"))
            return {
                definition.key: CountryField(
                    label, [presence], choices=choices, description=help_text
                )
            }
        case "atmp_types":
            return {
                definition.key: CheckboxesField(
                    _(definition.heading),
                    choices=[SelectChoice(v, _(lbl)) for v, lbl in AtmpType.choices()],
                    description=help_text,
                ),
                f"{definition.key}_other": StringField(
                    _("Other activities"), [Optional(), Length(max=500)]
                ),
            }
        case "patient_count":
            qualifiers = [SelectChoice(v, _(lbl)) for v, lbl in PatientsQualifier.choices()]
            return {
                definition.key: IntegerField(
                    label,
                    [Optional(), NumberRange(min=0, max=10**7)],
                    description=_("A number; leave empty if unknown."),
                ),
                f"{definition.key}_qualifier": SelectField(
                    _("This number is"), choices=qualifiers, default="exact"
                ),
            }
        case "term_list":
            return {
                definition.key: TextAreaField(
                    label,
                    [Optional(), *_length(definition)],
                    description=_("One disease per line."),
                ),
                f"{definition.key}_add": StringField(
                    _("Add one"),
                    [Optional(), Length(max=200)],
                    description=_(
                        "Type a disease (suggestions come from the registry) and "
                        "save; it is added to the list above."
                    ),
                    render_kw={"list": "disease-terms"},
                ),
            }
        case "answer":
            choices = [SelectChoice(v, _(lbl)) for v, lbl in Answer.choices()]
            return {
                definition.key: RadioField(
                    label, [Optional()], choices=choices, validate_choice=True
                )
            }
    raise ValueError(f"no input for field type {definition.type!r}")


@cache
def form_classes(definition: Definition, language: str) -> tuple[type[Form], type[Form]]:
    """The institution form and the entry-block form for a definition, with every label,
    hint and option in ``language`` (built in a request of that language): once per
    language rather than translating a few hundred texts on every page."""
    institution = type(
        "InstitutionForm",
        (TranslatedForm,),
        {
            name: field
            for d in definition.level_fields("institution")
            for name, field in _inputs(d, _condition(definition, d)).items()
        },
    )
    entry_fields: dict[str, Any] = {
        "entry_id": HiddenField(),
        "active": BooleanField(_("We still run this programme"), default=True),
    }
    for d in definition.level_fields("entry"):
        entry_fields |= _inputs(d, _condition(definition, d))
    return institution, type("EntryForm", (TranslatedForm,), entry_fields)


def _condition(definition: Definition, field: FieldDefinition) -> FieldDefinition | None:
    """The field a ``show_if`` names (the check makes sure it exists, at the same level)."""
    return definition.field(field.show_if.field) if field.show_if else None


def questionnaire_form(definition: Definition, **kwargs: Any) -> FlaskForm:
    """A bound questionnaire form: institution once, one block per entry, consents, actions."""
    return _questionnaire_class(definition, str(get_locale() or "en"))(**kwargs)


@cache
def _questionnaire_class(definition: Definition, language: str) -> type[FlaskForm]:
    """The questionnaire's form class for a definition, in ``language``."""
    institution, entry = form_classes(definition, language)

    class QuestionnaireForm(FlaskForm):
        Meta = QuestionnaireMeta

        institution_block = FormField(institution, label=_("Institution"))
        entries = FieldList(FormField(entry), min_entries=0, max_entries=MAX_ENTRIES)
        consent_store = BooleanField(
            _(
                "I agree that the registry stores the contact details given here to keep this "
                "entry up to date."
            )
        )
        consent_publish = BooleanField(
            _("The contact person may be shown publicly in the registry (optional).")
        )
        submit_key = HiddenField()
        save = SubmitField(_("Save and continue later"))
        add_entry = SubmitField(_("Add another programme"))
        submit = SubmitField(_("Submit"))

    return QuestionnaireForm


def _terms(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def answers_from_form(definition: Definition, form: FlaskForm) -> dict[str, Any]:
    """The answers a form holds, in controlled-value shapes (generic fields as
    :func:`surveyapp.definitions.answers.read` reads them); a field whose ``show_if`` is
    not met gets None, whatever was typed in it."""

    def values(block: Form, level: str, outer: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for d in definition.level_fields(level):  # type: ignore[arg-type]
            data = block[d.key].data
            match d.type:
                case "atmp_types":
                    result[d.key] = {
                        "types": list(data or []),
                        "other": (block[f"{d.key}_other"].data or "").strip() or None,
                    }
                case "patient_count":
                    qualifier = block[f"{d.key}_qualifier"].data or None
                    result[d.key] = {
                        "estimate": data,
                        "qualifier": qualifier
                        if data is not None or qualifier == "unknown"
                        else None,
                    }
                case "term_list":
                    added = (block[f"{d.key}_add"].data or "").strip()
                    terms = _terms(data) + ([added] if added else [])
                    result[d.key] = list(dict.fromkeys(terms))
                case _ if generic.is_generic(d):
                    result[d.key] = generic.read(d, data).value
                case _:
                    result[d.key] = (data or "").strip() or None if isinstance(data, str) else data
        for d in definition.level_fields(level):  # type: ignore[arg-type]
            if not generic.condition_met(d, {**(outer or {}), **result}):
                result[d.key] = None
        return result

    institution = values(form.institution_block.form, "institution")
    entries = []
    for block in form.entries:
        entry_id = block.form.entry_id.data
        entries.append(
            {
                "entry_id": id_from(str(entry_id or "")),
                "active": bool(block.form.active.data),
                "fields": values(block.form, "entry", institution),
            }
        )
    return {"institution": institution, "entries": entries}


def form_data(definition: Definition, answers: dict[str, Any]) -> dict[str, Any]:
    """Data to fill a form with from answers (the inverse of :func:`answers_from_form`)."""

    def flat(values: dict[str, Any], level: str) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for d in definition.level_fields(level):  # type: ignore[arg-type]
            value = values.get(d.key)
            match d.type:
                case "atmp_types":
                    value = value or {}
                    data[d.key] = value.get("types", [])
                    data[f"{d.key}_other"] = value.get("other") or ""
                case "patient_count":
                    value = value or {}
                    data[d.key] = value.get("estimate")
                    data[f"{d.key}_qualifier"] = value.get("qualifier") or "exact"
                case "term_list" | "text_list":
                    data[d.key] = "\n".join(value or [])
                case "multi_choice":
                    data[d.key] = list(value or [])
                case _ if generic.is_generic(d):
                    data[d.key] = "" if value is None else str(value)
                case _:
                    data[d.key] = value or ""
        return data

    return {
        "institution_block": flat(answers.get("institution", {}), "institution"),
        "entries": [
            {
                "entry_id": e.get("entry_id") or "",
                "active": e.get("active", True),
                **flat(e.get("fields", {}), "entry"),
            }
            for e in answers.get("entries", [])
        ],
    }


def _too_long(input_: Field) -> bool:
    """Whether an input holds more characters than its field allows: a ``Length`` check
    (Table 1's fields) or a generic text type's ``max_length`` (per line for a list)."""
    text = input_.data
    if not isinstance(text, str):
        return False
    for check in input_.validators:
        if isinstance(check, Length) and check.max is not None and 0 <= check.max < len(text):
            return True
        if isinstance(check, _Answered) and check.field.max_length:
            field = check.field
            if field.type in ("text", "long_text") and len(text) > field.max_length:
                return True
            if field.type == "text_list" and generic.read(field, text).problem:
                return True
    return False


def _leaves(field: Field) -> list[Field]:
    """The inputs a field holds: itself, or those of its sub-form or of each of its blocks."""
    if isinstance(field, FormField):
        return [leaf for inner in field.form for leaf in _leaves(inner)]
    if isinstance(field, FieldList):
        return [leaf for block in field.entries for leaf in _leaves(block)]
    return [field]


def over_long(form: FlaskForm) -> list[Field]:
    """The inputs of a validated questionnaire form whose text is longer than allowed, each
    with its message beside it. Every button saves, so these limits hold for a draft as
    for a submission: without them a 200-character field stored 2 MB."""
    return [leaf for field in form for leaf in _leaves(field) if leaf.errors and _too_long(leaf)]


def new_submit_key() -> str:
    """A key that makes a double submission of one rendering of the form count once."""
    return secrets.token_urlsafe(16)


def _alphabetical(name: str) -> str:
    """A name's place in an alphabetical list whatever its accents ("Åland" with the As,
    "Émirats" with the Es)."""
    plain = unicodedata.normalize("NFKD", name)
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


@cache
def countries_in(language: str) -> tuple[tuple[str, str], ...]:
    """(code, name) of every country in ``language``, in that language's alphabetical
    order: "Germania" among the Gs for an Italian, not after "Georgia"."""
    names = country_names(language)
    pairs = ((code, names.gettext(name)) for code, name in countries().items())
    return tuple(sorted(pairs, key=lambda pair: _alphabetical(pair[1])))


def _country_choices(placeholder: Any, language: str | None = None) -> list[SelectChoice]:
    """Countries by name, led by an empty choice: in ``language``, or in each request's
    language when none is given (for form classes defined once for every language, which
    order them per request with :func:`in_readers_order`)."""
    if language is not None:
        return [SelectChoice("", placeholder)] + [
            SelectChoice(code, name) for code, name in countries_in(language)
        ]
    return [SelectChoice("", placeholder)] + [
        SelectChoice(code, country_label(code, name)) for code, name in countries().items()
    ]


def in_readers_order(field: SelectField) -> None:
    """Put a country field's choices in the request's language and alphabetical order."""
    placeholder = field.choices[0].label if field.choices else ""
    field.choices = _country_choices(placeholder, str(get_locale() or "en"))


class NominationForm(FlaskForm):
    """Another facility the respondent knows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        in_readers_order(self.country)

    name = StringField(_l("Facility"), [DataRequired(), Length(max=500)])
    country = CountryField(_l("Country"), [Optional()], choices=_country_choices(_l("Unknown")))
    website = StringField(_l("Website"), [Optional(), _website, Length(max=500)])
    contact_email = EmailField(
        _l("Contact email"),
        [Optional(), Email(), Length(max=320)],
        description=_l("Someone there we could invite, if you know."),
    )


class SuggestionForm(FlaskForm):
    """The public form: propose a new facility or a correction, without an invitation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        in_readers_order(self.country)

    institution_id = HiddenField()
    institution = StringField(_l("Facility"), [DataRequired(), Length(max=500)])
    country = CountryField(
        _l("Country"), [DataRequired()], choices=_country_choices(_l("Choose a country"))
    )
    website = StringField(_l("Website"), [Optional(), _website, Length(max=500)])
    note = TextAreaField(
        _l("What should the registry add or correct?"),
        [DataRequired(), Length(max=5000)],
        description=_l(
            "ATMP types, patients treated, diseases, contract research, routine "
            "use of approved ATMPs ..."
        ),
    )
    your_name = StringField(_l("Your name"), [Optional(), Length(max=300)])
    your_email = EmailField(
        _l("Your email"),
        [Optional(), Email(), Length(max=320)],
        description=_l(
            "Only to ask you about your suggestion. We send you a link to confirm it: "
            "a suggestion with an email address reaches our curators once confirmed."
        ),
    )
    consent_store = BooleanField(
        _l("I agree that my name and email are stored to follow up this suggestion.")
    )
    homepage = StringField(_l("Leave this field empty"))
