"""What comes back to the sender's mailbox: bounces in every common format, emailed
unsubscribes, and everything else.

Many mail servers still return plain-text or vendor-specific bounces rather than RFC 3464
delivery status notifications, so a message is read twice: by the RFC 3464 reader of
:mod:`surveyapp.mail.bounces` (status codes and the server's diagnostic per recipient),
then by flufl.bounce's detectors (Postfix, Exim, qmail, Microsoft Exchange and others,
which tell permanent from temporary failures). A failure's status decides: 5.x.x (or a
permanent failure without a code) is a hard bounce, 4.x.x a soft one.

An unsubscribe is a message whose subject holds the word and the opt-out token of an
invitation's ``mailto:`` (:mod:`surveyapp.campaigns.opt_out_tokens` checks the token).
This module reads only: what a returned message means for the registry is decided in
:mod:`surveyapp.campaigns.returned_mail`.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.utils import parsedate_to_datetime

from flufl.bounce import all_failures

from surveyapp.mail.bounces import bounces_in, original_message_id

UNSUBSCRIBE_WORD = "unsubscribe"
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
# A header of the original quoted in the bounce ("To: ..."), not the server's words.
_QUOTED_HEADER = re.compile(r"^\s*(to|cc|from|subject|sent|date)\s*:", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|fwd?|tr|wg|rv)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class Failure:
    """One recipient a returned message says could not be reached."""

    recipient: str
    permanent: bool
    status: str
    reason: str


@dataclass(frozen=True)
class Returned:
    """A message read from the return mailbox, and what it is.

    ``key`` names the message for good (its Message-ID, else a hash of its bytes), so
    that reading it twice changes nothing the second time. ``kind`` is "bounce",
    "unsubscribe" or "other"; ``problem`` says why a message could not be read;
    ``sent_at`` is its Date header, when it has a readable one.
    """

    key: str
    kind: str
    failures: tuple[Failure, ...] = ()
    original_message_id: str | None = None
    subject: str = ""
    problem: str | None = None
    sent_at: datetime | None = None


def _key(message: Message | None, raw: bytes) -> str:
    found = (message.get("Message-ID") or "").strip() if message is not None else ""
    return found[:255] if found else "sha256:" + hashlib.sha256(raw).hexdigest()


def _text(message: Message) -> str:
    """The human-readable parts of a message as one text (attached originals included)."""
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text" or part.get_content_type() == "message/rfc822":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                charset = part.get_content_charset() or "utf-8"
                parts.append(payload.decode(charset, "replace"))
            elif isinstance(payload := part.get_payload(), str):
                parts.append(payload)
    return "\n".join(parts)


def _reason(text: str, recipient: str) -> tuple[str, str]:
    """The status code and the server's words about ``recipient`` in a plain-text bounce:
    the lines from the one naming it to the next blank line."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if recipient in line.lower() and not _QUOTED_HEADER.match(line):
            block = []
            for following in lines[index : index + 6]:
                if block and not following.strip():
                    break
                block.append(following.strip())
            words = " ".join(" ".join(block).split())[:500]
            status = _STATUS.search(words)
            return (status.group(0) if status else ""), words
    return "", ""


def _original_id(message: Message, text: str) -> str | None:
    """The Message-ID of the email that bounced: from an attached original, else from a
    copy of its headers quoted in the text (never the bounce's own)."""
    found = original_message_id(message)
    if found:
        return found
    own = (message.get("Message-ID") or "").strip()
    for candidate in _MESSAGE_ID.findall(text):
        if candidate != own:
            return candidate
    return None


def _failures(message: Message, text: str) -> list[Failure]:
    found = {
        b.recipient: Failure(
            b.recipient,
            not b.status.startswith("4"),
            b.status,
            b.diagnostic or b.status,
        )
        for b in bounces_in(message)
    }
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        # A detector failing on a plain message (one without a From header breaks
        # flufl.bounce's Yale detector) means no vendor-format bounce, not an unreadable one.
        temporary, permanent = frozenset(), frozenset()
    for address, is_permanent in [(a, False) for a in temporary] + [(a, True) for a in permanent]:
        recipient = address.decode("utf-8", "replace").strip().strip("<>").lower()
        if not recipient or "@" not in recipient or recipient in found:
            continue
        status, reason = _reason(text, recipient)
        if status.startswith("4"):
            is_permanent = False
        elif status.startswith("5"):
            is_permanent = True
        found[recipient] = Failure(recipient, is_permanent, status, reason or status)
    return list(found.values())


def _date(message: Message) -> datetime | None:
    """A message's Date header as an aware time, or None when it has none readable."""
    try:
        found = parsedate_to_datetime(str(message.get("Date") or ""))
    except (TypeError, ValueError, IndexError):
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def unsubscribe_subject(subject: str) -> str | None:
    """The subject of an emailed unsubscribe ("unsubscribe <token>", perhaps after "Re:"),
    without what mail clients add in front; None for any other subject."""
    cleaned = _REPLY_PREFIX.sub("", " ".join(subject.split()))
    words = cleaned.split()
    if len(words) >= 2 and words[0].lower() == UNSUBSCRIBE_WORD:
        return cleaned
    return None


def read_returned(raw: bytes) -> Returned:
    """What a message from the return mailbox is: its bounce failures, an unsubscribe, or
    something for a person to read (a malformed message included, with the problem)."""
    try:
        message = email.message_from_bytes(raw, policy=policy.compat32)
        subject = " ".join(str(message.get("Subject") or "").split())
        text = _text(message)
        failures = _failures(message, text)
    except Exception as exc:
        return Returned(_key(None, raw), "other", problem=f"unreadable: {exc}"[:300])
    key = _key(message, raw)
    if failures:
        return Returned(
            key,
            "bounce",
            tuple(failures),
            original_message_id=_original_id(message, text),
            subject=subject,
            sent_at=_date(message),
        )
    unsubscribe = unsubscribe_subject(subject)
    if unsubscribe is not None:
        return Returned(key, "unsubscribe", subject=unsubscribe)
    return Returned(key, "other", subject=subject)
