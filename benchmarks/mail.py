"""Mail benchmark: the outbox worker, alone and two at once, against the mail ceiling.

The SMTP sink (aiosmtpd) runs in a process of its own, so it shares no interpreter lock
with what is measured; it counts every message it accepts and the distinct Message-IDs.
In one run, on this machine:

1. the ceiling: a plain smtplib loop over one connection sending N pre-rendered messages
   (bytes, the size and shape of an invitation) to the sink;
2. one worker: N invitations queued on a fresh database, then one process running
   ``send_pending`` (what ``flask mail worker`` runs) until the outbox is empty: it renders
   each email, mints its link token and records the outcome;
3. two workers: the same on a fresh queue of N, with two worker processes at once;
4. the ceiling again; the better of its two rates is the one compared with.

Each ratio is the workers' messages per second over the ceiling's. After each phase the
sink's count must equal the number sent, with no Message-ID twice, and every outbox row
must be sent: it prints that check. Prints the figures; asserts nothing. Ends with one
line ``RESULT mail_ratio_1=... mail_ratio_2=... ...``.

    python benchmarks/mail.py                       # SQLite, 10,000 messages
    python benchmarks/mail.py --messages 2000
    python benchmarks/mail.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mailbench
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import re
import smtplib
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, make_msgid
from multiprocessing.connection import Connection
from typing import Any

import config

MESSAGE_ID = re.compile(rb"(?im)^Message-ID:[ \t]*(<[^>\r\n]*>)")


class Sink:
    """An SMTP handler that accepts every message and counts them and their Message-IDs."""

    def __init__(self) -> None:
        self.accepted = 0
        self.size = 0
        self.message_ids: set[bytes] = set()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.accepted += 1
        self.size += len(envelope.content)
        found = MESSAGE_ID.search(envelope.content)
        if found:
            self.message_ids.add(found.group(1))
        return "250 OK"


def run_sink(port: int, commands: Connection) -> None:
    """The sink's process: serve SMTP on ``port`` and answer the parent's commands
    (``count`` gives accepted, distinct Message-IDs, their bytes and the process's CPU
    seconds; ``reset``; ``stop``)."""
    from aiosmtpd.controller import Controller

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    commands.send("ready")
    try:
        while True:
            command = commands.recv()
            if command == "count":
                commands.send(
                    (sink.accepted, len(sink.message_ids), sink.size, time.process_time())
                )
            elif command == "reset":
                sink.accepted = sink.size = 0
                sink.message_ids.clear()
                commands.send("reset")
            else:
                return
    finally:
        controller.stop()


class SinkProcess:
    """The parent's handle on the sink's process."""

    def __init__(self, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.commands, child = context.Pipe()
        self.process = context.Process(target=run_sink, args=(port, child), daemon=True)
        self.process.start()
        if self.commands.recv() != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def count(self) -> tuple[int, int, int, float]:
        """Messages accepted, distinct Message-IDs, their bytes, the sink's CPU seconds."""
        self.commands.send("count")
        return self.commands.recv()

    def reset(self) -> None:
        """Forget what was counted."""
        self.commands.send("reset")
        self.commands.recv()

    def stop(self) -> None:
        """End the sink's process."""
        self.commands.send("stop")
        self.process.join(timeout=10)


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Settings:
    """What the benchmark's processes share (passed to spawned workers)."""

    database_url: str
    port: int
    batch_size: int | None


def app_for(settings: Settings) -> Any:
    """The application, configured for the benchmark's database and sink."""
    from surveyapp import create_app

    class BenchConfig(config.Config):
        SQLALCHEMY_DATABASE_URI = settings.database_url
        MAIL_SERVER = "127.0.0.1"
        MAIL_PORT = settings.port
        MAIL_BATCH_SIZE = settings.batch_size or config.Config.MAIL_BATCH_SIZE

    return create_app(BenchConfig)


