"""Load benchmark: surveyapp under gunicorn against the framework's ceilings, in one run.

Generates Table 1, a campaign with links to an institution with three entries (Table 1
rows 9-11, as benchmarks/questionnaire.py) and submissions to review, then serves the app
and benchmarks/ceiling_app.py with the same gunicorn settings (``--workers``, 2 on this
2-core machine). The ceiling app has two endpoints: a bare Flask one (``ok``) and one
sending, from memory, the bytes of a real questionnaire GET captured at start, so the
questionnaire's distance from the bare endpoint splits into what rendering the page costs
(real page against the same bytes from memory) and what sending its size costs.

Closed loop: ``--clients`` people each send one request after another without pause, for
``--phase-seconds`` after a ``--warm-up`` not counted. Every step has its own phase: the
questionnaire GET (the same fresh links again and again: opening a link changes nothing,
the invitation counts as opened at the first action), a save of a section, a submit
(each through a fresh link), the review queue, and an approval (each of a submission
whose review page was opened before the phase); and so has each ceiling. A round runs
every phase once, the next round in the reverse order, ``--rounds`` rounds; each step's
rate is divided by the bare endpoint's rate of the same round and the median over the
rounds is reported.

Think time: ``--respondents`` people (32) each open a fresh link's questionnaire, save a
section and submit, pausing ``--think`` seconds (1) after every answer, for
``--think-seconds``; p95 of the questionnaire GET is ``p95_ms``.

Background work: none by default, so that the ratios compare the requests alone. With
``--background``, two mail workers (sending to an aiosmtpd sink) and benchmarks/
load_background.py (curators approving, pausing between answers, and a steady flow of
reminders into the outbox) run from before the first phase to after the last, beside the
app's phases and the ceilings' alike. The submit phases queue confirmations too, which
the workers send during the phases that follow (the order alternates, so each phase gets
its share).

The client (benchmarks/load_client.py: blocking sockets, a thread per person) reports its
own CPU per phase as a share of one core, the servers' CPU milliseconds per request
(gunicorn workers, from /proc) and the cores busy with anything else (PostgreSQL's own
processes, background work, other work on the machine: a busy machine shows there).
Prints a line per phase, a table per step and one line ``RESULT get_ratio=`` (the
questionnaire GET's rate over the bare endpoint's, closed loop) ``p95_ms=`` (the GET's
p95 with think time) ``memory_ratio=`` (the GET over the same bytes from memory), the
other steps' ratios, the rates, ``get_server_cpu_ms``, ``client_cpu_share`` (the client's
CPU in its busiest phase, as a share of one core), ``other_cores`` (the median over the
phases of cores busy with anything else: near 0 on a quiet machine with SQLite),
``get_cpu_ratio`` (the bare endpoint's server CPU per request over the GET's, same round:
the ratio the servers' own cost implies, which others' work on the machine hardly moves)
and ``background``. Asserts nothing.

    python benchmarks/load.py                       # SQLite, about 3.5 minutes
    python benchmarks/load.py --background
    python benchmarks/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/loadbench

The PostgreSQL run drops and recreates the public schema of that database.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import count
from pathlib import Path
from typing import Any, TypeVar

from flask_migrate import upgrade
from load_background import CURATOR_PASSWORD, curator_email
from load_client import (
    CSRF,
    Act,
    Phase,
    Samples,
    Session,
    closed_loop,
    descendants,
    log_in,
    think_time_loop,
    wait_for,
)
from sqlalchemy import delete, func, select, text

import config
from surveyapp import create_app
from surveyapp.auth.service import create_user
from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.mail.models import OutboxMessage
from surveyapp.paths import PROJECT_ROOT
from surveyapp.questionnaire import service as questionnaire
from surveyapp.registry.importer import import_table1
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import LinkStatus, Role

sys.path.insert(0, str(PROJECT_ROOT))
from tests.forms import form_values  # the tests' reader of HTML forms

LOG = open(os.environ.get("LOAD_LOG", os.devnull), "a")  # noqa: SIM115 - servers log here
HOST = "127.0.0.1"
THREE_ENTRIES_ROW = 9  # Table 1 row of an institution with three entries
BARE, MEMORY, GET = "bare endpoint", "questionnaire from memory", "questionnaire GET"
SAVE, SUBMIT, QUEUE, APPROVE = "save a section", "submit", "open the queue", "approve"
# Every phase of a round in order, with the status each request should answer.
EXPECTED = {BARE: 200, GET: 200, MEMORY: 200, SAVE: 200, SUBMIT: 302, QUEUE: 200, APPROVE: 302}
Made = TypeVar("Made")
BACKGROUND_CURATORS, BACKGROUND_REVIEWS, MAIL_INVITATIONS = 2, 100, 50


@dataclass
class Prepared:
    """What the phases use up or read: link tokens by use, submissions to approve."""

    get: list[str] = field(default_factory=list)
    save: list[str] = field(default_factory=list)
    submit: list[str] = field(default_factory=list)
    think: list[str] = field(default_factory=list)
    reviews: list[int] = field(default_factory=list)
    background_reviews: list[int] = field(default_factory=list)
    mail_invitations: list[int] = field(default_factory=list)


def prepare(url: str, sizes: dict[str, int], curators: int) -> Prepared:
    """Table 1, curator accounts, a campaign, link tokens to the three-entry institution
    (``sizes`` says how many for each use), and submitted new institutions to approve.
    The outbox is emptied at the end, so mail workers start from nothing."""

    class Setup(config.Config):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Setup)
    prepared = Prepared()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        import_table1(actor="benchmark")
        for number in range(curators):
            create_user(
                curator_email(number),
                [Role.CURATOR],
                actor="benchmark",
                password=CURATOR_PASSWORD,
            )
        campaign = campaigns.create_campaign(
            "Load benchmark",
            date.today() + timedelta(days=30),  # noqa: DTZ011 - a calendar day
            actor="benchmark",
        )
        institution = db.session.scalars(
            select(Entry).where(Entry.source_row == THREE_ENTRIES_ROW)
        ).one()
        groups: dict[str, list[int]] = {}
        for use, size in sizes.items():
            for number in range(size):
                contact, _ = campaigns.upsert_contact(
                    f"{use}{number}@example.org", source="benchmark"
                )
                if use in ("get", "save", "submit", "think"):
                    campaigns.link_contact(
                        contact, institution.institution, LinkStatus.CONFIRMED, actor="benchmark"
                    )
                groups.setdefault(use, []).append(contact.id)
        campaigns.invite(campaign, actor="benchmark")
        for use, ids in groups.items():
            invitations = list(
                db.session.scalars(
                    select(Invitation).where(Invitation.contact_id.in_(ids)).order_by(Invitation.id)
                )
            )
            if use in ("reviews", "background_reviews"):
                getattr(prepared, use).extend(submitted(i) for i in invitations)
            elif use == "mail_invitations":
                prepared.mail_invitations.extend(i.id for i in invitations)
            else:
                getattr(prepared, use).extend(campaigns.mint_token(i) for i in invitations)
        db.session.execute(delete(OutboxMessage))
        db.session.commit()
        db.engine.dispose()
    return prepared


def submitted(invitation: Invitation) -> int:
    """Submit a new institution through ``invitation``; its submission's id."""
    submission = questionnaire.submission_for(invitation)
    answers = {
        "institution": {"institution": f"Centre {invitation.id}", "country": "DE"},
        "entries": [{"entry_id": None, "active": True, "fields": {}}],
    }
    questionnaire.submit(
        submission,
        invitation,
        answers,
        submit_key=f"k{invitation.id}",
        consent_store=True,
        consent_publish=False,
    )
    db.session.flush()
    return submission.id


