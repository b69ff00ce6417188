"""Statistics tables of the Centres of Excellence topic: centres administering each
EU-authorised ATMP, and GMP sites and clinical-trial units by country.

The figures come from :func:`surveyapp.registry.statistics.capacity_statistics` (the same
keys in ``GET /api/v1/stats``); like :mod:`surveyapp.dashboard.tables` this module only
names rows and columns in the reader's language. A product no longer authorised is marked
by its status, as the vocabulary records it, wherever it appears. Centres per technology
platform need no table here: the generic table of ``technology_platforms`` (an
institution-level field) already counts institutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale

from surveyapp.dashboard.tables import Table
from surveyapp.definitions.vocabularies import load_vocabulary
from surveyapp.i18n import country_label
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.registry.statistics import (
    PRODUCTS,
    UNKNOWN,
    capacity_field,
    capacity_statistics,
)
from surveyapp.vocabulary import country_name

PRODUCT_TABLE = "centres-by-authorised-atmp"
COUNTRY_TABLE = "capacity-by-country"
AUTHORISED = "authorised"
# A product's status in the vocabulary (extra["status"]) as a reader sees it.
STATUS_LABELS = {
    AUTHORISED: _l("authorised"),
    "withdrawn": _l("withdrawn"),
    "expired": _l("expired"),
    "not renewed": _l("not renewed"),
}


@dataclass
class CapacityTable(Table):
    """A statistics table whose chart shows one of its columns, named by ``chart_label``,
    with a sentence saying what it counts."""

    chart_label: Any = None
    note: Any = None


def _country(code: str) -> str:
    if code == UNKNOWN or not code:
        return _("Country not recognised")
    return str(country_label(code, country_name(code)))


def _status(status: str | None) -> str:
    return str(STATUS_LABELS.get(status or "", status or "—"))


def _products_table(counts: dict[str, int]) -> CapacityTable:
    """Centres per product, most first; a product no longer authorised carries its status
    in its name (on the chart too) and in a column of its own."""
    field = capacity_field(*PRODUCTS)
    vocabulary = load_vocabulary(field.vocabulary or "") if field is not None else None
    terms = {term.code: term for term in vocabulary.terms} if vocabulary is not None else {}
    language = str(get_locale() or "en")

    def name(code: str) -> str:
        term = terms.get(code)
        if term is None:
            return code
        status = term.extra.get("status")
        label = term.label_in(language)
        return label if status in (None, AUTHORISED) else f"{label} ({_status(status)})"

    ordered = sorted(counts.items(), key=lambda item: (-item[1], name(item[0]).casefold()))
    return CapacityTable(
        PRODUCT_TABLE,
        _l("Centres administering each EU-authorised ATMP"),
        [_("Authorised ATMP"), _("Status"), _("Centres")],
        [
            [name(code), _status(terms[code].extra.get("status") if code in terms else None), n]
            for code, n in ordered
        ],
        [(name(code), n) for code, n in ordered],
        _l("Centres administering each EU-authorised ATMP"),
        _l(
            "Centres with at least one active programme that administers the product, each "
            "centre once however many of its programmes do."
        ),
    )


def _countries_table(by_country: dict[str, dict[str, int]]) -> CapacityTable:
    """Per country: centres with an active entry, GMP sites and clinical-trial units; the
    chart shows the GMP sites."""
    ordered = sorted(
        by_country.items(),
        key=lambda item: (-item[1]["gmp_sites"], -item[1]["institutions"], _country(item[0])),
    )
    return CapacityTable(
        COUNTRY_TABLE,
        _l("GMP sites and clinical-trial units by country"),
        [_("Country"), _("Centres"), _("GMP sites"), _("Clinical-trial units")],
        [
            [_country(code), f["institutions"], f["gmp_sites"], f["trial_units"]]
            for code, f in ordered
        ],
        [(_country(code), f["gmp_sites"]) for code, f in ordered if f["gmp_sites"]],
        _l("GMP sites by country"),
        _l(
            "Centres with at least one active programme; of those, the GMP sites (GMP "
            "manufacturing in their own facility or through a partner) and those with a "
            "clinical-trial unit. The chart shows the GMP sites."
        ),
    )


def capacity_tables(figures: dict[str, Any] | None = None) -> list[CapacityTable]:
    """The capacity tables whose fields a definition in use asks (none with Table 1
    alone), from the live registry or given figures of ``registry_statistics``."""
    figures = capacity_statistics() if figures is None else figures
    tables = []
    if "centres_by_authorised_atmp" in figures:
        tables.append(_products_table(figures["centres_by_authorised_atmp"]))
    if "capacity_by_country" in figures:
        tables.append(_countries_table(figures["capacity_by_country"]))
    return tables


def capacity_table_named(name: str) -> CapacityTable | None:
    """The capacity table with this CSV name, or None."""
    if name not in (PRODUCT_TABLE, COUNTRY_TABLE):
        return None
    return next((t for t in capacity_tables() if t.name == name), None)
