"""Answering a questionnaire through an invitation: pre-fill, drafts, submit, amend.

A submission starts from the registry's current values for the invitation's institution
(one block per active entry). Drafts are saved under the same invitation, so any of its
links brings them back. Submitting freezes the answers as a version; a repeated submit of
the same form rendering (same submit key) is recognised and counted once. While a
submission is "submitted" the respondent may amend it (a new version); once a curator has
taken it into review it is closed to the respondent.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask_babel import get_locale
from sqlalchemy import Select, bindparam, func, select

from surveyapp.campaigns.models import Contact, Invitation, InvitationToken, Nomination
from surveyapp.campaigns.service import set_status, token_hash
from surveyapp.database import utcnow
from surveyapp.definitions import Definition, FieldDefinition, Level, load_definition, table1
from surveyapp.definitions import answers as generic
from surveyapp.definitions.vocabularies import CODE_VOCABULARIES
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.mail.service import queue
from surveyapp.questionnaire.models import Submission, SubmissionVersion
from surveyapp.registry import values
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import controlled_value, entries_with_types
from surveyapp.vocabulary import InvitationStatus, MessageKind, SubmissionStatus

EDITABLE = (SubmissionStatus.DRAFT, SubmissionStatus.SUBMITTED, SubmissionStatus.CHANGES_REQUESTED)
# How long after its link closed a form left open may still hand in what was typed: long
# enough for a page forgotten in a tab, short enough that an old link is no lasting key.
LATE_GRACE = timedelta(days=30)
CONSENT_NEEDED = _l("Please agree that the registry stores the contact details, or remove them.")
WEBSITE_REFUSED = _l(
    "Enter a web address that starts with http:// or https://, "
    "or a host name such as www.example.org."
)


class QuestionnaireError(Exception):
    """The answer cannot be taken as asked; the message says why, for the respondent."""


class SubmissionClosed(QuestionnaireError):
    """A curator has taken the submission into review or decided it."""

    MESSAGE = _l(
        "A curator is reviewing your answers, so they can no longer be changed here. "
        "Reply to the invitation email if something is wrong."
    )


def definition_for(invitation: Invitation) -> Definition:
    """The questionnaire version the invitation's campaign uses."""
    campaign = invitation.campaign
    return load_definition(campaign.questionnaire_id, campaign.questionnaire_version)


def definition_of(submission: Submission) -> Definition:
    """The questionnaire version a submission answered: its answers render with the fields
    of that version forever, whatever a later version adds or drops."""
    return load_definition(submission.definition_id, submission.definition_version)


def registry_value(target: Institution | Entry, field: FieldDefinition) -> Any:
    """What the registry holds for a field: Table 1's columns through the registry, every
    other field from the target's ``answers``, where approved answers to it are kept (so
    the next campaign starts from them)."""
    if field.key in table1().keys:
        return controlled_value(target, field.key)
    return (target.answers or {}).get(field.key)


def prefill(
    definition: Definition, institution: Institution | None, contact: Contact | None = None
) -> dict[str, Any]:
    """Answers as the registry holds them now: the institution and each active entry.

    A contact invited to describe a new institution starts from what the coordinator
    imported about it (name, country, the contact as contact person), not a blank form.
    """
    if institution is None:
        return _prefill_new(definition, contact)
    return {
        "institution": {
            f.key: registry_value(institution, f) for f in definition.level_fields("institution")
        },
        "entries": [
            {
                "entry_id": entry.id,
                "active": True,
                "fields": {
                    f.key: registry_value(entry, f) for f in definition.level_fields("entry")
                },
            }
            for entry in entries_with_types(institution)
            if entry.is_active
        ],
    }


def _prefill_new(definition: Definition, contact: Contact | None) -> dict[str, Any]:
    known = {
        "institution": contact.institution_name if contact else None,
        "country": contact.country_code if contact else None,
        "contact_person": contact.name if contact else None,
        "contact_email": contact.email if contact else None,
    }

    def level(name: Level) -> dict[str, Any]:
        return {f.key: known[f.key] for f in definition.level_fields(name) if known.get(f.key)}

    return {
        "institution": level("institution"),
        "entries": [{"entry_id": None, "active": True, "fields": level("entry")}],
    }


