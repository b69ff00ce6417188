"""The outbox: one row per email to send, written in the transaction that caused it.

No email is sent inside a web request. A worker claims due rows, renders each message at
send time (minting fresh invitation tokens then, so no token is ever stored in clear, the
outbox included), sends it over SMTP and records the outcome. ``message_id`` is fixed when
the row is queued, so a message sent twice after a crash carries the same Message-ID.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from surveyapp.database import enum_column, utcnow
from surveyapp.extensions import db
from surveyapp.vocabulary import MessageKind, OutboxStatus


class OutboxMessage(db.Model):
    """An email waiting to be sent, being sent, sent, or given up on."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind, "message_kind"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    invitation_ids: Mapped[list[int]] = mapped_column(default=list)
    to_address: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
