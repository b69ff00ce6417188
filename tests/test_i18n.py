"""Languages: German is complete for what respondents see, and chosen for them."""

from __future__ import annotations

import subprocess
import sys

from babel.messages.pofile import read_po

from surveyapp.i18n import TRANSLATIONS_DIR
from surveyapp.paths import PROJECT_ROOT

GERMAN = TRANSLATIONS_DIR / "de" / "LC_MESSAGES" / "messages.po"


def test_the_catalogue_template_is_up_to_date_with_the_code(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603 - a fixed command line
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as handle:
        current = {m.id for m in read_po(handle) if m.id}
    with (TRANSLATIONS_DIR / "messages.pot").open("rb") as handle:
        committed = {m.id for m in read_po(handle) if m.id}
    assert current == committed, "run `make translations` and translate what is new"


def test_german_is_complete():
    with GERMAN.open("rb") as handle:
        catalogue = read_po(handle)
    with (TRANSLATIONS_DIR / "messages.pot").open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    translated = {
        m.id
        for m in catalogue
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    assert wanted <= translated, sorted(wanted - translated)[:5]
    assert (GERMAN.with_suffix(".mo")).exists()


def test_the_public_registry_speaks_german(client, table1):
    html = client.get("/?lang=de").get_data(as_text=True)
    assert "ATMP-Einrichtungen" in html
    assert "55 Einträge" in html
    assert "Zahl der behandelten Patientinnen und Patienten" in html
    assert "Dänemark" in html
