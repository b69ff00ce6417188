"""Staff see every questionnaire version, what each asks, and what changed between two."""

from __future__ import annotations

from tests.review.conftest import visible_text


def test_staff_see_every_version_and_its_fields(client, staff, test_questionnaires):
    listing = visible_text(client.get("/staff/questionnaires/").get_data(as_text=True))
    assert "table1-v1" in listing and "everything-v1" in listing and "everything-v2" in listing
    page = visible_text(client.get("/staff/questionnaires/everything-v1").get_data(as_text=True))
    assert "Batches per year" in page and "Asked if gmp is yes" in page
    assert "platforms-v1" in page and "once per programme" in page
    assert client.get("/staff/questionnaires/nothing-v9").status_code == 404


def test_each_version_previews_as_a_respondent_sees_it_in_every_language(
    client, staff, test_questionnaires
):
    html = client.get("/staff/questionnaires/everything-v2").get_data(as_text=True)
    assert "As a respondent sees it" in html
    assert 'name="institution_block-trial_units"' in html and "disabled" in html
    assert 'name="entries-0-platforms"' in html
    german = client.get("/staff/questionnaires/everything-v2?lang=de").get_data(as_text=True)
    assert "CAR-T und andere veränderte Immunzellen" in german


def test_the_difference_between_two_versions(client, staff, test_questionnaires):
    response = client.get("/staff/questionnaires/?old=everything-v1&new=everything-v2")
    page = visible_text(response.get_data(as_text=True))
    assert "Added trial_units Clinical-trial units" in page
    assert "No longer asked" in page and "cleanroom_area" in page
    assert "Asked differently lots_per_year" in page and "max 10000 → 20000" in page