def submission_for(
    invitation: Invitation, *, create: bool = True, answers: dict[str, Any] | None = None
) -> Submission:
    """The invitation's submission, created as a draft on first use: pre-filled from the
    registry, or holding ``answers`` when the caller is about to store those (a first
    save need not work out a pre-fill it replaces at once).

    With ``create=False`` (for pages fetched with GET, which must change nothing) a missing
    submission is returned as an unsaved pre-filled draft.
    """
    submission = db.session.scalar(_submission_statement(), {"invitation_id": invitation.id})
    if submission is None:
        definition = definition_for(invitation)
        if answers is None:
            answers = prefill(definition, invitation.institution, invitation.contact)
        submission = Submission(
            invitation_id=invitation.id,
            institution_id=invitation.institution_id,
            definition_id=definition.id,
            definition_version=definition.version,
            answers=answers,
            status=SubmissionStatus.DRAFT,
            nothing_changed=False,
            consent_store=False,
            consent_publish=False,
            unverified=False,
            late_at=None,
            versions=[],
        )
        if create:
            # Written with the caller's own changes, in one flush: every writer below
            # flushes before it needs the submission's id.
            db.session.add(submission)
    return submission


@cache
def _submission_statement() -> Select[Any]:
    """An invitation's submission, read on every questionnaire page: built once, as
    building it costs more than running it."""
    return select(Submission).where(Submission.invitation_id == bindparam("invitation_id"))


def is_editable(submission: Submission) -> bool:
    """True while the respondent may still change the answers."""
    return submission.status in EDITABLE


def _check_editable(submission: Submission) -> None:
    if not is_editable(submission):
        raise SubmissionClosed(SubmissionClosed.MESSAGE)


def _started(invitation: Invitation) -> None:
    if invitation.started_at is None:
        set_status(invitation, InvitationStatus.STARTED)


def _own_entries_only(submission: Submission, answers: dict[str, Any]) -> dict[str, Any]:
    """Keep entry ids only where they name an entry of the submission's own institution.

    The id travels through the respondent's browser; a block claiming another
    institution's entry is treated as a new programme instead.
    """
    own = set()
    if submission.institution_id is not None:
        with db.session.no_autoflush:  # the entries do not depend on what is pending here
            own = set(
                db.session.scalars(
                    select(Entry.id).where(Entry.institution_id == submission.institution_id)
                )
            )
    entries = [
        {**block, "entry_id": block.get("entry_id") if block.get("entry_id") in own else None}
        for block in answers.get("entries", [])
    ]
    return {**answers, "entries": entries}


def save_draft(
    submission: Submission,
    invitation: Invitation,
    answers: dict[str, Any],
    *,
    consent_store: bool = False,
    consent_publish: bool = False,
) -> None:
    """Keep the answers typed so far; the invitation counts as started.

    Answers saved through an open link are on time again, so a late draft stops being one.
    """
    _check_editable(submission)
    submission.answers = _own_entries_only(submission, answers)
    submission.consent_store = consent_store
    submission.consent_publish = consent_publish
    submission.late_at = None
    _started(invitation)


def submit(
    submission: Submission,
    invitation: Invitation,
    answers: dict[str, Any],
    *,
    submit_key: str,
    consent_store: bool,
    consent_publish: bool,
    nothing_changed: bool = False,
    notify: bool = True,
) -> SubmissionVersion:
    """Submit (or amend) the answers as a new version and queue the confirmation email
    (unless ``notify`` is false: a closed link cannot carry a confirmation).

    Submitting the same rendering of the form twice returns the first version. The link
    need not be open: a coordinator accepting a late draft submits it through here.
    """
    if submit_key:
        with db.session.no_autoflush:  # nothing pending can be a version with this key
            earlier = db.session.scalar(
                select(SubmissionVersion).where(SubmissionVersion.submit_key == submit_key)
            )
        if earlier is not None and earlier.submission_id == submission.id:
            return earlier
    _check_editable(submission)
    if not consent_store:
        raise QuestionnaireError(CONSENT_NEEDED)
    now = utcnow()
    answers = _own_entries_only(submission, answers)
    with db.session.no_autoflush:  # the versions so far do not depend on what is pending
        number = len(submission.versions) + 1
    submission.answers = answers
    submission.nothing_changed = nothing_changed
    submission.consent_store = consent_store
    submission.consent_publish = consent_publish
    submission.status = SubmissionStatus.SUBMITTED
    submission.submitted_at = now
    version = SubmissionVersion(
        number=number,
        answers=answers,
        nothing_changed=nothing_changed,
        consent_publish=consent_publish,
        submit_key=submit_key or f"server-{now.timestamp()}",
        submitted_at=now,
    )
    submission.versions.append(version)
    _started(invitation)
    set_status(
        invitation,
        InvitationStatus.SUBMITTED,
        at=now,
        version=version.number,
        nothing_changed=nothing_changed,
    )
    db.session.flush()
    if not notify:
        return version
    queue(
        MessageKind.CONFIRMATION,
        invitation.contact.email,
        campaign_id=invitation.campaign_id,
        contact_id=invitation.contact_id,
        invitation_ids=[invitation.id],
        context={"submission_version_id": version.id},
    )
    return version