def start(command: list[str], env: dict[str, str], output: Any = subprocess.DEVNULL) -> Any:
    """A server or worker of the benchmark, its errors to LOAD_LOG."""
    return subprocess.Popen(command, env=env, stdout=output, stderr=LOG)  # noqa: S603


class Respondent:
    """A person answering through links to the three-entry institution: their session and
    the form as the questionnaire shows it (read once; each link of that institution
    shows the same fields, and the CSRF token belongs to the session)."""

    def __init__(self, port: int, token: str, template: dict[str, object] | None) -> None:
        self.session = Session(HOST, port)
        page = self.session.request("GET", f"/i/{token}/form")
        if page.status != 200:
            raise SystemExit(f"the questionnaire answered {page.status}")
        html = page.body.decode()
        self.page = page.body
        self.values = dict(template) if template else form_values(html, "/form")
        csrf = CSRF.search(html)
        self.values["csrf_token"] = csrf.group(1) if csrf else ""
        self.saves = count()

    def get(self, token: str) -> int:
        """Open the questionnaire of a link."""
        return self.session.request("GET", f"/i/{token}/form").status

    def save(self, token: str) -> int:
        """Save the first section, its name changed each time (so every save stores)."""
        form = {
            **self.values,
            "institution_block-institution": f"Load test centre {next(self.saves) % 2}",
            "institution_block-country": "DE",
            "save": "section",
        }
        return self.session.request("POST", f"/i/{token}/form", form).status

    def submit(self, token: str) -> int:
        """Submit the form as shown, with consent, as one fresh rendering of it."""
        form = {
            **self.values,
            "consent_store": "y",
            "submit": "y",
            "submit_key": secrets.token_urlsafe(16),
        }
        return self.session.request("POST", f"/i/{token}/form", form).status


