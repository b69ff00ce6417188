"""Delivery status notifications (RFC 3464), and the returned messages of an mbox or a
folder of .eml files.

A bounce names the recipient that failed and, in the returned headers, the Message-ID of
the original email, which identifies the outbox message and so its invitations.
:mod:`surveyapp.mail.returns` reads every other bounce format beside this one.
"""

from __future__ import annotations

import email
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path


@dataclass(frozen=True)
class Bounce:
    """One failed recipient reported by a delivery status notification."""

    recipient: str
    status: str
    diagnostic: str
    original_message_id: str | None


def messages_at(path: Path) -> Iterator[bytes]:
    """Each message of an mbox file, or of the .eml files of a folder, as its bytes."""
    if path.is_dir():
        for file in sorted(path.glob("*.eml")):
            yield file.read_bytes()
        return
    box = mailbox.mbox(path, create=False)
    try:
        for message in box:
            yield message.as_bytes()
    finally:
        box.close()


def _fields(part: Message) -> list[Message]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(block) for block in text.strip().split("\n\n") if block]


def original_message_id(report: Message) -> str | None:
    """The Message-ID of the email a report returns, from its attached original or
    headers; None when it carries neither."""
    for part in report.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = (
                payload[0]
                if isinstance(payload, list)
                else email.message_from_string(payload if isinstance(payload, str) else "")
            )
            if inner.get("Message-ID"):
                return inner["Message-ID"].strip()
    return None


def bounces_in(message: Message) -> list[Bounce]:
    """Every failed recipient of one delivery status notification (none for any other
    message)."""
    if message.get_content_type() != "multipart/report":
        return []
    original = original_message_id(message)
    bounces = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for group in _fields(part)[1:]:
            action = (group.get("Action") or "").strip().lower()
            recipient = group.get("Final-Recipient") or group.get("Original-Recipient") or ""
            # "delayed" is a warning: the server still tries, so it is no bounce.
            if action != "failed" or not recipient:
                continue
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            status = (group.get("Status") or "").strip()
            bounces.append(
                Bounce(
                    recipient=address,
                    status=status,
                    diagnostic=" ".join((group.get("Diagnostic-Code") or "").split()),
                    original_message_id=original,
                )
            )
    return bounces
