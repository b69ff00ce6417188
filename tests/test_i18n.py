"""Languages: every shipped catalogue is complete, and a language is chosen for each
person."""

from __future__ import annotations

import subprocess
import sys

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from surveyapp import i18n
from surveyapp.i18n import TRANSLATIONS_DIR
from surveyapp.paths import PROJECT_ROOT


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


SHIPPED = [code for code in i18n.LANGUAGES if code != "en"]


def _key(text: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    """A message's id or text, its plural forms as a tuple (.mo files give lists)."""
    return text if isinstance(text, str) else tuple(text)


def test_every_language_offered_has_a_catalogue_and_every_catalogue_is_offered():
    shipped = {p.name for p in TRANSLATIONS_DIR.iterdir() if (p / "LC_MESSAGES").is_dir()}
    assert shipped == set(SHIPPED)


@pytest.mark.parametrize("language", SHIPPED)
def test_every_catalogue_is_complete_and_nothing_in_it_is_fuzzy(language):
    po = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    with (TRANSLATIONS_DIR / "messages.pot").open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    fuzzy = sorted(str(m.id) for m in catalogue if m.id and m.fuzzy)
    assert not fuzzy, fuzzy[:5]
    translated = {
        m.id
        for m in catalogue
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    assert wanted <= translated, sorted(wanted - translated)[:5]
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    written = {_key(m.id): _key(m.string) for m in catalogue if m.id in wanted}
    assert compiled == written, "the .mo is not its .po compiled: run `make translations`"


def test_the_public_registry_speaks_german(client, table1):
    html = client.get("/?lang=de").get_data(as_text=True)
    assert "ATMP-Einrichtungen" in html
    assert "55 Einträge" in html
    assert "Zahl der behandelten Patientinnen und Patienten" in html
    assert "Dänemark" in html


TEMPLATE_TEXTS = [
    '{{ _("Registry") }}',
    '{{ _("Programme %(number)s", number="<b>4</b>") }}',
    '{% trans number="<i>" %}Programme {{ number }}{% endtrans %}',
    '{{ ngettext("%(num)d new", "%(num)d new", 3) }}',
    "{% trans count=1 %}{{ count }} file{% pluralize %}{{ count }} files{% endtrans %}",
    '{{ _("Tom & Jerry are 100%% <sure>") }}',
    '{{ _("An untranslated text") }}',
]


@pytest.mark.parametrize("escaping", [True, False], ids=["html", "text"])
@pytest.mark.parametrize("source", TEMPLATE_TEXTS)
def test_templates_translate_as_jinjas_own_newstyle_gettext(app, source, escaping):
    """The page's translation functions replace Jinja's wrappers for speed; they write what
    Jinja's own "newstyle" gettext writes, in HTML and in plain-text templates alike."""
    reference = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    reference.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda text: i18n._current_catalogue().ugettext(text),
        ngettext=lambda one, many, n: i18n._current_catalogue().ungettext(one, many, n),
        newstyle=True,
    )
    wrapped = source if escaping else f"{{% autoescape false %}}{source}{{% endautoescape %}}"
    with app.test_request_context("/"), i18n.language("de"):
        ours = app.jinja_env.from_string(wrapped).render()
        jinjas = reference.from_string(wrapped).render()
    assert ours == jinjas
    if "Registry" in source:
        assert ours == "Register"


def test_python_texts_are_format_strings_only_with_variables(app):
    """In Python a text is formatted only when given variables (templates always format,
    as Jinja's newstyle gettext does): a lone percent sign stays as written."""
    with app.test_request_context("/"):
        assert i18n.gettext("50% of programmes") == "50% of programmes"
        assert i18n.gettext("%(share)s of programmes", share="50%") == "50% of programmes"


@pytest.mark.parametrize(
    "source",
    [
        '{{ _("Page %(page)s of %(pages)s", page=1, pages=2) }}',
        '{% from "_pages.html" import pages %}{{ pages("registry.index", 1, 2, {}) }}',
    ],
    ids=["own text", "imported macro"],
)
def test_each_render_translates_in_the_language_of_its_moment(app, source):
    """An email rendered in a contact's language inside a request in another speaks each
    in turn, macros imported from another template included: Jinja keeps such a module,
    and its evaluation context, from one render to the next, so no translation may be
    remembered there."""
    template = app.jinja_env.from_string(source)
    with app.test_request_context("/"):
        with i18n.language("de"):
            german = template.render()
        english = template.render()
    with app.test_request_context("/"), i18n.language("de"):
        german_again = template.render()
    assert "Seite 1 von 2" in german
    assert "Page 1 of 2" in english
    assert "Seite 1 von 2" in german_again


@pytest.mark.parametrize(
    ("language", "share", "average"),
    [("en", "25%", "1,234.5"), ("de", "25\xa0%", "1.234,5"), ("fr", "25\xa0%", "1\u202f234,5")],
)
def test_numbers_and_percentages_are_written_as_each_language_writes_them(
    app, language, share, average
):
    with app.test_request_context("/"), i18n.language(language):
        assert i18n.share_of(1, 4) == share
        assert i18n.number(1234.5) == average
        assert i18n.share_of(1, 0) == "—"
