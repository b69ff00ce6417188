"""Flask-WTF forms built from a questionnaire definition: one input kind per field type.

The definition in ``forms/`` names each field's label, type, vocabulary, whether it is
required and its maximum length; this module turns that into WTForms classes (cached per
definition) and converts between form data and answers in the controlled-value shapes of
:mod:`surveyapp.registry.values`. The forms check shape only.
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations
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
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from surveyapp.definitions import Definition, FieldDefinition
from surveyapp.i18n import country_label
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.vocabulary import Answer, AtmpType, PatientsQualifier, countries

MAX_ENTRIES = 30


class TranslatedForm(Form):
    """A sub-form whose built-in messages come in the request's language, like FlaskForm's."""

    class Meta:
        def get_translations(self, form: Form) -> Any:
            return wtforms_translations


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _website(_form: Form, field: StringField) -> None:
    value = (field.data or "").strip()
    if value and (" " in value or "." not in value):
        raise ValidationError(_l("Enter a web address such as www.example.org."))


def _length(definition: FieldDefinition) -> list[Any]:
    return [Length(max=definition.max_length)] if definition.max_length else []


def _inputs(definition: FieldDefinition) -> dict[str, Any]:
    """The WTForms fields for one definition field, by name."""
    presence = DataRequired() if definition.required else Optional()
    label = _l(definition.label)
    help_text = _l(definition.help) if definition.help else ""
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
            choices = _country_choices(_l("Choose a country"))
            return {
                definition.key: SelectField(
                    label, [presence], choices=choices, description=help_text
                )
            }
        case "atmp_types":
            return {
                definition.key: CheckboxesField(
                    _l(definition.heading),
                    choices=[SelectChoice(v, _l(lbl)) for v, lbl in AtmpType.choices()],
                    description=help_text,
                ),
                f"{definition.key}_other": StringField(
                    _l("Other activities"), [Optional(), Length(max=500)]
                ),
            }
        case "patient_count":
            qualifiers = [SelectChoice(v, _l(lbl)) for v, lbl in PatientsQualifier.choices()]
            return {
                definition.key: IntegerField(
                    label,
                    [Optional(), NumberRange(min=0, max=10**7)],
                    description=_l("A number; leave empty if unknown."),
                ),
                f"{definition.key}_qualifier": SelectField(
                    _l("This number is"), choices=qualifiers, default="exact"
                ),
            }
        case "term_list":
            return {
                definition.key: TextAreaField(
                    label,
                    [Optional(), *_length(definition)],
                    description=_l("One disease per line."),
                ),
                f"{definition.key}_add": StringField(
                    _l("Add one"),
                    [Optional(), Length(max=200)],
                    description=_l(
                        "Type a disease (suggestions come from the registry) and "
                        "save; it is added to the list above."
                    ),
                    render_kw={"list": "disease-terms"},
                ),
            }
        case "answer":
            choices = [SelectChoice(v, _l(lbl)) for v, lbl in Answer.choices()]
            return {
                definition.key: RadioField(
                    label, [Optional()], choices=choices, validate_choice=True
                )
            }
    raise ValueError(f"no input for field type {definition.type!r}")


@cache
def form_classes(definition: Definition) -> tuple[type[Form], type[Form]]:
    """The institution form and the entry-block form for a definition."""
    institution = type(
        "InstitutionForm",
        (TranslatedForm,),
        {
            name: field
            for d in definition.level_fields("institution")
            for name, field in _inputs(d).items()
        },
    )
    entry_fields: dict[str, Any] = {
        "entry_id": HiddenField(),
        "active": BooleanField(_l("We still run this programme"), default=True),
    }
    for d in definition.level_fields("entry"):
        entry_fields |= _inputs(d)
    return institution, type("EntryForm", (TranslatedForm,), entry_fields)


def questionnaire_form(definition: Definition, **kwargs: Any) -> FlaskForm:
    """A bound questionnaire form: institution once, one block per entry, consents, actions."""
    institution, entry = form_classes(definition)

    class QuestionnaireForm(FlaskForm):
        institution_block = FormField(institution, label=_l("Institution"))
        entries = FieldList(FormField(entry), min_entries=0, max_entries=MAX_ENTRIES)
        consent_store = BooleanField(
            _l(
                "I agree that the registry stores the contact details given here to keep this "
                "entry up to date."
            )
        )
        consent_publish = BooleanField(
            _l("The contact person may be shown publicly in the registry (optional).")
        )
        submit_key = HiddenField()
        save = SubmitField(_l("Save and continue later"))
        add_entry = SubmitField(_l("Add another programme"))
        submit = SubmitField(_l("Submit"))

    return QuestionnaireForm(**kwargs)


def _terms(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def answers_from_form(definition: Definition, form: FlaskForm) -> dict[str, Any]:
    """The answers a form holds, in controlled-value shapes."""

    def values(block: Form, level: str) -> dict[str, Any]:
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
                case _:
                    result[d.key] = (data or "").strip() or None if isinstance(data, str) else data
        return result

    entries = []
    for block in form.entries:
        entry_id = block.form.entry_id.data
        entries.append(
            {
                "entry_id": int(entry_id) if entry_id and str(entry_id).isdigit() else None,
                "active": bool(block.form.active.data),
                "fields": values(block.form, "entry"),
            }
        )
    return {"institution": values(form.institution_block.form, "institution"), "entries": entries}


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
                case "term_list":
                    data[d.key] = "\n".join(value or [])
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


def new_submit_key() -> str:
    """A key that makes a double submission of one rendering of the form count once."""
    return secrets.token_urlsafe(16)


def _country_choices(placeholder: Any) -> list[SelectChoice]:
    """Countries by name in the request's language, led by an empty choice."""
    return [SelectChoice("", placeholder)] + [
        SelectChoice(code, country_label(code, name)) for code, name in countries().items()
    ]


class NominationForm(FlaskForm):
    """Another facility the respondent knows."""

    name = StringField(_l("Facility"), [DataRequired(), Length(max=500)])
    country = SelectField(_l("Country"), [Optional()], choices=_country_choices(_l("Unknown")))
    website = StringField(_l("Website"), [Optional(), _website, Length(max=500)])
    contact_email = EmailField(
        _l("Contact email"),
        [Optional(), Email(), Length(max=320)],
        description=_l("Someone there we could invite, if you know."),
    )


class SuggestionForm(FlaskForm):
    """The public form: propose a new facility or a correction, without an invitation."""

    institution_id = HiddenField()
    institution = StringField(_l("Facility"), [DataRequired(), Length(max=500)])
    country = SelectField(
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
        [DataRequired(), Email(), Length(max=320)],
        description=_l("Only to ask you about your suggestion."),
    )
    consent_store = BooleanField(
        _l("I agree that my name and email are stored to follow up this suggestion.")
    )
    homepage = StringField(_l("Leave this field empty"))
