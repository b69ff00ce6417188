"""Confirming a public suggestion by the link emailed to the address it gave.

A suggestion that names an email address waits as a draft the curators never see until
someone who reads that mailbox opens the link and presses Confirm; a bot typing addresses
into the form fills nobody's queue. The link carries the suggestion's id and the page's
language, signed with the application's secret key for this one purpose and dated, so
nothing is stored for it and a forged, altered or old link is refused. Suggestions left
unconfirmed past ``SUGGESTION_CONFIRM_DAYS`` are never shown and are purged by the
curators' bulk dismissal or ``flask review purge-unconfirmed``. Functions here flush,
never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Select, delete, select

from surveyapp.database import take_turns, utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import LANGUAGES
from surveyapp.questionnaire.models import Submission
from surveyapp.questionnaire.service import admit_suggestion
from surveyapp.vocabulary import SubmissionStatus

_SALT = "surveyapp.questionnaire.suggestion-confirmation"


class ConfirmationLinkInvalid(Exception):
    """The link was not made by this site, or its suggestion is gone."""


class ConfirmationLinkExpired(ConfirmationLinkInvalid):
    """The link is genuine but older than the days a suggester has to confirm."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def confirm_days() -> timedelta:
    """How long a suggester has to open the emailed link."""
    return timedelta(days=current_app.config["SUGGESTION_CONFIRM_DAYS"])


def confirmation_token(suggestion: Submission, language: str) -> str:
    """The token of a suggestion's confirmation link, dated now."""
    return str(_serializer().dumps([suggestion.id, language]))


def awaiting(now: datetime) -> Select[tuple[Submission]]:
    """SQL: suggestions still waiting for their sender's confirmation (not yet expired)."""
    return _unconfirmed().where(Submission.created_at > now - confirm_days())


def expired(now: datetime) -> Select[tuple[Submission]]:
    """SQL: suggestions whose sender never confirmed in time; they are only purged."""
    return _unconfirmed().where(Submission.created_at <= now - confirm_days())


def _unconfirmed() -> Select[tuple[Submission]]:
    return select(Submission).where(
        Submission.status == SubmissionStatus.DRAFT,
        Submission.invitation_id.is_(None),
        Submission.unverified.is_(True),
        Submission.submitter_email.is_not(None),
        Submission.email_confirmed_at.is_(None),
    )


def suggestion_of(token: str, now: datetime | None = None) -> tuple[Submission, str]:
    """The suggestion a confirmation link names and the language it was asked in.

    Raises :class:`ConfirmationLinkExpired` once the days to confirm have passed and
    :class:`ConfirmationLinkInvalid` for anything else that is not a live link; a link
    already used names its (confirmed) suggestion again, so a second click is answered
    kindly.
    """
    now = now or utcnow()
    days = current_app.config["SUGGESTION_CONFIRM_DAYS"]
    try:
        payload = _serializer().loads(token, max_age=days * 86400)
    except SignatureExpired as exc:
        raise ConfirmationLinkExpired from exc
    except BadSignature as exc:
        raise ConfirmationLinkInvalid from exc
    if not (isinstance(payload, list) and len(payload) == 2 and type(payload[0]) is int):
        raise ConfirmationLinkInvalid
    suggestion_id, language = payload
    suggestion = db.session.get(Submission, suggestion_id)
    if suggestion is None or suggestion.invitation_id is not None or not suggestion.unverified:
        raise ConfirmationLinkInvalid
    if suggestion.email_confirmed_at is None:
        if suggestion.status != SubmissionStatus.DRAFT:
            raise ConfirmationLinkInvalid
        if suggestion.created_at <= now - confirm_days():
            raise ConfirmationLinkExpired
    return suggestion, language if language in LANGUAGES else "en"


def confirm(suggestion: Submission, now: datetime | None = None) -> bool:
    """The sender confirmed: the suggestion enters the curators' queue. False when it had
    been confirmed already (nothing changes)."""
    if suggestion.email_confirmed_at is not None:
        return False
    now = now or utcnow()
    suggestion.email_confirmed_at = now
    admit_suggestion(suggestion, now)
    db.session.flush()
    audit(
        "questionnaire.suggestion_confirmed",
        suggestion.submitter_email or "anonymous",
        target_type="submission",
        target_id=suggestion.id,
    )
    return True


# What purges run on several servers take turns by (:func:`database.take_turns`).
PURGE_TURN = "review purge-unconfirmed"


def purge_expired(now: datetime | None = None) -> int:
    """Delete the suggestions never confirmed in time; returns how many went (the caller
    audits it, once, with the count: the suggestions themselves leave nothing behind).
    Runs on several servers at once take turns, so each deletion is counted once."""
    take_turns(db.session(), PURGE_TURN)
    ids = list(db.session.scalars(expired(now or utcnow()).with_only_columns(Submission.id)))
    if ids:
        db.session.execute(delete(Submission).where(Submission.id.in_(ids)))
    return len(ids)
