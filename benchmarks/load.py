"""Load benchmark: concurrent respondents and curators against surveyapp under gunicorn,
next to the framework's ceiling measured in the same run with the same settings.

Generates Table 1 plus a campaign (links for respondents, submitted answers for curators),
starts gunicorn (and two mail workers sending to a local aiosmtpd sink), then drives, with
an asyncio HTTP client (httpx), respondents (open the link, save a section, submit) and
curators (open the queue, approve) for a fixed time with a bounded number of requests.
Prints requests per second and p50/p95/p99 latency per step, the same for a bare Flask
endpoint under the same gunicorn settings, and each step as a share of that ceiling.
Asserts nothing.

    python benchmarks/load.py                       # SQLite, 2 app processes
    python benchmarks/load.py --workers 4 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from sqlalchemy import select, text

import config
from surveyapp import create_app
from surveyapp.auth.service import create_user
from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.paths import PROJECT_ROOT
from surveyapp.questionnaire import service as questionnaire
from surveyapp.registry.importer import import_table1
from surveyapp.vocabulary import Role

sys.path.insert(0, str(PROJECT_ROOT))
from tests.forms import form_values  # the tests' reader of HTML forms

PASSWORD = "quiet orange lantern over seven hills"  # noqa: S105 - a throwaway account
LOG = open(os.environ.get("LOAD_LOG", os.devnull), "a")  # noqa: SIM115 - servers log here
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Sink:
    """An SMTP server that accepts everything (the mail workers' destination)."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(url: str, respondents: int, reviews: int) -> list[str]:
    """Table 1, a campaign, link tokens for the respondents and answers to review."""

    class Setup(config.Config):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Setup)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        import_table1(actor="benchmark")
        create_user("curator@example.org", [Role.CURATOR], actor="benchmark", password=PASSWORD)
        campaign = campaigns.create_campaign(
            "Load benchmark",
            date.today() + timedelta(days=30),  # noqa: DTZ011 - a calendar day
            actor="benchmark",
        )
        for number in range(respondents + reviews):
            campaigns.upsert_contact(f"person{number}@example.org", source="benchmark")
        campaigns.invite(campaign, actor="benchmark")
        invitations = list(db.session.scalars(select(Invitation).order_by(Invitation.id)))
        tokens = [campaigns.mint_token(i) for i in invitations[:respondents]]
        for invitation in invitations[respondents:]:
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
        db.session.commit()
    return tokens


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - the benchmark's own servers
        command, env=env, stdout=subprocess.DEVNULL, stderr=LOG
    )


def wait_for(url: str) -> None:
    for _ in range(150):
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


class Recorder:
    """Latencies per step, with a shared budget of requests and time."""

    def __init__(self, seconds: float, max_requests: int) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.deadline = time.perf_counter() + seconds
        self.budget = max_requests
        self.started = time.perf_counter()

    def open(self) -> bool:
        return self.budget > 0 and time.perf_counter() < self.deadline

    async def timed(self, step: str, call) -> httpx.Response:
        self.budget -= 1
        began = time.perf_counter()
        response = await call
        self.latencies[step].append((time.perf_counter() - began) * 1000)
        if response.status_code >= 500:
            self.errors[step] += 1
        return response


async def respondent(base: str, tokens: list[str], recorder: Recorder) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while tokens and recorder.open():
            token = tokens.pop()
            page = await recorder.timed("open the link", client.get(f"/i/{token}/form"))
            values = form_values(page.text, "/form")
            values.update({"institution_block-institution": "Load test centre"})
            values.update({"institution_block-country": "DE", "save": "section"})
            page = await recorder.timed(
                "save a section", client.post(f"/i/{token}/form", data=values)
            )
            values = form_values(page.text, "/form")
            values.update({"consent_store": "y", "submit": "y"})
            await recorder.timed("submit", client.post(f"/i/{token}/form", data=values))


async def curator(base: str, recorder: Recorder) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        login = await client.get("/login")
        await client.post(
            "/login",
            data={
                "csrf_token": CSRF.search(login.text).group(1),
                "email": "curator@example.org",
                "password": PASSWORD,
            },
        )
        while recorder.open():
            queue = await recorder.timed("open the queue", client.get("/staff/review/"))
            ids = re.findall(r'href="/staff/review/(\d+)"', queue.text)
            if not ids:
                return
            page = await client.get(f"/staff/review/{ids[0]}")
            values = form_values(page.text, f"/staff/review/{ids[0]}/decide")
            await recorder.timed(
                "approve",
                client.post(f"/staff/review/{ids[0]}/decide", data={**values, "approve": "y"}),
            )


