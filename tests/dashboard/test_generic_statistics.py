"""The statistics page for fields of later questionnaires: a table, a chart and a CSV per
choice, multi-choice and yes/no/unknown field, and a distribution per integer field."""

from __future__ import annotations

import csv
import io
import re

import pytest

from surveyapp.extensions import db
from surveyapp.registry.models import Entry
from surveyapp.registry.statistics import answer_statistics
from surveyapp.vocabulary import EntryStatus
from tests.dashboard.test_capacity_statistics import second_entry


@pytest.fixture
def answered(app, make_entry, test_questionnaires):
    """Three institutions with one entry each; two answered the test-only questionnaire."""
    made = [make_entry(institution=f"Centre {n}", country="DE") for n in range(3)]
    with app.app_context():
        first, second = (db.session.get(Entry, i) for i in made[:2])
        first.institution.answers = {"gmp": "yes", "lots_per_year": 4}
        first.answers = {"platform": "car_t", "platforms": ["car_t", "aav"]}
        second.institution.answers = {"gmp": "yes", "lots_per_year": 8}
        second.answers = {"platform": "car_t", "platforms": ["aav"]}
        db.session.commit()
    return made


def test_every_choice_field_gets_a_table_with_chart_and_counts(client, answered):
    page = client.get("/statistics").get_data(as_text=True)
    assert '<h2 id="answers-platform">Main platform</h2>' in page
    assert '<h2 id="answers-platforms">All platforms</h2>' in page
    assert '<h2 id="answers-gmp">GMP manufacturing</h2>' in page
    assert "<title>CAR-T and other engineered immune cells: 2</title>" in page
    assert re.search(r'<th scope="row">In vivo AAV</th><td>2</td><td>67%</td>', page)
    assert re.search(r'<th scope="row">Not given</th><td>1</td>', page)
    assert '<th scope="col">Institutions</th>' in page  # gmp counts institutions


def test_every_integer_field_gets_its_distribution(client, answered):
    page = client.get("/statistics").get_data(as_text=True)
    section = page[page.index('id="answers-lots_per_year"') :]
    section = section[: section.index("</section>")]
    assert "<dt>Answers</dt><dd>2</dd>" in section
    assert "<dt>Median</dt><dd>6</dd>" in section
    assert "<dt>Smallest</dt><dd>4</dd>" in section and "<dt>Largest</dt><dd>8</dd>" in section
    assert "<title>4 batches: 1</title>" in section
    assert re.search(r'<th scope="row">8 batches</th><td>1</td><td>50%</td>', section)


def test_each_answer_table_downloads_as_csv(client, answered):
    response = client.get("/statistics/answers-platforms.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Answer", "Entries", "Share of entries"]
    assert ["In vivo AAV", "2", "67%"] in rows
    assert client.get("/statistics/answers-nothing.csv").status_code == 404


def test_labels_follow_the_readers_language(client, answered):
    page = client.get("/statistics?lang=de").get_data(as_text=True)
    assert "CAR-T und andere veränderte Immunzellen" in page


def test_without_later_questionnaires_the_page_has_only_table1s_tables(
    client, make_entry, table1_questionnaire_only
):
    make_entry()
    page = client.get("/statistics").get_data(as_text=True)
    assert "answers-" not in page


def test_figures_count_each_owner_once_and_unknown_codes_as_not_given(
    app, ctx, make_entry, test_questionnaires
):
    """Each level's answers are read in one pass: the figures must still count what they
    did field by field. A code no vocabulary has, a JSON null, a retired entry and a
    centre with two programmes are where such a pass goes wrong."""
    made = [make_entry(institution=f"Centre {n}", country="DE") for n in range(4)]
    first, second, third, retired = (db.session.get(Entry, i) for i in made)
    first.institution.answers = {"gmp": "yes", "lots_per_year": 3}
    first.answers = {"platform": "car_t", "platforms": ["car_t", "aav", "car_t"]}
    second.institution.answers = {"gmp": "maybe", "lots_per_year": None}
    second.answers = {"platform": None, "platforms": ["retired_code"]}
    third.institution.answers = {"gmp": "no", "lots_per_year": 10}
    third.answers = {"platforms": []}
    retired.answers = {"platform": "aav", "platforms": ["aav"]}
    retired.status, retired.retired_reason = EntryStatus.RETIRED, "closed"
    retired.institution.answers = {"gmp": "yes", "lots_per_year": 1}
    db.session.flush()
    extra = second_entry(first.institution)
    extra.answers = {"platforms": ["aav"]}
    db.session.flush()

    figures = answer_statistics()

    assert figures["platforms"]["counts"] == {"car_t": 1, "aav": 2, "unknown": 2}
    assert figures["platforms"]["total"] == 4  # the active entries
    assert figures["platform"]["counts"] == {"car_t": 1, "unknown": 3}
    # Institutions with an active entry: Centre 0 counts once for its two programmes, and
    # the retired entry's institution not at all.
    assert figures["gmp"]["counts"] == {"yes": 1, "no": 1, "unknown": 1}
    assert figures["gmp"]["total"] == 3
    lots = figures["lots_per_year"]
    assert (lots["answers"], lots["unanswered"]) == (2, 1)
    assert (lots["min"], lots["median"], lots["max"]) == (3, 6.5, 10)
    assert [(b["from"], b["to"], b["count"]) for b in lots["buckets"]] == [
        (3, 4, 1),
        (5, 6, 0),
        (7, 8, 0),
        (9, 10, 1),
    ]
