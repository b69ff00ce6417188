"""The coverage dashboard counts answers to fields beyond Table 1, without changing what
Table 1's completeness means."""

from __future__ import annotations

from surveyapp.dashboard.service import answered_fields, completeness
from surveyapp.extensions import db
from surveyapp.registry.models import Entry
from tests.review.conftest import visible_text


def test_answers_to_later_fields_are_counted_per_field(
    app, client, staff, make_entry, ctx, test_questionnaires
):
    first, second = (db.session.get(Entry, make_entry(institution=f"Centre {n}")) for n in (1, 2))
    first.institution.answers = {"gmp": "yes", "lots_per_year": 12}
    first.answers = {"platforms": ["car_t"]}
    second.institution.answers = {"gmp": "no"}
    db.session.commit()

    counted = {row.field.key: (row.answered, row.total) for row in answered_fields()}
    assert counted["gmp"] == (2, 2) and counted["lots_per_year"] == (1, 2)
    assert counted["platforms"] == (1, 2) and counted["description"] == (0, 2)
    assert completeness().columns == 10  # Table 1's completeness keeps its meaning

    page = visible_text(client.get("/staff/dashboard/").get_data(as_text=True))
    assert "Fields beyond Table 1" in page and "Batches per year institution 1 / 2 50%" in page


def test_without_later_questionnaires_the_dashboard_is_as_before(
    client, staff, table1, table1_questionnaire_only
):
    assert answered_fields() == []
    assert "Fields beyond Table 1" not in client.get("/staff/dashboard/").get_data(as_text=True)