async def ceiling(base: str, recorder: Recorder) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while recorder.open():
            await recorder.timed("bare Flask endpoint", client.get("/"))


def report(recorder: Recorder) -> dict[str, float]:
    """Print a line per step; return each step's requests per second."""
    elapsed = time.perf_counter() - recorder.started
    rates = {}
    for step, samples in recorder.latencies.items():
        ordered = sorted(samples)

        def pick(share: float, ordered: list[float] = ordered) -> float:
            return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

        rates[step] = len(samples) / elapsed
        print(
            f"  {step:<22} {len(samples):6d} req {rates[step]:8.1f} req/s   "
            f"p50 {statistics.median(ordered):7.1f}  p95 {pick(0.95):7.1f}  "
            f"p99 {pick(0.99):7.1f} ms   errors {recorder.errors[step]}"
        )
    return rates


async def drive(base: str, ceiling_base: str, tokens: list[str], args) -> None:
    recorder = Recorder(args.seconds, args.max_requests)
    users = [respondent(base, tokens, recorder) for _ in range(args.respondents)]
    users += [curator(base, recorder) for _ in range(args.curators)]
    await asyncio.gather(*users)
    print("surveyapp:")
    rates = report(recorder)
    bare = Recorder(args.seconds, args.max_requests)
    await asyncio.gather(*[ceiling(ceiling_base, bare) for _ in range(args.respondents)])
    print("ceiling (same gunicorn settings, same client, same concurrency):")
    top = report(bare)["bare Flask endpoint"]
    print("each step as a share of the ceiling's requests per second:")
    for step, rate in rates.items():
        print(f"  {step:<22} {rate / top:6.3f}")


def main() -> None:
    """Prepare, serve, drive, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--respondents", type=int, default=20, help="concurrent respondents")
    parser.add_argument("--curators", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--max-requests", type=int, default=3000)
    parser.add_argument(
        "--profile",
        default=None,
        help="record the app's gunicorn workers with py-spy (collapsed stacks, waits "
        "included) into this file",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{Path(workdir) / 'load.sqlite'}"
        tokens = prepare(url, respondents=args.max_requests // 3, reviews=200)
        sink_port, app_port, ceiling_port = free_port(), free_port(), free_port()
        sink = Controller(Sink(), hostname="127.0.0.1", port=sink_port)
        sink.start()
        env = {
            **os.environ,
            "SURVEYAPP_CONFIG": "development",
            "DATABASE_URL": url,
            "LINK_RATE_LIMIT": "1000000 per minute",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(sink_port),
            "FLASK_APP": "surveyapp",
        }
        gunicorn = [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "--timeout", "120"]
        serve = [*gunicorn, "-b", f"127.0.0.1:{app_port}", "surveyapp:create_app()"]
        if args.profile:
            spy = ["py-spy", "record", "--subprocesses", "--idle", "--format", "raw"]
            serve = [*spy, "--rate", "200", "-o", args.profile, "--", *serve]
        processes = [
            start(serve, env),
            start(
                [*gunicorn, "-b", f"127.0.0.1:{ceiling_port}", "ceiling_app:app"],
                {**env, "PYTHONPATH": str(PROJECT_ROOT / "benchmarks")},
            ),
        ]
        processes += [
            start([sys.executable, "-m", "flask", "mail", "worker"], env) for _ in range(2)
        ]
        try:
            wait_for(f"http://127.0.0.1:{app_port}/robots.txt")
            wait_for(f"http://127.0.0.1:{ceiling_port}/")
            dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
            print(
                f"{dialect}: {args.workers} gunicorn workers, 2 mail workers, "
                f"{args.respondents} respondents and {args.curators} curators, "
                f"{args.seconds:.0f} s or {args.max_requests} requests"
            )
            asyncio.run(
                drive(
                    f"http://127.0.0.1:{app_port}",
                    f"http://127.0.0.1:{ceiling_port}",
                    tokens,
                    args,
                )
            )
        finally:
            for process in processes[1:]:
                process.terminate()
            processes[0].send_signal(2)  # py-spy writes its profile on an interrupt
            for process in processes:
                process.wait(timeout=30)
            sink.stop()


if __name__ == "__main__":
    main()
