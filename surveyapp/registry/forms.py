"""Registry search form: checks the shape of the filter parameters, nothing more."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from surveyapp.i18n import lazy_gettext as _l
from surveyapp.registry.generic import filter_choices, filter_fields
from surveyapp.registry.service import SORTS
from surveyapp.vocabulary import Answer, AtmpType

ANY = _l("Any")


def options(pairs: list[tuple[str, Any]], any_label: Any = ANY) -> list[SelectChoice]:
    """Select options from (value, label) pairs, led by an empty "any" choice."""
    lead = [SelectChoice("", any_label)] if any_label is not None else []
    return lead + [
        SelectChoice(value, _l(label) if isinstance(label, str) else label)
        for value, label in pairs
    ]


SORT_LABELS = {
    "row": _l("Table 1 order"),
    "institution": _l("Institution"),
    "country": _l("Country"),
    "patients": _l("Patients treated"),
    "updated": _l("Recently changed"),
}


class RegistrySearchForm(FlaskForm):
    """Search, filters, sorting and page of the registry table (a GET form, so no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)])
    disease = SearchField(_l("Disease"), validators=[Optional(), Length(max=200)])
    country = SelectField(_l("Country"), choices=options([]), default="")
    atmp_type = SelectField(_l("Type of ATMP"), choices=options(AtmpType.choices()), default="")
    contract_research = SelectField(
        _l("Contract research for industry"), choices=options(Answer.choices()), default=""
    )
    routine_application = SelectField(
        _l("Routine application of approved ATMP"), choices=options(Answer.choices()), default=""
    )
    needs_curation = BooleanField(_l("Needs curation only"))
    sort = SelectField(
        _l("Sort by"), choices=options([(k, SORT_LABELS[k]) for k in SORTS], None), default="row"
    )
    page = IntegerField(
        _l("Page"), validators=[Optional(), NumberRange(min=1, max=100_000)], default=1
    )
    # Keys of the selects :func:`search_form` adds for generic fields.
    answer_filters: tuple[str, ...] = ()

    @property
    def answer_fields(self) -> list[Any]:
        """The selects for generic fields, in the definitions' order."""
        return [self[key] for key in self.answer_filters]


def search_form(formdata: Any) -> RegistrySearchForm:
    """The search form with, after the fixed filters, a select for every choice,
    multi-choice and yes/no/unknown field of the definitions in use (named by its key);
    ``answer_filters`` lists those fields' names in order."""
    language = str(get_locale() or "en")
    fields = filter_fields()
    form_class = type(
        "RegistrySearchFormWithAnswers",
        (RegistrySearchForm,),
        {
            f.key: SelectField(
                _l(f.heading), choices=options(filter_choices(f, language)), default=""
            )
            for f in fields
        },
    )
    form = form_class(formdata, meta={"csrf": False})
    form.answer_filters = tuple(f.key for f in fields)
    return form
