"""Languages of the interface and of emails to respondents (Flask-Babel).

English is the source language; German, Italian, Spanish and French catalogues are
complete (most of Table 1's institutions are in Italy, Spain, Germany and France, and a
clinician answers faster and more accurately in their own language). The language is
chosen from, in order: a ``?lang=`` the person picked (kept in the session), the invited
contact's language on invitation pages, the browser's preferences, English. A contact's
language comes from the import's ``language`` column, else from their country
(:func:`language_of_country`). Catalogues live in ``surveyapp/translations``; ``make
translations`` updates them, and ``tests/test_i18n.py`` fails on any message missing or
fuzzy in any of them.
"""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from typing import Any

import pycountry
from babel import support
from flask import Flask, g, has_request_context, request, session, url_for
from flask_babel import (
    Babel,
    LazyString,
    force_locale,
    format_date,
    format_decimal,
    format_percent,
    format_time,
    get_locale,
)
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from wtforms.i18n import messages_path

from surveyapp.paths import PACKAGE_DATA_DIR

# The interface's languages, each named in itself (the language switch shows these).
LANGUAGES = {
    "en": "English",
    "de": "Deutsch",
    "it": "Italiano",
    "es": "Español",
    "fr": "Français",
}
# The language a contact from a country is written to when the import names none: the
# country's main language where it has a catalogue (Belgium and Switzerland speak several;
# French and German are what their ATMP centres most often work in), else English.
COUNTRY_LANGUAGES = {
    "AT": "de",
    "CH": "de",
    "DE": "de",
    "LI": "de",
    "IT": "it",
    "SM": "it",
    "VA": "it",
    "ES": "es",
    "AD": "es",
    "AR": "es",
    "CL": "es",
    "CO": "es",
    "MX": "es",
    "PE": "es",
    "UY": "es",
    "FR": "fr",
    "BE": "fr",
    "LU": "fr",
    "MC": "fr",
}
TRANSLATIONS_DIR = PACKAGE_DATA_DIR.parent.parent / "translations"
babel = Babel()


def counted(number: int, singular: str, plural: str) -> str:
    """ "1 row", "2 rows": a count with its noun, for the command line's English summaries
    (commands speak English only; pages use ``ngettext``)."""
    return f"{number} {singular if number == 1 else plural}"


def language_of_country(country_code: str | None) -> str:
    """The language to write to someone in ``country_code`` (ISO 3166-1 alpha-2) when they
    named none: the country's own where it has a catalogue, else English."""
    return COUNTRY_LANGUAGES.get((country_code or "").upper(), "en")


def N_(text: str) -> str:
    """Mark a string for extraction without translating it here (vocabulary labels)."""
    return text


@cache
def country_names(language: str) -> gettext_module.NullTranslations:
    """pycountry's translations of country names into ``language``."""
    return gettext_module.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


@cache
def _catalogue(language: str) -> support.NullTranslations:
    """The interface's catalogue for ``language`` (English, the source, has none), read
    once per process."""
    return support.Translations.load(str(TRANSLATIONS_DIR), [language], "messages")


def _current_catalogue() -> support.NullTranslations:
    """The catalogue of the request's (or a forced) language; outside an application
    context, none."""
    locale = get_locale()
    return _catalogue(str(locale)) if locale is not None else _NO_CATALOGUE


_NO_CATALOGUE = support.NullTranslations()


def gettext(string: str, **variables: Any) -> str:
    """``string`` in the current language, ``%(name)s`` filled from ``variables``.

    Flask-Babel's own ``gettext`` looks its domain, catalogue and locale up through three
    context lookups per call; a questionnaire page translates a few dozen texts, so here a
    call costs one lookup of the locale Flask-Babel selected (``force_locale`` included).
    """
    text = _current_catalogue().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The singular or plural of a text for ``num`` in the current language; ``%(num)d``
    and ``variables`` filled in."""
    variables.setdefault("num", num)
    return _current_catalogue().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """A text translated when it is shown, in the language of that moment (module-level
    labels, defined before any request)."""
    return LazyString(gettext, string, **variables)


@pass_eval_context
def _template_gettext(context: EvalContext, string: str, **variables: Any) -> str:
    """``_()`` in templates, as Jinja's "newstyle" gettext behaves: the translation is
    markup where the template escapes (HTML), and is always a format string, with the
    variables escaped into it (``%%`` writes one ``%``).

    A page translates a few dozen texts; Jinja's own wrapper costs three calls per text
    around the catalogue's one, this costs one."""
    text = _current_catalogue().ugettext(string)
    if context.autoescape:
        text = Markup(text)  # noqa: S704  # nosec B704 - the catalogue's own markup
    return text % variables if variables or "%" in text else text


