"""Contacts, their links to registry institutions, campaigns, invitations and their tokens.

A contact speaks for one or more registry institutions (a confirmed :class:`ContactLink`);
a contact without one is invited to describe a new institution. One invitation exists per
campaign, contact and institution. An invitation's link tokens are random (256 bits) and
only their SHA-256 is stored; every email mints a fresh token for the same invitation, and
all of them stay valid until the invitation expires or is revoked. The invitation's status
and its timeline change only through :func:`surveyapp.campaigns.service.set_status`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.database import enum_column, utcnow
from surveyapp.extensions import db
from surveyapp.registry.models import Institution
from surveyapp.vocabulary import InvitationStatus, LinkStatus, NominationStatus, ReturnedKind

if TYPE_CHECKING:  # the questionnaire's submissions stand above campaigns
    from surveyapp.questionnaire.models import Submission


class Contact(db.Model):
    """A stakeholder who may answer for one or more institutions; one per email address."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    institution_name: Mapped[str | None] = mapped_column(String(500))
    country_code: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_out_at: Mapped[datetime | None]
    bounced_at: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    links: Mapped[list[ContactLink]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactLink.score.desc()"
    )

    @property
    def confirmed_institutions(self) -> list[Institution]:
        """Registry institutions this contact has been confirmed to speak for."""
        return [link.institution for link in self.links if link.status == LinkStatus.CONFIRMED]


class ContactLink(db.Model):
    """A proposed, confirmed or rejected link between a contact and an institution."""

    __tablename__ = "contact_link"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    status: Mapped[LinkStatus] = mapped_column(enum_column(LinkStatus, "link_status"), index=True)
    score: Mapped[float] = mapped_column(default=0.0)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None]

    contact: Mapped[Contact] = relationship(back_populates="links")
    institution: Mapped[Institution] = relationship()


class Campaign(db.Model):
    """A survey round: questionnaire version, dates, sender, email texts, reminder policy."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    questionnaire_id: Mapped[str] = mapped_column(String(64), default="table1")
    questionnaire_version: Mapped[int] = mapped_column(default=1)
    opens_on: Mapped[date]
    closes_on: Mapped[date]
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_email: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    invitation_subject: Mapped[str] = mapped_column(String(300))
    invitation_text: Mapped[str] = mapped_column(Text)
    invitation_html: Mapped[str] = mapped_column(Text)
    reminder_subject: Mapped[str] = mapped_column(String(300))
    reminder_text: Mapped[str] = mapped_column(Text)
    reminder_html: Mapped[str] = mapped_column(Text)
    remind_after_days: Mapped[int] = mapped_column(default=7)
    max_reminders: Mapped[int] = mapped_column(default=2)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invitations: Mapped[list[Invitation]] = relationship(back_populates="campaign", lazy="dynamic")
    translations: Mapped[list[CampaignTexts]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignTexts.language"
    )


class CampaignTexts(db.Model):
    """A campaign's invitation and reminder texts in one more language.

    The campaign's own columns hold the texts in its default language; a contact whose
    language has a row here gets that row's texts instead.
    """

    __tablename__ = "campaign_texts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "language", name="uq_campaign_texts_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    invitation_subject: Mapped[str] = mapped_column(String(300))
    invitation_text: Mapped[str] = mapped_column(Text)
    invitation_html: Mapped[str] = mapped_column(Text)
    reminder_subject: Mapped[str] = mapped_column(String(300))
    reminder_text: Mapped[str] = mapped_column(Text)
    reminder_html: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="translations")


class Invitation(db.Model):
    """One campaign's invitation of one contact for one institution (or a new one)."""

    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id", "institution_id", name="uq_invitation_once"),
        Index("ix_invitation_campaign_status", "campaign_id", "status"),
        Index("ix_invitation_campaign_submitted", "campaign_id", "submitted_at"),
        # Covers the response-rate funnel's one grouped scan (see dashboard.service).
        Index(
            "ix_invitation_funnel",
            "campaign_id",
            "country_code",
            "language",
            "status",
            "first_sent_at",
            "bounced_at",
            "opened_at",
            "started_at",
            "submitted_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus, "invitation_status"), default=InvitationStatus.QUEUED
    )
    # As invited (the institution's country, else the contact's; the contact's language),
    # so response rates break down by them without joins.
    country_code: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(8))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    bounced_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    first_sent_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="invitations")
    contact: Mapped[Contact] = relationship()
    institution: Mapped[Institution | None] = relationship()
    events: Mapped[list[InvitationEvent]] = relationship(
        back_populates="invitation",
        order_by="InvitationEvent.id",
        cascade="all, delete-orphan",
    )


class InvitationToken(db.Model):
    """The SHA-256 of one link token minted for an invitation (never the token itself)."""

    __tablename__ = "invitation_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvitationEvent(db.Model):
    """One entry of an invitation's timeline: a status with its time and details."""

    __tablename__ = "invitation_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"), index=True)
    status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus, "invitation_status")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    invitation: Mapped[Invitation] = relationship(back_populates="events")


class Nomination(db.Model):
    """A facility to invite that reached the coordinators: nominated by an invited
    respondent (``invitation_id``) or suggested on the public form (``submission_id``, the
    suggestion itself, which also waits in the curators' queue). Coordinators work through
    nominations by their status: new, contact created, invited or dismissed."""

    __tablename__ = "nomination"
    __table_args__ = (
        CheckConstraint("(invitation_id IS NULL) <> (submission_id IS NULL)", name="one_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    name: Mapped[str] = mapped_column(String(500))
    country_code: Mapped[str | None] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[NominationStatus] = mapped_column(
        enum_column(NominationStatus, "nomination_status"),
        default=NominationStatus.NEW,
        server_default=NominationStatus.NEW.value,
        index=True,
    )
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invitation: Mapped[Invitation | None] = relationship()
    submission: Mapped[Submission | None] = relationship("Submission")


class ReturnedMail(db.Model):
    """A message read from the return mailbox (or an ingested file), one row per bounced
    recipient: what it was and what was done. The message's key with the recipient is
    unique, so reading a message twice, or two pollers reading it at once, records and
    changes nothing the second time; soft bounces are counted from these rows."""

    __tablename__ = "returned_mail"
    __table_args__ = (
        UniqueConstraint("message_key", "recipient", name="uq_returned_mail_message"),
        Index("ix_returned_mail_recipient_kind", "recipient", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(300))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    kind: Mapped[ReturnedKind] = mapped_column(enum_column(ReturnedKind, "returned_kind"))
    status: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