def one_each(links: list[str], do: Callable[[str], int]) -> Act:
    """An act using up one link each time (None when none is left)."""

    def act() -> int | None:
        try:
            token = links.pop()
        except IndexError:
            return None
        return do(token)

    return act


def approvals(curator: Session, reviews: list[int]) -> Act:
    """Open each submission's review page now; the act approves one of them each time."""
    pages = []
    for review in reviews:
        page = curator.request("GET", f"/staff/review/{review}")
        pages.append((review, form_values(page.body.decode(), f"/staff/review/{review}/decide")))

    def act() -> int | None:
        if not pages:
            return None
        review, values = pages.pop()
        path = f"/staff/review/{review}/decide"
        return curator.request("POST", path, {**values, "approve": "y"}).status

    return act


def in_threads(calls: list[Callable[[], Made]]) -> list[Made]:
    """Run the calls side by side (each preparing one person's act); their results."""
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def print_phase(label: str, step: str, phase: Phase) -> None:
    """One line per phase, as it ends."""
    samples = phase.samples
    errors = sum(samples.unexpected.values())
    print(
        f"  {label:<8} {step:<26} {samples.rate:8.1f} req/s  p50 {samples.percentile(0.5):7.1f}"
        f"  p95 {samples.percentile(0.95):7.1f} ms  server {phase.server_cpu_ms:6.2f} ms/req"
        f"  client {phase.client_cores:4.2f} core  others {phase.other_cores:4.2f} core"
        + (f"  unexpected {samples.unexpected}" if errors else "")
        + ("  (ran out of work)" if phase.ran_out else ""),
        flush=True,
    )


def median(values: list[float]) -> float:
    """The median, or nan for nothing."""
    return statistics.median(values) if values else float("nan")


def print_tables(phases: dict[str, list[Phase]]) -> dict[str, float]:
    """A table per step: each round, and the median; the median ratio to the bare
    endpoint of the same round. Returns the median ratios."""
    ratios = {}
    bare = [phase.samples.rate for phase in phases[BARE]]
    for step, rounds in phases.items():
        print(f"\n{step}")
        print(
            "  round     req/s  ratio   p50 ms   p95 ms   p99 ms  server ms/req  client core"
            "  other cores  unexpected"
        )
        step_ratios = []
        for number, phase in enumerate(rounds, 1):
            samples = phase.samples
            ratio = samples.rate / bare[number - 1] if bare[number - 1] else float("nan")
            step_ratios.append(ratio)
            print(
                f"  {number:5d} {samples.rate:9.1f} {ratio:6.3f} {samples.percentile(0.5):8.1f}"
                f" {samples.percentile(0.95):8.1f} {samples.percentile(0.99):8.1f}"
                f" {phase.server_cpu_ms:14.2f} {phase.client_cores:12.2f}"
                f" {phase.other_cores:12.2f}  {sum(samples.unexpected.values())}"
            )
        ratios[step] = median(step_ratios)
        print(
            f"  median {median([p.samples.rate for p in rounds]):8.1f} {ratios[step]:6.3f}"
            f" {median([p.samples.percentile(0.5) for p in rounds]):8.1f}"
            f" {median([p.samples.percentile(0.95) for p in rounds]):8.1f}"
            f" {median([p.samples.percentile(0.99) for p in rounds]):8.1f}"
            f" {median([p.server_cpu_ms for p in rounds]):14.2f}"
            f" {median([p.client_cores for p in rounds]):12.2f}"
            f" {median([p.other_cores for p in rounds]):12.2f}"
        )
    return ratios


