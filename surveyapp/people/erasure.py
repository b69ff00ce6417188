"""Erasure of one person (GDPR article 17), and the pseudonym that outlives it.

The person's contact stays as a stub under a salted hash of the address: it keeps the
campaigns' counts right, and the same hash lets a later import of the same address be
recognised and kept from ever being emailed again. Registry entries lose their contact
fields but keep everything about the programme; every other mention of the address or
the person's names, history and audit included, is rewritten (see :mod:`.traces`). The
audit records that an erasure happened, by whom, when, and the hash, never the address.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import delete, event, func, or_, select

from surveyapp.auth.models import ApiToken, RecoveryCode, User
from surveyapp.campaigns.models import Contact, Invitation, InvitationToken
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import Provenance, audit
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.mail.models import OutboxMessage
from surveyapp.people.traces import Needles, find, wipe
from surveyapp.questionnaire.models import Submission
from surveyapp.registry import export
from surveyapp.registry import service as registry
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import ChangeSource

STUB_DOMAIN = "erased.invalid"
ERASED_PREFIX = "erased"
EXPIRED_PREFIX = "expired"


class PeopleError(Exception):
    """A request about a person that cannot be carried out (the message says why)."""


def address_hash(email: str) -> str:
    """The salted SHA-256 (HMAC) of an address: the same address always gives the same
    hash, and without the salt (PRIVACY_HASH_SALT, else SECRET_KEY) nobody can test
    guesses against it."""
    salt = current_app.config.get("PRIVACY_HASH_SALT") or current_app.config["SECRET_KEY"]
    return hmac.new(salt.encode(), normalised(email).encode(), hashlib.sha256).hexdigest()


def normalised(email: str) -> str:
    """Addresses are stored lower-cased; so are the ones people ask about."""
    return email.strip().lower()


def stub_address(email: str, prefix: str = ERASED_PREFIX) -> str:
    """The address a contact keeps once its person is gone: the hash in a domain that can
    never receive mail (.invalid, RFC 2606)."""
    return f"{prefix}-{address_hash(email)[:40]}@{STUB_DOMAIN}"


def is_erased(email: str) -> bool:
    """True when this address was erased: a contact stub holds its hash."""
    stub = stub_address(email)
    return db.session.scalar(select(Contact.id).where(Contact.email == stub)) is not None


def needles_for(email: str) -> Needles:
    """The address and the names stored with it (contact, registry entries, suggestions,
    staff account), which erasure wipes and access reports."""
    email = normalised(email)
    if "@" not in email:
        raise PeopleError(_l("Give an email address."))
    names: set[str] = set()
    contact = db.session.scalar(select(Contact).where(Contact.email == email))
    if contact is not None and contact.name:
        names.add(contact.name.strip())
    names.update(
        n.strip()
        for n in db.session.scalars(
            select(Entry.contact_person).where(func.lower(Entry.contact_email) == email)
        )
        if n
    )
    names.update(
        n.strip()
        for n in db.session.scalars(
            select(Submission.submitter_name).where(func.lower(Submission.submitter_email) == email)
        )
        if n
    )
    # institutions bearing one of the names ("Fondazione Anna Rossi") keep it wherever
    # their name is written: in the history, Table 1's texts, answers, a contact's record
    protected = {
        name
        for full in Needles(email, names).all[1:]
        for name in db.session.scalars(
            select(Institution.name).where(func.lower(Institution.name).contains(full.lower()))
        )
    }
    return Needles(email, names, protected)


@dataclass
class ErasureReport:
    """What an erasure changed, by kind; the counts go into the audit event."""

    address_hash: str
    contact: bool = False
    staff_account: bool = False
    invitations_revoked: int = 0
    entries_cleared: int = 0
    emails_dropped: int = 0
    values_rewritten: int = 0

    def counts(self) -> dict[str, int | bool]:
        """The report as audit details."""
        return {
            "contact": self.contact,
            "staff_account": self.staff_account,
            "invitations_revoked": self.invitations_revoked,
            "entries_cleared": self.entries_cleared,
            "emails_dropped": self.emails_dropped,
            "values_rewritten": self.values_rewritten,
        }


def retire_contact(contact: Contact, email: str, prefix: str) -> int:
    """Turn a contact into a stub that cannot be reached: hashed address, no name, opted
    out and inactive, its links closed, its queued emails dropped. Returns the number of
    invitations revoked."""
    now = utcnow()
    contact.email = stub_address(email, prefix)
    contact.name = None
    contact.institution_name = None
    contact.active = False
    contact.opted_out_at = contact.opted_out_at or now
    contact.source = prefix
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.contact_id == contact.id)
    ).all()
    revoked = 0
    for invitation in invitations:
        invitation.failure_reason = None
        if invitation.revoked_at is None:
            invitation.revoked_at = now
            revoked += 1
    ids = [i.id for i in invitations]
    if ids:
        db.session.execute(delete(InvitationToken).where(InvitationToken.invitation_id.in_(ids)))
    return revoked


def _drop_emails(contact_id: int | None, email: str) -> int:
    condition = [func.lower(OutboxMessage.to_address) == email]
    if contact_id is not None:
        condition.append(OutboxMessage.contact_id == contact_id)
    result = db.session.execute(delete(OutboxMessage).where(or_(*condition)))
    return result.rowcount or 0


def _close_staff_account(user: User, email: str) -> None:
    user.email = stub_address(email)
    user.active = False
    user.session_version += 1
    user.totp_secret = None
    user.totp_enabled_at = None
    now = utcnow()
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.revoked_at = token.revoked_at or now
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def erase(email: str, *, actor: str) -> ErasureReport:
    """Remove or irreversibly replace everything stored about one address.

    Registry entries naming the person lose contact person and email (a new version says
    so; the old values in that version are wiped like every other trace); the person's
    submissions keep their institutional answers without the person in them.
    """
    email = normalised(email)
    if not email or "@" not in email:
        raise PeopleError(_l("Give an email address."))
    if normalised(actor) == email:
        raise PeopleError(_l("You cannot erase your own staff account while using it."))
    needles = needles_for(email)
    report = ErasureReport(address_hash=address_hash(email))

    contact = db.session.scalar(select(Contact).where(Contact.email == email))
    if contact is not None:
        report.invitations_revoked = retire_contact(contact, email, ERASED_PREFIX)
        report.contact = True
    elif not is_erased(email):  # the stub alone keeps a later import of the address silent
        db.session.add(
            Contact(
                email=stub_address(email),
                active=False,
                opted_out_at=utcnow(),
                source=ERASED_PREFIX,
                links=[],
            )
        )
    report.emails_dropped = _drop_emails(contact.id if contact else None, email)
    for submission in db.session.scalars(
        select(Submission).where(func.lower(Submission.submitter_email) == email)
    ):
        submission.submitter_email = None
        submission.submitter_name = None
        submission.note = None

    provenance = Provenance(
        ChangeSource.STAFF_EDIT, actor, comment="personal data erased on the person's request"
    )
    cleared = registry.FieldUpdate(None, "")
    hidden = registry.FieldUpdate(False, "not shown publicly")
    for entry in db.session.scalars(select(Entry).where(func.lower(Entry.contact_email) == email)):
        registry.change_fields(
            entry,
            {"contact_person": cleared, "contact_email": cleared, "contact_public": hidden},
            provenance,
        )
        report.entries_cleared += 1

    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is not None:
        _close_staff_account(user, email)
        report.staff_account = True

    db.session.flush()
    traces = find(needles)
    report.values_rewritten = wipe(traces, needles)
    # Derived search text is derived again: wiping a name inside it must not take an
    # institution's name (which may hold a person's) out of search.
    for entry_id in {t.key["id"] for t in traces if t.table == "entry"}:
        entry = db.session.get(Entry, entry_id)
        if entry is not None:
            registry.refresh_search_text(entry)
    audit(
        "people.erase",
        actor,
        target_type="person",
        address_hash=report.address_hash,
        **report.counts(),
    )
    db.session.flush()
    return report


def discard_snapshots() -> list[str]:
    """Delete the registry's XLSX snapshots (the staff's holds every contact, the public one
    those who consented): built before the erasure, they would keep the person until the
    next `flask registry build-xlsx`. Called once the erasure is committed."""
    removed = []
    for include_personal in (True, False):
        path = export.snapshot_path(include_personal)
        if path.exists():
            path.unlink()
            removed.append(path.name)
    return removed


@event.listens_for(Contact, "before_insert")
def _keep_erased_people_unreachable(mapper: Any, connection: Any, contact: Contact) -> None:
    """A contact added again for an erased address (an import, a nomination) is stored
    opted out and inactive, so no campaign ever emails the person again."""
    if not contact.email or contact.email.endswith("@" + STUB_DOMAIN):
        return
    stub = stub_address(contact.email)
    if connection.execute(select(Contact.id).where(Contact.email == stub)).first() is not None:
        contact.active = False
        contact.opted_out_at = contact.opted_out_at or utcnow()
