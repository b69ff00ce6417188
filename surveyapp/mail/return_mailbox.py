"""The return mailbox over IMAP with TLS: where bounces and emailed unsubscribes arrive.

Coordinators should not have to export mbox files by hand: the mailbox is read where it
is (``MAILBOX_URL``, ``MAILBOX_USERNAME``, ``MAILBOX_PASSWORD``, ``MAILBOX_FOLDER``),
through IMAPClient. A message read is moved, never deleted: to the processed folder, or
to the folder for a person to read when it is neither a bounce nor an unsubscribe. This
module only moves messages; what they mean is decided by
:mod:`surveyapp.campaigns.returned_mail`.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

IMAPS_PORT = 993


class MailboxUnavailable(Exception):
    """The return mailbox cannot be reached or refuses the login; says which."""


@dataclass(frozen=True)
class MailboxSettings:
    """Where the return mailbox is and how to log in (from the application's config)."""

    host: str
    port: int
    username: str
    password: str
    folder: str
    processed_folder: str
    to_read_folder: str
    ca_file: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Any) -> MailboxSettings | None:
        """The settings, or None when ``MAILBOX_URL`` names no mailbox."""
        url = config.get("MAILBOX_URL")
        if not url:
            return None
        parts = urlsplit(url if "://" in url else f"imaps://{url}")
        if parts.scheme != "imaps" or not parts.hostname:
            raise MailboxUnavailable(f"MAILBOX_URL must be imaps://host[:port], not {url!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or IMAPS_PORT,
            username=config.get("MAILBOX_USERNAME") or "",
            password=config.get("MAILBOX_PASSWORD") or "",
            folder=config.get("MAILBOX_FOLDER") or "INBOX",
            processed_folder=config.get("MAILBOX_PROCESSED_FOLDER") or "processed",
            to_read_folder=config.get("MAILBOX_TO_READ_FOLDER") or "to read",
            ca_file=config.get("MAILBOX_CA_FILE") or None,
            timeout=float(config.get("MAILBOX_TIMEOUT") or 30),
        )


class ReturnMailbox:
    """One session with the return mailbox: ``with ReturnMailbox(settings) as box``."""

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings
        self._client: IMAPClient | None = None

    def __enter__(self) -> ReturnMailbox:
        context = ssl.create_default_context(cafile=self.settings.ca_file)
        where = f"{self.settings.host}:{self.settings.port}"
        try:
            client = IMAPClient(
                self.settings.host,
                port=self.settings.port,
                ssl=True,
                ssl_context=context,
                timeout=self.settings.timeout,
            )
        except (TimeoutError, OSError, IMAPClientError) as exc:
            raise MailboxUnavailable(f"cannot reach the return mailbox at {where}: {exc}") from exc
        try:
            client.login(self.settings.username, self.settings.password)
            for name in (self.settings.processed_folder, self.settings.to_read_folder):
                if not client.folder_exists(name):
                    client.create_folder(name)
            client.select_folder(self.settings.folder)
        except (OSError, IMAPClientError) as exc:
            client.shutdown()
            raise MailboxUnavailable(
                f"the return mailbox at {where} refused {self.settings.username!r}: {exc}"
            ) from exc
        self._client = client
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client is not None:
            try:
                self._client.logout()
            except (OSError, IMAPClientError):
                self._client.shutdown()
            self._client = None

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise MailboxUnavailable("the return mailbox is not open")
        return self._client

    def waiting(self, batch: int = 50) -> Iterator[tuple[int, bytes]]:
        """The messages in the folder, oldest first, as (uid, bytes), fetched ``batch`` at
        a time."""
        uids = sorted(self.client.search(["ALL"]))
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            fetched = self.client.fetch(chunk, ["BODY.PEEK[]"])
            for uid in chunk:
                data = fetched.get(uid)
                if data and b"BODY[]" in data:
                    yield uid, data[b"BODY[]"]

    def file_away(self, uid: int, *, to_read: bool) -> None:
        """Move a message read to the processed folder, or to the folder for a person to
        read; a message another reader moved first is left alone."""
        folder = self.settings.to_read_folder if to_read else self.settings.processed_folder
        try:
            if self.client.has_capability("MOVE"):
                self.client.move([uid], folder)
            else:
                self.client.copy([uid], folder)
                self.client.delete_messages([uid])
                self.client.uid_expunge([uid])
        except IMAPClientError:
            return
