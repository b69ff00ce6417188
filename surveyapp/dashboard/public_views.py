"""Public figures: the live statistics of RESTORE D1.4's analysis, their CSV files, and the
map of facilities (Europe and the world): entries per country, and each institution as a
point at its city, optionally only GMP sites or only centres administering a chosen
authorised ATMP. No personal data is involved."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import get_locale

from surveyapp.dashboard import charts
from surveyapp.dashboard.answer_tables import answer_table_named, answer_tables
from surveyapp.dashboard.capacity_tables import capacity_table_named, capacity_tables
from surveyapp.dashboard.tables import statistics_tables, table_named
from surveyapp.definitions.vocabularies import choices
from surveyapp.i18n import country_label, ngettext
from surveyapp.i18n import gettext as _
from surveyapp.registry import cities
from surveyapp.registry.statistics import UNKNOWN, entries_by_country, registry_statistics
from surveyapp.tabular import neutralise
from surveyapp.vocabulary import country_name

blueprint = Blueprint("statistics", __name__)


@blueprint.get("/statistics")
def statistics() -> str:
    """Every statistics table with a bar chart and a CSV download, Table 1's analysis first,
    then the Centres of Excellence capacity figures, then one per counted field of later
    questionnaires."""
    figures = registry_statistics()
    capacity = capacity_tables(figures)
    tables = statistics_tables(figures) + capacity + answer_tables(figures)
    labels = {t.name: t.chart_label for t in capacity}
    return render_template(
        "dashboard/statistics.html",
        tables=tables,
        charts={
            t.name: charts.bar_chart(t.chart, label=str(labels.get(t.name, t.title)))
            for t in tables
        },
        total=figures["entries"],
    )


@blueprint.get("/statistics/<name>.csv")
def statistics_csv(name: str) -> Response:
    """One statistics table as CSV, headings in the reader's language."""
    table = table_named(name) or capacity_table_named(name) or answer_table_named(name)
    if table is None:
        abort(404, description=_("There is no statistics table of that name."))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(str(c)) for c in table.columns])
    for row in table.rows:
        writer.writerow([neutralise(str(c)) for c in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="atmp-registry-{name}.csv"'},
    )


# Institutions without a known city listed under the map, at most: a list for someone to
# work through, not the thousands a large registry may have (their number is shown).
UNPLACED_LISTED = 200


def map_context(region: str, *, gmp_only: bool = False, product: str = "") -> dict[str, Any]:
    """What a map page or panel needs: the SVG with the counts per country and a point per
    institution at its city, the counts as a table, the institutions placed and those
    without a known city as lists, the legend and the filter's choices."""
    chosen: charts.Region = "world" if region == "world" else "europe"
    counts = {code: n for code, n in entries_by_country().items() if code != UNKNOWN}
    names = {code: str(country_label(code, country_name(code))) for code in charts.shapes()}
    products = choices("authorised_atmps", str(get_locale() or "en"))
    if product not in {code for code, _label in products}:
        product = ""
    facilities = cities.facilities(gmp_only=gmp_only, product=product or None)
    placed = [f for f in facilities if f.place is not None]
    unplaced = [f for f in facilities if f.place is None]

    def country(code: str | None) -> str:
        return names.get(code or "", code or _("Country unknown"))

    points = [
        charts.MapPoint(
            f.place.latitude,
            f.place.longitude,
            f.entries,
            ngettext(
                "%(institution)s, %(city)s (%(country)s): %(num)s active entry",
                "%(institution)s, %(city)s (%(country)s): %(num)s active entries",
                f.entries,
                institution=f.name,
                city=f.city,
                country=country(f.country_code),
            ),
        )
        for f in placed
        if f.place is not None
    ]
    return {
        "region": chosen,
        "map": charts.country_map(
            counts,
            region=chosen,
            names=names,
            label=_("Registry entries by country, and facilities at their cities"),
            points=points,
        ),
        "counts": sorted(
            ((names.get(code, code), n) for code, n in counts.items()), key=lambda r: (-r[1], r[0])
        ),
        "legend": charts.legend(counts),
        "credit": charts.credit(),
        # The lists link to thousands of institutions: the route is built once and each
        # id appended (url_for per link was most of the page at 100,000 entries).
        "institution_path": url_for("registry.institution", institution_id=0).removesuffix("0"),
        "placed": [(f, country(f.country_code)) for f in placed],
        "unplaced": [(f, country(f.country_code)) for f in unplaced[:UNPLACED_LISTED]],
        "unplaced_count": len(unplaced),
        "gmp_only": gmp_only,
        "product": product,
        "products": products,
        "filtered": gmp_only or bool(product),
    }


@blueprint.get("/map")
def coverage_map() -> str:
    """Facilities by country, as the deliverable's Figure 1, from the live registry.

    It opens on Europe, where the registry's facilities are; the world is one link away.
    ``gmp=1`` shows only GMP sites and ``product=CODE`` only centres administering that
    authorised ATMP (an unknown code shows every centre).
    """
    return render_template(
        "dashboard/map.html",
        **map_context(
            request.args.get("region", ""),
            gmp_only=request.args.get("gmp") == "1",
            product=request.args.get("product", ""),
        ),
    )
