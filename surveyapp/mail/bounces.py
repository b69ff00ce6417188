"""Reading delivery status notifications (RFC 3464) from an mbox or a folder of .eml files.

A bounce names the recipient that failed and, in the returned headers, the Message-ID of
the original email, which identifies the outbox message and so its invitations.
"""

from __future__ import annotations

import email
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from pathlib import Path


@dataclass(frozen=True)
class Bounce:
    """One failed recipient reported by a delivery status notification."""

    recipient: str
    status: str
    diagnostic: str
    original_message_id: str | None


def _messages(path: Path) -> Iterator[Message]:
    if path.is_dir():
        for file in sorted(path.glob("*.eml")):
            with file.open("rb") as handle:
                yield email.message_from_binary_file(handle, policy=policy.compat32)
        return
    box = mailbox.mbox(path, create=False)
    try:
        yield from box
    finally:
        box.close()


def _fields(part: Message) -> list[Message]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(block) for block in text.strip().split("\n\n") if block]


def _original_message_id(report: Message) -> str | None:
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


def read_bounces(path: Path) -> list[Bounce]:
    """Every failed recipient in the delivery status notifications at ``path``."""
    bounces = []
    for message in _messages(path):
        if message.get_content_type() != "multipart/report":
            continue
        original = _original_message_id(message)
        for part in message.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            for group in _fields(part)[1:]:
                action = (group.get("Action") or "").strip().lower()
                recipient = group.get("Final-Recipient") or group.get("Original-Recipient") or ""
                if action != "failed" or not recipient:
                    continue
                address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                bounces.append(
                    Bounce(
                        recipient=address,
                        status=(group.get("Status") or "").strip(),
                        diagnostic=" ".join((group.get("Diagnostic-Code") or "").split()),
                        original_message_id=original,
                    )
                )
    return bounces
