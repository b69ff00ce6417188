"""Mail benchmark: the outbox worker against the mail ceiling of this machine.

Queues N invitations, sends them through the worker (``send_pending``, which renders each
email, mints its link token and records the outcome) to a local aiosmtpd sink, then, in the
same run and to the same sink, sends N pre-rendered messages with a plain smtplib loop over
one connection: the ceiling. Prints both rates and their ratio; asserts nothing.

    python benchmarks/mail.py --messages 10000
    python benchmarks/mail.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from sqlalchemy import insert, text

import config
from surveyapp import create_app
from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Contact
from surveyapp.extensions import db
from surveyapp.mail.service import send_pending


class Sink:
    """An SMTP handler that accepts and counts every message."""

    def __init__(self) -> None:
        self.accepted = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.accepted += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    """Queue, send through the worker, send the ceiling, print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as workdir:

            class BenchConfig(config.Config):
                SQLALCHEMY_DATABASE_URI = args.database_url or f"sqlite:///{workdir}/mail.sqlite"
                MAIL_SERVER = "127.0.0.1"
                MAIL_PORT = port
                MAIL_BATCH_SIZE = 200

            app = create_app(BenchConfig)
            with app.app_context():
                if db.engine.dialect.name == "postgresql":
                    with db.engine.begin() as connection:
                        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                upgrade()
                now = datetime.now(UTC)
                db.session.execute(
                    insert(Contact),
                    [
                        {
                            "email": f"person{n}@example.org",
                            "name": f"Person {n}",
                            "language": "en",
                            "active": True,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for n in range(args.messages)
                    ],
                )
                campaign = campaigns.create_campaign(
                    "Mail benchmark",
                    date.today() + timedelta(days=30),  # noqa: DTZ011 - a calendar day
                    actor="benchmark",
                )
                start = time.perf_counter()
                report = campaigns.invite(campaign, actor="benchmark")
                db.session.commit()
                queued = time.perf_counter() - start
                print(
                    f"{db.engine.dialect.name}: queued {report.emails} invitations "
                    f"in {queued:.1f} s"
                )
                start = time.perf_counter()
                sent = 0
                while True:
                    result = send_pending()
                    sent += result.sent
                    if not result.sent:
                        break
                worker = time.perf_counter() - start
        ceiling_messages = []
        for n in range(args.messages):
            message = EmailMessage()
            message["From"] = "registry@example.org"
            message["To"] = f"person{n}@example.org"
            message["Subject"] = "Please update your registry entry"
            message.set_content("Dear colleague,\n\nplease answer: http://127.0.0.1/i/x\n")
            ceiling_messages.append(message)
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for message in ceiling_messages:
                smtp.send_message(message)
        ceiling = time.perf_counter() - start
    finally:
        controller.stop()
    worker_rate = sent / worker if worker else 0.0
    ceiling_rate = args.messages / ceiling if ceiling else 0.0
    print(f"  worker:  {sent} sent in {worker:.1f} s = {worker_rate:,.0f} messages/s")
    print(
        f"  ceiling: {args.messages} sent in {ceiling:.1f} s = {ceiling_rate:,.0f} messages/s "
        "(pre-rendered, smtplib, one connection)"
    )
    print(f"  worker / ceiling = {worker_rate / ceiling_rate:.2f}")
    print(f"  the sink accepted {sink.accepted} messages")


if __name__ == "__main__":
    main()
