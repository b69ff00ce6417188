"""What each kind of email looks like and what its delivery changes elsewhere.

The mail package knows nothing of campaigns: areas that send mail register, per message
kind, a renderer (which builds the message at send time and may mint tokens) and hooks
called when the message is accepted or fails for good.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import MessageKind


class Undeliverable(Exception):
    """The message must not be sent any more (e.g. its invitations were all revoked)."""


@dataclass(frozen=True)
class Delivery:
    """How to render one kind of message and what to do after sending it."""

    render: Callable[[OutboxMessage], EmailMessage]
    on_sent: Callable[[OutboxMessage], None]
    on_failed: Callable[[OutboxMessage, str], None]


DELIVERIES: dict[MessageKind, Delivery] = {}


def register(kind: MessageKind, delivery: Delivery) -> None:
    """Say how messages of a kind are rendered and what their delivery changes."""
    DELIVERIES[kind] = delivery


def delivery_for(kind: MessageKind) -> Delivery:
    """The registered delivery of a kind; KeyError names a kind no area registered."""
    return DELIVERIES[kind]