def fresh_queue(settings: Settings, messages: int) -> float:
    """Build an empty database, queue ``messages`` invitations; the seconds queueing took."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from surveyapp.campaigns import service as campaigns
    from surveyapp.campaigns.models import Contact
    from surveyapp.extensions import db

    app = app_for(settings)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        logging.disable(logging.INFO)
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
                for n in range(messages)
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
        if report.emails != messages:
            raise RuntimeError(f"queued {report.emails} emails, not {messages}")
        db.session.remove()
        db.engine.dispose()
    return queued


def outbox_statuses(settings: Settings) -> dict[str, int]:
    """How many outbox rows are in each status."""
    from sqlalchemy import func, select

    from surveyapp.extensions import db
    from surveyapp.mail.models import OutboxMessage

    app = app_for(settings)
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return {status.value: count for status, count in rows}


def run_worker(settings: Settings, ready: Any, go: Any, results: Any) -> None:
    """One worker's process: wait for the start, send until nothing is due, report the
    messages sent and the CPU seconds it used."""
    from surveyapp.extensions import db
    from surveyapp.mail.service import send_pending

    app = app_for(settings)
    with app.app_context():
        db.session.execute(db.select(1))  # connect before the clock starts
        db.session.rollback()
        ready.release()
        go.wait()
        cpu = time.process_time()
        report = send_pending()
        results.put((report.sent, report.retrying + report.failed, time.process_time() - cpu))
        db.session.remove()


def workers(settings: Settings, count: int) -> tuple[float, int, int, float]:
    """Run ``count`` worker processes at once on the queue; seconds, messages sent, not
    sent, and CPU seconds per message."""
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    processes = [
        context.Process(target=run_worker, args=(settings, ready, go, results))
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    reports = [results.get() for _ in processes]
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join()
    sent = sum(report[0] for report in reports)
    cpu = sum(report[2] for report in reports)
    return elapsed, sent, sum(report[1] for report in reports), cpu / max(sent, 1)


def ceiling_messages(messages: int) -> list[tuple[str, str, bytes]]:
    """N messages of an invitation's size and shape (the default texts, both footers, the
    same headers), flattened to bytes beforehand."""
    from surveyapp.campaigns import templates
    from surveyapp.mail.delivery import address, alternative

    link = "http://127.0.0.1:5000/i/" + "x" * 43
    context = dict(templates.SAMPLE, link=link)
    text = templates.render(templates.DEFAULTS["invitation_text"], context, html=False)
    html = templates.render(templates.DEFAULTS["invitation_html"], context, html=True)
    footer = "You received this because you were invited to the Mail benchmark survey."
    text += f"\n--\n{footer} To stop these emails: {link}/opt-out\n"
    html += f'<hr><p style="font-size:small">{footer} <a href="{link}/opt-out">Stop.</a></p>'
    prepared = []
    for n in range(messages):
        headers = [
            ("Subject", templates.DEFAULTS["invitation_subject"]),
            ("From", "ATMP facility registry <registry@example.org>"),
            ("To", address(f"Person {n}", f"person{n}@example.org")),
            ("Message-ID", make_msgid(domain="example.org")),
            ("Date", format_datetime(datetime.now(UTC))),
            (
                "List-Unsubscribe",
                f"<mailto:registry@example.org?subject=unsubscribe%20{'y' * 32}>,\r\n"
                f" <{link}/unsubscribe>",
            ),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Auto-Submitted", "auto-generated"),
        ]
        data = alternative(headers, text, html)
        prepared.append(("registry@example.org", f"person{n}@example.org", data))
    return prepared


def ceiling(port: int, prepared: list[tuple[str, str, bytes]]) -> float:
    """Seconds a plain smtplib loop takes to send the prepared messages over one
    connection."""
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for sender, recipient, data in prepared:
            smtp.sendmail(sender, [recipient], data)
    return time.perf_counter() - start


def check(sink: SinkProcess, expected: int, label: str) -> tuple[int, float]:
    """Print whether the sink got exactly the messages sent; its CPU seconds so far."""
    accepted, distinct, size, cpu = sink.count()
    verdict = "ok" if accepted == distinct == expected else "MISMATCH"
    print(
        f"  {label}: the sink accepted {accepted} messages of {size // max(accepted, 1):,} "
        f"bytes on average, {distinct} distinct Message-IDs, {expected} sent: {verdict}"
    )
    sink.reset()
    return accepted, cpu


def main() -> None:
    """Measure the ceiling, one worker, two workers and the ceiling again; print them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=200,
        help="MAIL_BATCH_SIZE, messages a worker claims at once (200, as before; 0: the config's)",
    )
    args = parser.parse_args()
    port = free_port()
    sink = SinkProcess(port)
    mismatches = 0
    try:
        with tempfile.TemporaryDirectory() as workdir:
            prepared = ceiling_messages(args.messages)
            size = sum(len(data) for *_, data in prepared) // len(prepared)
            first = ceiling(port, prepared)
            accepted, _cpu = check(sink, args.messages, "ceiling")
            mismatches += accepted != args.messages
            rates: dict[int, float] = {}
            cpu_per_message: dict[int, float] = {}
            for count in (1, 2):
                settings = Settings(
                    args.database_url or f"sqlite:///{workdir}/mail-{count}.sqlite",
                    port,
                    args.batch_size,
                )
                queued = fresh_queue(settings, args.messages)
                sink_cpu_before = sink.count()[3]
                elapsed, sent, unsent, cpu = workers(settings, count)
                accepted, sink_cpu = check(sink, sent, f"{count} worker(s)")
                statuses = outbox_statuses(settings)
                complete = statuses == {"sent": args.messages} and sent == args.messages
                mismatches += accepted != sent or not complete
                rates[count] = sent / elapsed
                cpu_per_message[count] = cpu
                print(
                    f"  {count} worker(s): queued {args.messages} in {queued:.1f} s; sent "
                    f"{sent} ({unsent} not) in {elapsed:.2f} s = {rates[count]:,.0f} messages/s"
                    f"; worker CPU {cpu * 1000:.2f} ms/message, sink CPU "
                    f"{(sink_cpu - sink_cpu_before) * 1000 / max(sent, 1):.2f} ms/message; "
                    f"outbox {statuses}"
                )
            second = ceiling(port, prepared)
            accepted, _cpu = check(sink, args.messages, "ceiling again")
            mismatches += accepted != args.messages
    finally:
        sink.stop()
    dialect = (args.database_url or "sqlite").split(":")[0].split("+")[0]
    best = min(first, second)
    ceiling_rate = args.messages / best
    print(
        f"{dialect}, {args.messages} messages of about {size:,} bytes, batches of "
        f"{args.batch_size or config.Config.MAIL_BATCH_SIZE}, {multiprocessing.cpu_count()} CPUs"
    )
    print(
        f"  ceiling: {args.messages / first:,.0f} then {args.messages / second:,.0f} "
        "messages/s (pre-rendered bytes, smtplib, one connection); the better is used"
    )
    for count, rate in rates.items():
        print(f"  {count} worker(s): {rate:,.0f} messages/s = {rate / ceiling_rate:.2f} of it")
    print(f"  deliveries checked: {'all exact' if not mismatches else 'MISMATCHES'}")
    print(
        f"RESULT mail_ratio_1={rates[1] / ceiling_rate:.3f} "
        f"mail_ratio_2={rates[2] / ceiling_rate:.3f} ceiling_per_s={ceiling_rate:.0f} "
        f"worker_1_per_s={rates[1]:.0f} worker_2_per_s={rates[2]:.0f} "
        f"worker_cpu_ms={cpu_per_message[1] * 1000:.2f} exact={int(not mismatches)}"
    )


if __name__ == "__main__":
    main()
