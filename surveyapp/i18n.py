"""Languages of the interface and of emails to respondents (Flask-Babel).

English is the source language; German is complete for everything respondents see (the
questionnaire, invitation pages, the suggestion form and their emails). The language is
chosen from, in order: a ``?lang=`` the person picked (kept in the session), the invited
contact's language on invitation pages, the browser's preferences, English.
Catalogues live in ``surveyapp/translations``; ``make translations`` updates them.
"""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache

import pycountry
from flask import Flask, g, has_request_context, request, session, url_for
from flask_babel import Babel, LazyString, force_locale, format_date, format_time, get_locale
from flask_babel import gettext as gettext  # re-exported for modules that translate
from flask_babel import lazy_gettext as lazy_gettext
from flask_babel import ngettext as ngettext

from surveyapp.paths import PACKAGE_DATA_DIR

LANGUAGES = {"en": "English", "de": "Deutsch"}
TRANSLATIONS_DIR = PACKAGE_DATA_DIR.parent.parent / "translations"
babel = Babel()


def counted(number: int, singular: str, plural: str) -> str:
    """ "1 row", "2 rows": a count with its noun, for the command line's English summaries
    (commands speak English only; pages use ``ngettext``)."""
    return f"{number} {singular if number == 1 else plural}"


def N_(text: str) -> str:
    """Mark a string for extraction without translating it here (vocabulary labels)."""
    return text


@cache
def country_names(language: str) -> gettext_module.NullTranslations:
    """pycountry's translations of country names into ``language``."""
    return gettext_module.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


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

    app.jinja_env.filters["gettext"] = gettext
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["moment"] = moment

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