def main() -> None:
    """Prepare, serve, run the rounds and the think-time phase, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--clients", type=int, default=8, help="people in the closed loop")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--phase-seconds", type=float, default=3.0)
    parser.add_argument("--warm-up", type=float, default=0.5, help="seconds, per phase")
    parser.add_argument("--submits", type=int, default=200, help="fresh links per round")
    parser.add_argument("--approvals", type=int, default=60, help="submissions per round")
    parser.add_argument("--respondents", type=int, default=32, help="in the think-time phase")
    parser.add_argument("--think", type=float, default=1.0, help="seconds after each answer")
    parser.add_argument("--think-seconds", type=float, default=30.0)
    parser.add_argument(
        "--background",
        action="store_true",
        help="two mail workers, reminders flowing and two curators in every phase",
    )
    parser.add_argument("--mail-per-second", type=int, default=10, help="with --background")
    parser.add_argument(
        "--profile",
        default=None,
        help="record the app's gunicorn workers with py-spy (collapsed stacks, waits "
        "included) into this file",
    )
    args = parser.parse_args()
    began = time.monotonic()
    journeys = math.ceil((args.think_seconds + 2 * args.think) / (3 * args.think)) + 1
    sizes = {
        "get": args.clients,
        "save": args.clients,
        "submit": args.submits * args.rounds,
        "think": args.respondents * journeys,
        "reviews": args.approvals * args.rounds,
    }
    if args.background:
        sizes |= {"background_reviews": BACKGROUND_REVIEWS, "mail_invitations": MAIL_INVITATIONS}
    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{Path(workdir) / 'load.sqlite'}"
        prepared = prepare(url, sizes, args.clients + BACKGROUND_CURATORS)
        print(f"prepared in {time.monotonic() - began:.0f} s", flush=True)
        run(args, url, prepared, Path(workdir))
    print(f"finished in {time.monotonic() - began:.0f} s")


def run(args: argparse.Namespace, url: str, prepared: Prepared, workdir: Path) -> None:
    """Start the servers (and background work), measure, stop them, print."""
    app_port, ceiling_port, sink_port = free_ports(3)
    env = {
        **os.environ,
        "SURVEYAPP_CONFIG": "development",
        "DATABASE_URL": url,
        "LINK_RATE_LIMIT": "1000000 per minute",
        "MAIL_SERVER": HOST,
        "MAIL_PORT": str(sink_port),
        "MAIL_WORKER_POLL_SECONDS": "1",
        "FLASK_APP": "surveyapp",
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "--timeout", "120"]
    serve = [*gunicorn, "-b", f"{HOST}:{app_port}", "surveyapp:create_app()"]
    if args.profile:
        spy = ["py-spy", "record", "--subprocesses", "--idle", "--format", "raw"]
        serve = [*spy, "--rate", "200", "-o", args.profile, "--", *serve]
    app_server = start(serve, env)
    processes = [app_server]
    try:
        wait_for(HOST, app_port, "/robots.txt")
        first = Respondent(app_port, prepared.get[0], None)
        page = workdir / "questionnaire.html"
        page.write_bytes(first.page)
        ceiling = start(
            [*gunicorn, "-b", f"{HOST}:{ceiling_port}", "ceiling_app:app"],
            {**env, "PYTHONPATH": str(PROJECT_ROOT / "benchmarks"), "CEILING_PAGE": str(page)},
        )
        processes.append(ceiling)
        wait_for(HOST, ceiling_port, "/")
        background = None
        if args.background:
            sink = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
            processes.append(start([*sink, "-l", f"{HOST}:{sink_port}"], env))
            mail_worker = [sys.executable, "-m", "flask", "mail", "worker"]
            processes += [start(mail_worker, env) for _ in range(2)]
            background = start(
                [
                    sys.executable,
                    str(PROJECT_ROOT / "benchmarks" / "load_background.py"),
                    f"--database-url={url}",
                    f"--port={app_port}",
                    f"--curators={BACKGROUND_CURATORS}",
                    f"--think={args.think}",
                    f"--reviews={','.join(map(str, prepared.background_reviews))}",
                    f"--mail-invitations={','.join(map(str, prepared.mail_invitations))}",
                    f"--mail-per-second={args.mail_per_second}",
                ],
                {**env, "PYTHONPATH": str(PROJECT_ROOT / "benchmarks")},
                subprocess.PIPE,
            )
            processes.append(background)
        dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
        print(
            f"{dialect}: gunicorn with {args.workers} workers for the app and for the ceilings;"
            f" closed loop of {args.clients} clients, {args.rounds} rounds of "
            f"{args.warm_up:g} + {args.phase_seconds:g} s phases; think time "
            f"{args.respondents} respondents x {args.think:g} s for {args.think_seconds:g} s;"
            f" background work: {'in every phase' if background else 'none'};"
            f" questionnaire page {len(first.page):,} bytes; load average "
            f"{os.getloadavg()[0]:.2f}; {os.cpu_count()} cores",
            flush=True,
        )
        measure(args, prepared, app_server.pid, ceiling.pid, app_port, ceiling_port, first)
        if background:
            background.terminate()
            print(background.communicate(timeout=60)[0].decode().strip())
            print(mail_sent(url))
    finally:
        for process in processes[1:]:
            process.terminate()
        app_server.send_signal(2)  # py-spy writes its profile on an interrupt
        for process in processes:
            process.wait(timeout=30)


def free_ports(number: int) -> list[int]:
    """Ports free on 127.0.0.1 right now (held open together, so all differ)."""
    probes = [socket.socket() for _ in range(number)]
    try:
        for probe in probes:
            probe.bind((HOST, 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def mail_sent(url: str) -> str:
    """How the outbox ended: messages by status."""

    class Setup(config.Config):
        SQLALCHEMY_DATABASE_URI = url

    with create_app(Setup).app_context():
        rows = db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
        db.engine.dispose()
    return "outbox at the end: " + ", ".join(f"{status.value} {n}" for status, n in rows)


def measure(
    args: argparse.Namespace,
    prepared: Prepared,
    app_pid: int,
    ceiling_pid: int,
    app_port: int,
    ceiling_port: int,
    first: Respondent,
) -> None:
    """The rounds of closed-loop phases, the think-time phase, the tables, the RESULT."""
    template = first.values
    others = in_threads(
        [lambda: Respondent(app_port, prepared.get[0], template)] * (args.clients - 1)
    )
    people = [first, *others]
    curators = [Session(HOST, app_port) for _ in range(args.clients)]
    for number, curator in enumerate(curators):
        log_in(curator, curator_email(number), CURATOR_PASSWORD)
    bare = [Session(HOST, ceiling_port) for _ in range(args.clients)]

    def acts(step: str, round_number: int) -> list[Act]:
        if step == BARE:
            return [lambda s=s: s.request("GET", "/").status for s in bare]
        if step == MEMORY:
            return [lambda s=s: s.request("GET", "/form").status for s in bare]
        if step == GET:
            return [lambda p=p, t=t: p.get(t) for p, t in zip(people, prepared.get, strict=True)]
        if step == SAVE:
            return [lambda p=p, t=t: p.save(t) for p, t in zip(people, prepared.save, strict=True)]
        if step == SUBMIT:
            links = prepared.submit[round_number * args.submits :][: args.submits]
            return [one_each(links, p.submit) for p in people]
        if step == QUEUE:
            return [lambda c=c: c.request("GET", "/staff/review/").status for c in curators]
        ours = prepared.reviews[round_number * args.approvals :][: args.approvals]
        share = [ours[i :: len(curators)] for i in range(len(curators))]
        return in_threads(
            [lambda c=c, r=r: approvals(c, r) for c, r in zip(curators, share, strict=True)]
        )

    def pids(step: str) -> list[int]:
        return descendants(ceiling_pid if step in (BARE, MEMORY) else app_pid)

    print("warm-up (not counted)", flush=True)
    for step in (BARE, MEMORY, GET, SAVE, QUEUE):
        phase = closed_loop(acts(step, 0), EXPECTED[step], 1.0, 0.0, pids(step))
        print_phase("warm-up", step, phase)
    phases: dict[str, list[Phase]] = {step: [] for step in EXPECTED}
    for round_number in range(args.rounds):
        order = list(EXPECTED) if round_number % 2 == 0 else list(EXPECTED)[::-1]
        for step in order:
            phase = closed_loop(
                acts(step, round_number),
                EXPECTED[step],
                args.phase_seconds,
                args.warm_up,
                pids(step),
            )
            phases[step].append(phase)
            print_phase(f"round {round_number + 1}", step, phase)
    ratios = print_tables(phases)
    think, think_client = think_time(args, prepared, app_port, template)
    print(
        f"\nthink time: {args.respondents} respondents, {args.think:g} s after each answer, "
        f"{args.think_seconds:g} s (client {think_client:.2f} core)"
    )
    for step, samples in think.items():
        print(
            f"  {step:<18} {len(samples.latencies):5d} req {samples.rate:6.1f} req/s  "
            f"p50 {samples.percentile(0.5):7.1f}  p95 {samples.percentile(0.95):7.1f}  "
            f"p99 {samples.percentile(0.99):7.1f} ms  unexpected {samples.unexpected or 0}"
        )
    every = [phase for rounds in phases.values() for phase in rounds]
    rate = {step: median([p.samples.rate for p in rounds]) for step, rounds in phases.items()}
    memory_ratio = median(
        [g.samples.rate / m.samples.rate for g, m in zip(phases[GET], phases[MEMORY], strict=True)]
    )
    cpu_ratio = median(
        [b.server_cpu_ms / g.server_cpu_ms for g, b in zip(phases[GET], phases[BARE], strict=True)]
    )
    print(
        f"RESULT get_ratio={ratios[GET]:.3f} p95_ms={think[GET].percentile(0.95):.1f} "
        f"get_cpu_ratio={cpu_ratio:.3f} "
        f"memory_ratio={memory_ratio:.3f} memory_over_bare={ratios[MEMORY]:.3f} "
        f"save_ratio={ratios[SAVE]:.3f} submit_ratio={ratios[SUBMIT]:.3f} "
        f"queue_ratio={ratios[QUEUE]:.3f} approve_ratio={ratios[APPROVE]:.3f} "
        f"get_rps={rate[GET]:.1f} memory_rps={rate[MEMORY]:.1f} bare_rps={rate[BARE]:.1f} "
        f"get_server_cpu_ms={median([p.server_cpu_ms for p in phases[GET]]):.2f} "
        f"client_cpu_share={max(p.client_cores for p in every):.2f} "
        f"other_cores={median([p.other_cores for p in every]):.2f} "
        f"background={'both' if args.background else 'neither'}"
    )


def think_time(
    args: argparse.Namespace, prepared: Prepared, port: int, template: dict[str, object]
) -> tuple[dict[str, Samples], float]:
    """Respondents opening, saving and submitting fresh links with a pause after each
    answer; the latencies per step and the client's share of one core."""
    links = prepared.think
    people = in_threads([lambda: Respondent(port, prepared.get[0], template)] * args.respondents)

    def journey_of(person: Respondent) -> Callable[..., bool]:
        def journey(step: Callable[[str, Callable[[], int]], bool]) -> bool:
            try:
                token = links.pop()
            except IndexError:
                return False
            return (
                step(GET, lambda: person.get(token))
                and step(SAVE, lambda: person.save(token))
                and step(SUBMIT, lambda: person.submit(token))
            )

        return journey

    expected = {GET: EXPECTED[GET], SAVE: EXPECTED[SAVE], SUBMIT: EXPECTED[SUBMIT]}
    return think_time_loop(
        [journey_of(p) for p in people], expected, args.think_seconds, args.think, 2 * args.think
    )


if __name__ == "__main__":
    os.environ.setdefault("FLASK_APP", "surveyapp")
    main()
