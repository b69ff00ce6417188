"""What each kind of email looks like and what its delivery changes elsewhere.

The mail package knows nothing of campaigns: areas that send mail register, per message
kind, a renderer (which builds the message at send time and may mint tokens) and hooks
called when the message is accepted or fails for good.

A kind sent in bulk (invitations and reminders) may also register ``render_many`` and
``on_sent_many``: the worker then renders a whole batch from a few queries and records
its outcomes in a few statements, instead of a round of queries per message. Such a
renderer builds the bytes itself with :func:`alternative` (an ``EmailMessage`` costs
about 4 ms of CPU to build and flatten, several times the SMTP exchange itself), into an
:class:`Outgoing`: the envelope and the bytes the server receives.
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.charset import Charset
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr
from functools import lru_cache
from typing import NamedTuple

from surveyapp.mail.models import OutboxMessage
from surveyapp.vocabulary import MessageKind


class Undeliverable(Exception):
    """The message must not be sent any more (e.g. its invitations were all revoked)."""


@dataclass(frozen=True)
class Outgoing:
    """An email ready for the SMTP server: the envelope and the message's bytes (CRLF)."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes


# What a renderer gives the worker: an email to flatten and send, or its bytes.
Rendered = EmailMessage | Outgoing


@dataclass(frozen=True)
class Sent:
    """An accepted message as ``on_sent_many`` sees it: what was read when it was claimed
    and the time the server accepted it (no outbox row is loaded again to record it)."""

    id: int
    kind: MessageKind
    message_id: str
    invitation_ids: tuple[int, ...]
    sent_at: datetime


class BatchRendering(NamedTuple):
    """What ``render_many`` gives back: per message (in the order given) its email or the
    exception that stops it (:class:`Undeliverable` cancels it, anything else fails it for
    good), and a function that writes what the rendering minted (token hashes). The worker
    renders inside a reading transaction and calls ``save`` in a short writing one, before
    anything is sent."""

    results: list[Rendered | Exception]
    save: Callable[[], None]


@dataclass(frozen=True)
class Delivery:
    """How to render one kind of message and what to do after sending it."""

    render: Callable[[OutboxMessage], Rendered]
    on_sent: Callable[[OutboxMessage], None]
    on_failed: Callable[[OutboxMessage, str], None]
    # Optional batch forms of render and on_sent (see the module's docstring): they must
    # not issue queries per message.
    render_many: Callable[[list[OutboxMessage]], BatchRendering] | None = None
    on_sent_many: Callable[[list[Sent]], None] | None = None


DELIVERIES: dict[MessageKind, Delivery] = {}


def register(kind: MessageKind, delivery: Delivery) -> None:
    """Say how messages of a kind are rendered and what their delivery changes."""
    DELIVERIES[kind] = delivery


def delivery_for(kind: MessageKind) -> Delivery:
    """The registered delivery of a kind; KeyError names a kind no area registered."""
    return DELIVERIES[kind]


# Composing a multipart/alternative message by hand -----------------------------------

# The longest line the email package writes, which the composer keeps to as well.
MAX_LINE = 78
# The longest encoded word RFC 2047 allows.
MAX_ENCODED_WORD = 75
_UTF8 = Charset("utf-8")


@lru_cache(maxsize=256)
def header_text(name: str, value: str) -> str:
    """An unstructured header's value (a subject) as it goes on the wire: folded, and in
    RFC 2047 encoded words when it is not plain ASCII. The value must be one line. Cached:
    a campaign's emails mostly share their subject."""
    if value.isascii() and len(name) + 2 + len(value) <= MAX_LINE:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


def address(name: str, mailbox: str) -> str:
    """A mailbox with its display name (``Ann Example <ann@example.org>``), the name
    quoted or encoded as RFC 5322 and 2047 require; the mailbox must be ASCII.

    A name that is not ASCII goes in one encoded word, or in several of at most 75
    characters each, cut before a space that then begins the next word: RFC 2047 readers
    join adjacent encoded words without the folding between them. (Python's address
    parser wrongly keeps that folding as a second space; the email package's own folding
    of such names is worse: it cuts inside words and can unbalance parentheses.)"""
    if not name or name.isascii():
        return formataddr((name, mailbox))
    chunks = [""]
    for number, word in enumerate(name.split(" ")):
        piece = f" {word}" if number else word
        if chunks[-1] and len(_UTF8.header_encode(chunks[-1] + piece)) > MAX_ENCODED_WORD:
            chunks.append(piece)
        else:
            chunks[-1] += piece
    return "\r\n ".join(_UTF8.header_encode(chunk) for chunk in chunks) + f" <{mailbox}>"


def _body(text: str) -> tuple[str, bytes]:
    """A text part's Content-Transfer-Encoding and its encoded lines (CRLF), chosen as the
    email package chooses: 7bit for short ASCII lines, else the shorter of
    quoted-printable and base64 (never raw 8bit, which a relay may refuse)."""
    raw = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    lines = raw.split(b"\n")
    if raw.isascii() and max(map(len, lines)) <= MAX_LINE:
        return "7bit", raw.replace(b"\n", b"\r\n")
    quoted = binascii.b2a_qp(raw, istext=True).replace(b"\n", b"\r\n")
    if len(quoted) > len(raw) * 4 // 3 + 8:
        encoded = binascii.b2a_base64(raw, newline=False)
        return "base64", b"".join(
            encoded[start : start + 76] + b"\r\n" for start in range(0, len(encoded), 76)
        )
    return "quoted-printable", quoted


def alternative(headers: Sequence[tuple[str, str]], text: str, html: str) -> bytes:
    """A multipart/alternative message (plain text, then HTML, both UTF-8) as the bytes an
    SMTP server receives. ``headers`` are names and values ready for the wire: ASCII, one
    line or folded with CRLF and a space (see :func:`header_text` and :func:`address`)."""
    text_encoding, text_body = _body(text)
    html_encoding, html_body = _body(html)
    boundary = f"==============={secrets.randbits(63):019d}=="
    while boundary.encode() in text_body or boundary.encode() in html_body:
        boundary = f"==============={secrets.randbits(63):019d}=="
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return b"".join(
        (
            head.encode("ascii"),
            b"MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode(),
            f"--{boundary}\r\n".encode(),
            b'Content-Type: text/plain; charset="utf-8"\r\n',
            f"Content-Transfer-Encoding: {text_encoding}\r\n\r\n".encode(),
            text_body,
            f"\r\n--{boundary}\r\n".encode(),
            b'Content-Type: text/html; charset="utf-8"\r\n',
            f"Content-Transfer-Encoding: {html_encoding}\r\n\r\n".encode(),
            html_body,
            f"\r\n--{boundary}--\r\n".encode(),
        )
    )
