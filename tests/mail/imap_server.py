"""A real IMAP server for the return-mailbox tests: Debian's Dovecot, started with a
throwaway configuration, certificate and maildir in a temporary folder (nothing changes
on the system), serving IMAP over TLS on a free local port."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
USER, PASSWORD = "returns", "return-secret"
# Dovecot refuses to deliver to root: as root, the mail belongs to nobody.
MAIL_UID = os.getuid() or 65534


@dataclass(frozen=True)
class ImapServer:
    """A running Dovecot: where it listens, its login and its certificate (the CA)."""

    port: int
    ca_file: str

    def config(self) -> dict[str, object]:
        """The application's settings for this mailbox."""
        return {
            "MAILBOX_URL": f"imaps://127.0.0.1:{self.port}",
            "MAILBOX_USERNAME": USER,
            "MAILBOX_PASSWORD": PASSWORD,
            "MAILBOX_FOLDER": "INBOX",
            "MAILBOX_CA_FILE": self.ca_file,
            "MAILBOX_TIMEOUT": 5,
        }

    @contextmanager
    def client(self) -> Iterator[IMAPClient]:
        """A session of the test's own, to put messages in and look at the folders."""
        context = ssl.create_default_context(cafile=self.ca_file)
        with IMAPClient("127.0.0.1", port=self.port, ssl=True, ssl_context=context) as client:
            client.login(USER, PASSWORD)
            yield client

    def empty(self) -> None:
        """Delete every message of every folder (between tests)."""
        with self.client() as client:
            for _flags, _delimiter, name in client.list_folders():
                client.select_folder(name)
                found = client.search(["ALL"])
                if found:
                    client.delete_messages(found)
                    client.expunge()

    def count(self, folder: str) -> int:
        with self.client() as client:
            if not client.folder_exists(folder):
                return 0
            return int(client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])

    def deliver(self, *messages: bytes) -> None:
        with self.client() as client:
            for message in messages:
                client.append("INBOX", message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _configuration(root: Path, port: int) -> str:
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
first_valid_uid = {MAIL_UID}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
"""


@contextmanager
def running_dovecot(root: Path) -> Iterator[ImapServer]:
    """Start Dovecot in ``root``; stop it afterwards."""
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    certificate = ["-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")]
    subprocess.run(  # noqa: S603 - a fixed command line
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *certificate,
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    os.chown(root / "mail", MAIL_UID, MAIL_UID)
    port = _free_port()
    (root / "dovecot.conf").write_text(_configuration(root, port))
    process = subprocess.Popen(  # noqa: S603 - a fixed command line
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = root / "dovecot.log"
                    raise RuntimeError(
                        "Dovecot did not start: " + (log.read_text() if log.exists() else "")
                    ) from None
                time.sleep(0.1)
        yield ImapServer(port, str(root / "cert.pem"))
    finally:
        process.terminate()
        process.wait(timeout=10)
