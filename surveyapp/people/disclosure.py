"""Everything stored about one address, as one JSON document (GDPR article 15).

Named records come first, in the words of the areas that keep them (contact, invitations
with their timelines, submissions with their versions and reviews, nominations, registry
entries, history, audit, emails, staff account); ``mentions`` then lists every row whose
text names the person (those of the named records too), found by scanning every table
(see :mod:`.traces`), so nothing stored escapes the export when no named record covers it.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select

from surveyapp.auth.models import User
from surveyapp.campaigns.models import Contact, Invitation, Nomination
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent, FieldChange, Version
from surveyapp.history.service import audit
from surveyapp.mail.models import OutboxMessage
from surveyapp.people.erasure import address_hash, needles_for, normalised
from surveyapp.people.traces import Needles, Trace, find
from surveyapp.questionnaire.models import Submission
from surveyapp.registry.models import Entry
from surveyapp.review.models import Review


def plain(value: Any) -> Any:
    """A stored value in JSON's terms: times as ISO 8601, vocabulary members as codes."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _row(record: Any, *names: str) -> dict[str, Any]:
    return {name: plain(getattr(record, name)) for name in names}


def _contact(contact: Contact) -> dict[str, Any]:
    return {
        **_row(
            contact,
            "id",
            "email",
            "name",
            "institution_name",
            "country_code",
            "language",
            "active",
            "opted_out_at",
            "bounced_at",
            "source",
            "created_at",
            "updated_at",
        ),
        "institutions": [
            {"institution": link.institution.name, "status": plain(link.status)}
            for link in contact.links
        ],
    }


def _invitation(invitation: Invitation) -> dict[str, Any]:
    return {
        **_row(
            invitation,
            "id",
            "status",
            "country_code",
            "language",
            "expires_at",
            "revoked_at",
            "opted_out_at",
            "bounced_at",
            "failure_reason",
            "first_sent_at",
            "last_sent_at",
            "opened_at",
            "started_at",
            "submitted_at",
            "reminders_sent",
            "created_at",
        ),
        "campaign": invitation.campaign.name,
        "institution": invitation.institution.name if invitation.institution else None,
        "events": [_row(e, "status", "at", "detail") for e in invitation.events],
    }


def _submission(submission: Submission) -> dict[str, Any]:
    reviews = db.session.scalars(
        select(Review).where(Review.submission_id == submission.id).order_by(Review.id)
    )
    return {
        **_row(
            submission,
            "id",
            "invitation_id",
            "status",
            "answers",
            "nothing_changed",
            "consent_store",
            "consent_publish",
            "unverified",
            "submitter_name",
            "submitter_email",
            "note",
            "submitted_at",
            "created_at",
            "updated_at",
        ),
        "versions": [
            _row(v, "number", "answers", "nothing_changed", "consent_publish", "submitted_at")
            for v in submission.versions
        ],
        "reviews": [
            _row(r, "version_number", "decision", "comment", "reason", "created_at")
            for r in reviews
        ],
    }


def _entry(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.public_id,
        "institution": entry.institution.name,
        **_row(entry, "contact_person", "contact_email", "contact_public", "status", "printed"),
    }


def _version(version: Version) -> dict[str, Any]:
    return {
        **_row(version, "institution_id", "entry_id", "number", "source", "actor", "comment"),
        "created_at": plain(version.created_at),
        "changes": [
            _row(c, "field", "old_value", "new_value", "old_text", "new_text")
            for c in version.changes
        ],
    }


def _excerpts(value: Any, needles: Needles, around: int = 60) -> list[str]:
    """Where a stored value names the person: a few words either side of each occurrence,
    not the whole value, which may hold other people's data (a colleague's answers)."""
    text = value if isinstance(value, str) else json.dumps(plain(value), ensure_ascii=False)
    lowered = text.lower()
    found = []
    for needle in (*needles.all, *needles.whole):
        at = lowered.find(needle.lower())
        if at >= 0:
            found.append(text[max(0, at - around) : at + len(needle) + around])
    return found


def _ids(traces: list[Trace], table: str) -> set[int]:
    return {t.key["id"] for t in traces if t.table == table and "id" in t.key}


def disclosure(email: str) -> dict[str, Any]:
    """Everything stored about the address, named records first, then every other mention."""
    email = normalised(email)
    needles = needles_for(email)
    traces = find(needles)
    # Records are chosen by the address only: a name also occurs in other people's records
    # (a colleague's answers naming the person), which are theirs, not this person's.
    by_address = find(needles.address_only())
    contact = db.session.scalar(select(Contact).where(Contact.email == email))
    invitations = (
        db.session.scalars(
            select(Invitation).where(Invitation.contact_id == contact.id).order_by(Invitation.id)
        ).all()
        if contact
        else []
    )
    invitation_ids = [i.id for i in invitations]
    submissions = db.session.scalars(
        select(Submission)
        .where(
            or_(
                Submission.invitation_id.in_(invitation_ids),
                func.lower(Submission.submitter_email) == email,
                Submission.id.in_(_ids(by_address, "submission")),
            )
        )
        .order_by(Submission.id)
    ).all()
    nominations = db.session.scalars(
        select(Nomination)
        .where(
            or_(
                Nomination.invitation_id.in_(invitation_ids),
                Nomination.submission_id.in_([s.id for s in submissions]),
                func.lower(Nomination.contact_email) == email,
            )
        )
        .order_by(Nomination.id)
    ).all()
    entries = db.session.scalars(
        select(Entry).where(Entry.id.in_(_ids(by_address, "entry"))).order_by(Entry.id)
    ).all()
    version_ids = _ids(by_address, "version") | {
        version_id
        for version_id in db.session.scalars(
            select(FieldChange.version_id).where(
                FieldChange.id.in_(_ids(by_address, "field_change"))
            )
        )
    }
    versions = db.session.scalars(
        select(Version).where(Version.id.in_(version_ids)).order_by(Version.id)
    ).all()
    audit_events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.id.in_(_ids(by_address, "audit_event")))
        .order_by(AuditEvent.id)
    ).all()
    emails = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(_ids(by_address, "outbox_message")))
        .order_by(OutboxMessage.id)
    ).all()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    return {
        "email": email,
        "names": sorted(needles.names),
        "generated_at": plain(utcnow()),
        "contact": _contact(contact) if contact else None,
        "invitations": [_invitation(i) for i in invitations],
        "submissions": [_submission(s) for s in submissions],
        "nominations": [
            _row(n, "id", "name", "country_code", "website", "contact_email", "status")
            | {"created_at": plain(n.created_at)}
            for n in nominations
        ],
        "registry_entries": [_entry(e) for e in entries],
        "history": [_version(v) for v in versions],
        "audit": [
            _row(a, "created_at", "actor", "action", "target_type", "target_id", "detail")
            for a in audit_events
        ],
        "emails": [
            _row(m, "kind", "to_address", "status", "created_at", "sent_at", "context")
            for m in emails
        ],
        "staff_account": (
            {
                **_row(user, "email", "active", "created_at", "last_login_at"),
                "roles": [r.value for r in user.roles],
            }
            if user
            else None
        ),
        "mentions": [
            {"table": t.table, "column": t.column, "key": plain(t.key), "excerpts": excerpts}
            for t in traces
            if (excerpts := _excerpts(t.value, needles))
        ],
    }


def export_document(email: str, actor: str) -> str:
    """The access export as JSON text, its request recorded in the audit log (by hash)."""
    document = disclosure(email)
    audit("people.export", actor, target_type="person", address_hash=address_hash(email))
    return json.dumps(document, ensure_ascii=False, indent=2)