@pass_eval_context
def _template_ngettext(
    context: EvalContext, singular: str, plural: str, num: int, **variables: Any
) -> str:
    """``ngettext()`` and ``{% trans %}`` with ``{% pluralize %}`` in templates, as
    :func:`_template_gettext` behaves; ``%(num)d`` is the count."""
    variables.setdefault("num", num)
    text = _current_catalogue().ungettext(singular, plural, num)
    if context.autoescape:
        text = Markup(text)  # noqa: S704  # nosec B704 - the catalogue's own markup
    return text % variables


@cache
def _wtforms_catalogue(language: str) -> support.Translations:
    """WTForms' own catalogue (its built-in validation messages) for ``language``."""
    return support.Translations.load(messages_path(), [language], domain="wtforms")


class WTFormsMessages:
    """WTForms' built-in messages in the request's language, for a form's ``Meta``.

    Flask-WTF's equivalent reads the catalogue from disk on every request; the
    questionnaire builds a form on every page, so here each language's catalogue is read
    once per process."""

    def gettext(self, string: str) -> str:
        """``string`` in the request's language."""
        return _wtforms_catalogue(str(get_locale() or "en")).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for ``n``, in the request's language."""
        return _wtforms_catalogue(str(get_locale() or "en")).ungettext(singular, plural, n)


wtforms_messages = WTFormsMessages()


def country_label(code: str, english: str) -> LazyString:
    """A country's name in the language of the request (pycountry ships the translations)."""
    return LazyString(lambda: country_names(str(get_locale() or "en")).gettext(english))


def select_locale() -> str:
    """The language for this request."""
    chosen = session.get("lang") if has_request_context() else None
    if chosen in LANGUAGES:
        return chosen
    respondent = g.get("respondent_language")
    if respondent in LANGUAGES:
        return respondent
    if has_request_context():
        return request.accept_languages.best_match(list(LANGUAGES)) or "en"
    return "en"


def use_language_of(language: str | None) -> None:
    """On an invitation page: answer in the invited contact's language unless one was picked."""
    g.respondent_language = language


def day(value: date | datetime | None) -> str:
    """A date as people read it in the current language: one format per language
    ("January 15, 2027", "15. Januar 2027"), on pages and in emails alike."""
    if value is None:
        return ""
    return format_date(value, "long")


def percent(share: float | None) -> str:
    """A share (0.25) as the current language writes a percentage ("25%", "25 %"), or a
    dash for none."""
    if share is None:
        return "—"
    return format_percent(share)


def number(value: float | None) -> str:
    """A number as the current language writes it ("1,234.5", "1.234,5"), at most one
    decimal."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.#")


def share_of(count: int, total: int) -> str:
    """``count`` as a percentage of ``total``, or a dash when there is no total."""
    return percent(count / total) if total else "—"


def moment(value: datetime | None) -> str:
    """A time of day with its date in the current language; times are shown in UTC."""
    if value is None:
        return ""
    return f"{format_date(value, 'long')} {format_time(value, 'HH:mm')} UTC"


@contextmanager
def language(code: str | None) -> Iterator[None]:
    """Render emails in a contact's language (English when it has no catalogue)."""
    with force_locale(code if code in LANGUAGES else "en"):
        yield


def init_app(app: Flask) -> None:
    """Bind Flask-Babel and the language switch (``?lang=de``) to the application."""
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS_DIR)
    )

    # Templates translate as Python does. Installing the callables "newstyle" makes
    # ``{% trans %}`` pass its variables to them; the template functions then replace
    # Jinja's wrappers of the two, which cost three calls each per text.
    app.jinja_env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=True)
    app.jinja_env.globals.update(
        _=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext
    )
    app.jinja_env.filters["gettext"] = gettext
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["number"] = number

    @app.before_request
    def _pick_language() -> None:
        picked = request.args.get("lang")
        if picked in LANGUAGES:
            session["lang"] = picked

    @app.context_processor
    def _languages() -> dict[str, object]:
        def language_url(code: str) -> str:
            """This page in another language."""
            # the page's own path arguments win over query arguments of the same name
            args = {**request.args.to_dict(), **(request.view_args or {}), "lang": code}
            return url_for(request.endpoint or "registry.index", **args)

        return {
            "languages": LANGUAGES,
            "language_url": language_url,
            "current_language": str(get_locale() or "en"),
        }