def confirm_unchanged(
    submission: Submission,
    invitation: Invitation,
    *,
    submit_key: str,
    consent_store: bool,
    consent_publish: bool = False,
) -> SubmissionVersion:
    """ "Nothing has changed": submit the registry's entries as they are, in one action.

    The consent it needs is asked beside the button, so its message speaks of confirming.
    """
    if not consent_store:
        raise QuestionnaireError(
            _l(
                "To confirm, tick the box agreeing that the registry keeps the contact "
                "details it holds."
            )
        )
    current = prefill(definition_for(invitation), invitation.institution, invitation.contact)
    return submit(
        submission,
        invitation,
        current,
        submit_key=submit_key,
        consent_store=consent_store,
        consent_publish=consent_publish,
        nothing_changed=True,
    )


# Late answers: the link closed while the form was open --------------------------------


def closed_invitation_of(token: str, now: datetime | None = None) -> Invitation | None:
    """The invitation of a link that has expired (its campaign closed) within
    :data:`LATE_GRACE`; None for unknown, revoked or opted-out links, which stay refused."""
    if not token or len(token) > 100:
        return None
    invitation = db.session.scalar(
        select(Invitation)
        .join(InvitationToken, InvitationToken.invitation_id == Invitation.id)
        .where(InvitationToken.token_hash == token_hash(token))
    )
    now = now or utcnow()
    if (
        invitation is None
        or invitation.revoked_at is not None
        or invitation.opted_out_at is not None
        or invitation.expires_at is None
    ):
        return None
    expired = invitation.expires_at
    return invitation if expired <= now < expired + LATE_GRACE else None


def keep_late(
    submission: Submission,
    invitation: Invitation,
    answers: dict[str, Any],
    *,
    consent_store: bool,
    consent_publish: bool,
    nothing_changed: bool = False,
) -> None:
    """Keep what a respondent sent after the link closed, as a late draft for the
    coordinators to accept (:func:`accept_late_draft`) or reopen; nothing is submitted and
    the submission's status stays as it was."""
    _check_editable(submission)
    submission.answers = _own_entries_only(submission, answers)
    submission.consent_store = consent_store
    submission.consent_publish = consent_publish
    if submission.status == SubmissionStatus.DRAFT:
        submission.nothing_changed = nothing_changed
    submission.late_at = utcnow()
    db.session.flush()
    audit(
        "questionnaire.late_draft",
        invitation.contact.email,
        target_type="submission",
        target_id=submission.id,
        campaign_id=invitation.campaign_id,
        nothing_changed=nothing_changed,
    )


def accept_late_draft(submission: Submission, *, actor: str) -> SubmissionVersion:
    """A coordinator takes a late draft in as submitted, as if it had arrived in time.

    No confirmation email goes out (the link is closed); ``late_at`` stays as the record
    that the answers arrived late.
    """
    invitation = submission.invitation
    if invitation is None or submission.late_at is None:
        raise QuestionnaireError(_l("Only a late draft of an invitation can be accepted."))
    if not submission.consent_store:
        raise QuestionnaireError(
            _l(
                "The respondent did not agree that the registry stores the contact details: "
                "reopen the link so they can submit themselves."
            )
        )
    late_at = submission.late_at
    version = submit(
        submission,
        invitation,
        submission.answers,
        submit_key=f"late-{submission.id}-{len(submission.versions) + 1}",
        consent_store=True,
        consent_publish=submission.consent_publish,
        nothing_changed=submission.nothing_changed,
        notify=False,
    )
    submission.late_at = late_at
    audit(
        "questionnaire.late_draft_accepted",
        actor,
        target_type="submission",
        target_id=submission.id,
        version=version.number,
    )
    return version


