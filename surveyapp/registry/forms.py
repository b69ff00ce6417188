"""Registry search form: checks the shape of the filter parameters, nothing more."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from surveyapp.registry.service import SORTS
from surveyapp.vocabulary import Answer, AtmpType


def options(pairs: list[tuple[str, str]], any_label: str | None = "Any") -> list[SelectChoice]:
    """Select options from (value, label) pairs, led by an empty "any" choice."""
    lead = [SelectChoice("", any_label)] if any_label is not None else []
    return lead + [SelectChoice(value, label) for value, label in pairs]


SORT_LABELS = {
    "row": "Table 1 order",
    "institution": "Institution",
    "country": "Country",
    "patients": "Patients treated",
    "updated": "Recently changed",
}


class RegistrySearchForm(FlaskForm):
    """Search, filters, sorting and page of the registry table (a GET form, so no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField("Search", validators=[Optional(), Length(max=200)])
    disease = SearchField("Disease", validators=[Optional(), Length(max=200)])
    country = SelectField("Country", choices=options([]), default="")
    atmp_type = SelectField("Type of ATMP", choices=options(AtmpType.choices()), default="")
    contract_research = SelectField(
        "Contract research for industry", choices=options(Answer.choices()), default=""
    )
    routine_application = SelectField(
        "Routine application of approved ATMP", choices=options(Answer.choices()), default=""
    )
    needs_curation = BooleanField("Needs curation only")
    sort = SelectField(
        "Sort by", choices=options([(k, SORT_LABELS[k]) for k in SORTS], None), default="row"
    )
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, max=100_000)], default=1)
