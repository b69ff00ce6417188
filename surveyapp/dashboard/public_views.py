"""Public figures: the live statistics of RESTORE D1.4's analysis, their CSV files, and the
map of facilities by country (Europe and the world). No personal data is involved."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from surveyapp.dashboard import charts
from surveyapp.dashboard.answer_tables import answer_table_named, answer_tables
from surveyapp.dashboard.tables import statistics_tables, table_named
from surveyapp.i18n import country_label
from surveyapp.i18n import gettext as _
from surveyapp.registry.statistics import UNKNOWN, entries_by_country, registry_statistics
from surveyapp.tabular import neutralise
from surveyapp.vocabulary import country_name

blueprint = Blueprint("statistics", __name__)


@blueprint.get("/statistics")
def statistics() -> str:
    """Every statistics table with a bar chart and a CSV download, Table 1's analysis first,
    then one per counted field of later questionnaires."""
    figures = registry_statistics()
    tables = statistics_tables(figures) + answer_tables(figures)
    return render_template(
        "dashboard/statistics.html",
        tables=tables,
        charts={t.name: charts.bar_chart(t.chart, label=str(t.title)) for t in tables},
        total=figures["entries"],
    )


@blueprint.get("/statistics/<name>.csv")
def statistics_csv(name: str) -> Response:
    """One statistics table as CSV, headings in the reader's language."""
    table = table_named(name) or answer_table_named(name)
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


def map_context(region: str) -> dict[str, Any]:
    """What a map page or panel needs: the SVG, the counts as a table, the legend."""
    chosen: charts.Region = "world" if region == "world" else "europe"
    counts = {code: n for code, n in entries_by_country().items() if code != UNKNOWN}
    names = {code: str(country_label(code, country_name(code))) for code in charts.shapes()}
    return {
        "region": chosen,
        "map": charts.country_map(
            counts,
            region=chosen,
            names=names,
            label=_("Registry entries by country"),
        ),
        "counts": sorted(
            ((names.get(code, code), n) for code, n in counts.items()), key=lambda r: (-r[1], r[0])
        ),
        "legend": charts.legend(counts),
        "credit": charts.credit(),
    }


@blueprint.get("/map")
def coverage_map() -> str:
    """Facilities by country, as the deliverable's Figure 1, from the live registry.

    It opens on Europe, where the registry's facilities are; the world is one link away.
    """
    return render_template("dashboard/map.html", **map_context(request.args.get("region", "")))