def display(field: FieldDefinition, value: Any) -> str:
    """An answer as text in the request's language (labels translated, numbers as given)."""
    from surveyapp.i18n import country_label
    from surveyapp.vocabulary import Answer, AtmpType, PatientsQualifier, country_name

    if value in (None, "", [], {}):
        return ""
    match field.type:
        case "country":
            return str(country_label(value, country_name(value)))
        case "answer":
            return _(Answer(value).label)
        case "atmp_types":
            parts = [_(AtmpType(t).label) for t in value.get("types", [])]
            if value.get("other"):
                parts.append(_("other activities: %(other)s", other=value["other"]))
            return ", ".join(parts)
        case "patient_count":
            estimate, qualifier = value.get("estimate"), value.get("qualifier")
            if estimate is None:
                return _(PatientsQualifier.UNKNOWN.label) if qualifier == "unknown" else ""
            if qualifier in (None, PatientsQualifier.EXACT.value):
                return str(estimate)
            return f"{_(PatientsQualifier(qualifier).label)} {estimate}"
        case "term_list":
            return "; ".join(value)
        case _ if generic.is_generic(field):
            return _generic_display(field, value)
        case _:
            return str(value)


def _generic_display(field: FieldDefinition, value: Any) -> str:
    """A generic answer as :func:`surveyapp.definitions.answers.render` writes it, in the
    request's language: the unit and the labels of vocabularies defined in code through
    the catalogue, labels of data vocabularies through their own translations."""
    if field.unit:
        field = replace(field, unit=_(field.unit))
    if field.vocabulary in CODE_VOCABULARIES and field.type in ("yes_no_unknown", "choice"):
        return _(generic.render(field, value))
    if field.vocabulary in CODE_VOCABULARIES and field.type == "multi_choice":
        return "; ".join(_(generic.render(field, [code])) for code in value)
    return generic.render(field, value, str(get_locale() or "en"))


