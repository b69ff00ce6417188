"""A campaign's invitation and reminder texts per language.

The campaign's own columns hold the texts in its default language; a
:class:`CampaignTexts` row holds them in one more language. A contact gets the texts of
their language when the campaign has them, else the default language's. Texts still equal
to the built-in defaults are the catalogue's, so they go out translated into the contact's
language without anyone writing them again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from surveyapp.campaigns import templates
from surveyapp.campaigns.models import Campaign, CampaignTexts
from surveyapp.campaigns.service import CampaignError
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import LANGUAGES, gettext, language
from surveyapp.i18n import lazy_gettext as _l

FIELDS = tuple(templates.DEFAULTS)


@dataclass(frozen=True)
class ChosenTexts:
    """The texts one contact gets and the language to write the rest of the email in."""

    language: str
    texts: dict[str, str]


def _row(campaign: Campaign, code: str) -> CampaignTexts | None:
    return next((row for row in campaign.translations if row.language == code), None)


def _translated_defaults(campaign: Campaign, code: str) -> dict[str, str]:
    """The campaign's own texts, with the ones still at their default translated."""
    with language(code):
        return {
            name: gettext(text) if text == templates.DEFAULTS[name] else text
            for name in FIELDS
            for text in [getattr(campaign, name)]
        }


def is_default(campaign: Campaign) -> bool:
    """True when the campaign's own texts are all the built-in defaults."""
    return all(getattr(campaign, name) == templates.DEFAULTS[name] for name in FIELDS)


def texts_for(campaign: Campaign, contact_language: str | None) -> ChosenTexts:
    """The texts a contact of this language gets: its language's row, else the default
    language's texts (the built-in defaults in the contact's own language)."""
    code = (contact_language or campaign.default_language or "en").lower()
    row = _row(campaign, code)
    if row is not None:
        return ChosenTexts(code, {name: getattr(row, name) for name in FIELDS})
    text_language = code if is_default(campaign) else campaign.default_language
    return ChosenTexts(text_language, _translated_defaults(campaign, text_language))


def editable_texts(campaign: Campaign, code: str) -> dict[str, str]:
    """What the editor starts from for one language: its own texts when it has them, the
    campaign's texts for the default language, else the defaults in that language."""
    row = _row(campaign, code)
    if row is not None:
        return {name: getattr(row, name) for name in FIELDS}
    if code == campaign.default_language:
        return {name: getattr(campaign, name) for name in FIELDS}
    if code in LANGUAGES:
        with language(code):
            return {name: gettext(templates.DEFAULTS[name]) for name in FIELDS}
    return {name: getattr(campaign, name) for name in FIELDS}


def languages(campaign: Campaign) -> list[str]:
    """The default language first, then every language with texts of its own."""
    others = sorted(row.language for row in campaign.translations)
    return [campaign.default_language, *(c for c in others if c != campaign.default_language)]


def save_texts(campaign: Campaign, code: str, texts: dict[str, str], *, actor: str) -> None:
    """Store one language's texts (the campaign's own columns for its default language);
    every template is checked before anything changes."""
    templates.check(texts)
    code = code.lower()
    if code == campaign.default_language:
        for name in FIELDS:
            setattr(campaign, name, texts[name])
    else:
        row = _row(campaign, code)
        if row is None:
            row = CampaignTexts(language=code, updated_by=actor, **{n: texts[n] for n in FIELDS})
            campaign.translations.append(row)
        for name in FIELDS:
            setattr(row, name, texts[name])
        row.updated_by = actor
    db.session.flush()
    audit(
        "campaign.texts",
        actor,
        target_type="campaign",
        target_id=campaign.id,
        language=code,
    )


def remove_texts(campaign: Campaign, code: str, *, actor: str) -> None:
    """Drop one language's own texts: its contacts get the default language's again."""
    if code == campaign.default_language:
        raise CampaignError(_l("The default language's texts cannot be removed."))
    row = db.session.scalar(
        select(CampaignTexts).where(
            CampaignTexts.campaign_id == campaign.id, CampaignTexts.language == code
        )
    )
    if row is not None:
        campaign.translations.remove(row)
        db.session.flush()
        audit(
            "campaign.texts_removed",
            actor,
            target_type="campaign",
            target_id=campaign.id,
            language=code,
        )