def summary(
    definition: Definition, answers: dict[str, Any]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Answers as text, for the confirmation page and email: (heading, [(label, text)])."""
    sections = [
        (
            _("Institution"),
            [
                (_(f.heading), display(f, answers.get("institution", {}).get(f.key)))
                for f in definition.level_fields("institution")
            ],
        )
    ]
    for number, entry in enumerate(answers.get("entries", []), start=1):
        heading = (
            _("Programme %(number)s", number=number)
            if entry.get("active", True)
            else _("Programme %(number)s (no longer active)", number=number)
        )
        sections.append(
            (
                heading,
                [
                    (_(f.heading), display(f, entry.get("fields", {}).get(f.key)))
                    for f in definition.level_fields("entry")
                ],
            )
        )
    return sections


def _website(text: str | None) -> str | None:
    """A website as typed, trimmed; one failing the registry's rule (see
    :func:`values.website_problem`) is refused, as the forms refuse it."""
    website = (text or "").strip() or None
    if website and values.website_problem(website):
        raise QuestionnaireError(WEBSITE_REFUSED)
    return website


def nominate(
    invitation: Invitation,
    *,
    name: str,
    country_code: str | None,
    website: str | None,
    contact_email: str | None,
) -> Nomination:
    """Record a facility the respondent knows; coordinators get it as a proposed contact
    (inactive until they activate it), with likely registry institutions proposed."""
    from surveyapp.campaigns.service import propose_links, upsert_contact

    nomination = Nomination(
        invitation_id=invitation.id,
        name=" ".join(name.split()),  # one line: it becomes a contact's name in email headers
        country_code=country_code,
        website=_website(website),
        contact_email=contact_email,
    )
    db.session.add(nomination)
    if contact_email:
        contact, outcome = upsert_contact(
            contact_email,
            source=f"nomination by {invitation.contact.email}",
            institution_name=nomination.name,
            country_code=country_code,
        )
        if outcome == "created":
            contact.active = False
            propose_links(contact)
        nomination.contact_id = contact.id
    db.session.flush()
    audit(
        "questionnaire.nomination",
        invitation.contact.email,
        target_type="nomination",
        target_id=nomination.id,
        name=nomination.name,
    )
    return nomination


def suggest(
    *,
    institution: Institution | None,
    answers: dict[str, Any],
    note: str,
    submitter_name: str,
    submitter_email: str | None,
    consent_store: bool,
    language: str = "en",
) -> Submission:
    """A suggestion from the public form: a new institution or a correction, unverified.

    Without an email address it enters the curators' queue at once, as an unverified
    suggestion they can clear in bulk. With one it waits as a draft, and an email (in the
    page's ``language``) asks its sender to confirm: only then does it reach the curators,
    so nobody can fill their queue in someone else's name.
    """
    email = (submitter_email or "").strip().lower() or None
    name = submitter_name.strip() or None
    if (email or name) and not consent_store:
        raise QuestionnaireError(
            _l("Please agree that we store your name and email to ask you about your suggestion.")
        )
    _website(answers.get("institution", {}).get("website"))
    definition = load_definition()
    now = utcnow()
    submission = Submission(
        institution=institution,
        definition_id=definition.id,
        definition_version=definition.version,
        status=SubmissionStatus.DRAFT,
        answers=answers,
        unverified=True,
        submitter_name=name,
        submitter_email=email,
        note=note.strip() or None,
        consent_store=bool(email or name),
        versions=[],
    )
    db.session.add(submission)
    if email is None:
        admit_suggestion(submission, now)
    db.session.flush()
    if email is not None:
        queue(
            MessageKind.SUGGESTION_CONFIRMATION,
            email,
            context={"submission_id": submission.id, "language": language},
            now=now,
        )
    audit(
        "questionnaire.suggestion",
        email or "anonymous",
        target_type="submission",
        target_id=submission.id,
        institution_id=submission.institution_id,
        awaiting_confirmation=email is not None,
    )
    return submission


def admit_suggestion(suggestion: Submission, now: datetime) -> None:
    """A suggestion enters the curators' queue, and the coordinators' list as a facility
    to invite: its first version is frozen as sent."""
    suggestion.status = SubmissionStatus.SUBMITTED
    suggestion.submitted_at = now
    suggestion.versions.append(
        SubmissionVersion(
            number=1,
            answers=suggestion.answers,
            submit_key=f"suggestion-{secrets.token_urlsafe(12)}",
            submitted_at=now,
        )
    )
    own = suggestion.answers.get("institution", {})
    db.session.add(
        Nomination(
            submission=suggestion,
            name=(
                own.get("institution")
                or (suggestion.institution.name if suggestion.institution else "")
            )[:500],
            country_code=own.get("country") or None,
            website=own.get("website") or None,
            contact_email=suggestion.submitter_email,
        )
    )


# The last suggestion list worked out, under the registry state it was worked out from.
_disease_terms: dict[tuple[Any, ...], list[str]] = {}


def known_disease_terms(limit: int = 300) -> list[str]:
    """The registry's most frequent disease terms, offered as suggestions in the form.

    Counting them reads up to 5,000 entries, on every questionnaire page; so the list is
    kept and counted again only once an entry changed. The newest entry change time and the
    highest entry id say so, read from their indexes: every process and every server sees
    a merge or an approved answer on its next page, with nothing to send between them."""
    key = (*db.session.execute(_newest_entry_change()).one(), limit)
    terms = _disease_terms.get(key)
    if terms is None:
        terms = _count_disease_terms(limit)
        _disease_terms.clear()
        _disease_terms[key] = terms
    return terms


@cache
def _newest_entry_change() -> Select[Any]:
    """The newest entry change time and the highest entry id, built once."""
    return select(
        select(func.max(Entry.updated_at)).scalar_subquery(),
        select(func.max(Entry.id)).scalar_subquery(),
    )


def _count_disease_terms(limit: int) -> list[str]:
    counts: Counter[str] = Counter()
    for targeted, pipeline in db.session.execute(
        select(Entry.diseases_targeted, Entry.diseases_pipeline).limit(5000)
    ):
        counts.update(t for t in [*(targeted or []), *(pipeline or [])] if len(t) <= 80)
    return sorted(term for term, _ in counts.most_common(limit))
