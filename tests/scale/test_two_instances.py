"""Two app servers behind one site share what must be shared.

Two instances of the app, each gunicorn with two workers on its own port and its own
instance folder, run the production configuration against one PostgreSQL database and
one Redis, as two servers behind a proxy would; a mail worker runs beside each. What one
instance does holds on the other: a link's rate limit counts the requests both served, a
session ended on one is ended on the other, and the two mail workers deliver every queued
message once between them.

The instances are real processes set up with the real commands (``flask db upgrade``,
``flask users create``, ``flask contacts import``, ``flask campaigns create``/``invite``)
in a database of their own, created here and dropped afterwards, so the suite's
rolled-back transactions are left alone; Redis keys carry a prefix of this run's own and
are deleted afterwards. Runs in the PostgreSQL phase of CI (``make test-postgres``); Redis
must be reachable there, and elsewhere its absence skips these tests.
"""

from __future__ import annotations

import csv
import http.cookiejar
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from sqlalchemy.engine import URL, make_url

from config import PROJECT_ROOT
from tests.conftest import PASSWORD, SmtpRecorder, free_port

DATABASE_URL = os.environ.get("SURVEYAPP_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("SURVEYAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LINK_LIMIT = 4  # link page requests an address may make per hour, on all servers together
CONTACTS = 24
GUNICORN = [sys.executable, "-m", "gunicorn", "-w", "2", "--timeout", "120"]
CURATOR = "curator@example.org"
LINK = re.compile(r"/i/([A-Za-z0-9_-]{43})(?![/A-Za-z0-9_-])")
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')

pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"),
    reason="needs PostgreSQL (SURVEYAPP_TEST_DATABASE_URL)",
)


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[tuple[str, str]]:
    """Redis, shared by both instances: its URL and this run's key prefix. Unreachable, it
    skips the tests, except in CI (CI=true), where it fails them."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} cannot be reached ({exc})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run starts redis-server")
        pytest.skip(f"needs Redis: {message}")
    prefix = f"scale-test-{secrets.token_hex(6)}"
    yield REDIS_URL, prefix
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def shared_database() -> Iterator[str]:
    """A PostgreSQL database of the instances' own, beside the suite's, dropped at the end."""
    server = make_url(DATABASE_URL)
    name = f"scale_test_{secrets.token_hex(6)}"
    with _maintenance(server) as connection:
        connection.execute(f"CREATE DATABASE {name}")  # a name made here, not user input
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with _maintenance(server) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _maintenance(server: URL) -> psycopg.Connection[Any]:
    """An autocommit connection to the suite's database, from which others are created."""
    return psycopg.connect(
        server.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    )


@dataclass
class Site:
    """The two instances: their addresses, and the environment each was started with."""

    urls: list[str]
    environments: list[dict[str, str]]
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def flask(self, *args: str, stdin: str = "") -> str:
        """Run a ``flask`` command as an operator would on the first server."""
        finished = subprocess.run(  # noqa: S603 - the test's own command
            [sys.executable, "-m", "flask", *args],
            env=self.environments[0],
            cwd=PROJECT_ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert finished.returncode == 0, finished.stdout + finished.stderr
        return finished.stdout

    def start(self, name: str, command: list[str], environment: dict[str, str]) -> Path:
        """Start a long-running process; returns the file its output goes to."""
        output = self.logs / f"{name}.log"
        with output.open("wb") as sink:
            self.processes.append(
                subprocess.Popen(  # noqa: S603 - the test's own servers
                    command, env=environment, cwd=PROJECT_ROOT, stdout=sink, stderr=sink
                )
            )
        return output


@pytest.fixture(scope="module")
def mail_sink() -> Iterator[tuple[int, SmtpRecorder]]:
    """A real SMTP server (aiosmtpd) for both instances' mail workers."""
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, recorder
    controller.stop()


@pytest.fixture(scope="module")
def site(
    shared_database: str,
    shared_redis: tuple[str, str],
    mail_sink: tuple[int, SmtpRecorder],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """Two gunicorn instances (two workers each) of the production configuration on one
    database and one Redis, with a curator account, a campaign and contacts to invite."""
    redis_url, prefix = shared_redis
    logs = tmp_path_factory.mktemp("scale")
    ports = [free_port(), free_port()]
    common = {
        **os.environ,
        "FLASK_APP": "surveyapp",
        "PYTHONUNBUFFERED": "1",
        "SURVEYAPP_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": shared_database,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": prefix,
        "LINK_RATE_LIMIT": f"{LINK_LIMIT} per hour",
        "SESSION_COOKIE_SECURE": "false",  # plain HTTP on the loopback
        "TRUSTED_PROXIES": "0",
        "SITE_URL": f"http://127.0.0.1:{ports[0]}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mail_sink[0]),
        "MAIL_TIMEOUT": "10",
        "MAIL_BATCH_SIZE": "4",
        "MAIL_RATE_PER_MINUTE": "600",  # slow enough that both workers take a share
        "MAIL_WORKER_POLL_SECONDS": "1",
    }
    for name in ("WEB_CONCURRENCY", "APP_PROCESSES", "SURVEYAPP_TEST_DATABASE_URL"):
        common.pop(name, None)
    environments = [
        {**common, "SURVEYAPP_INSTANCE_DIR": str(logs / f"instance-{number}")}
        for number in range(2)
    ]
    running = Site([f"http://127.0.0.1:{port}" for port in ports], environments, logs)
    running.flask("db", "upgrade")
    running.flask(
        "users", "create", CURATOR, "--role", "curator", "--password-stdin", stdin=PASSWORD
    )
    contacts = logs / "contacts.csv"
    with contacts.open("w", encoding="utf-8", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["email", "contact_person"])
        rows.writerows([f"person{n}@example.org", f"Person {n}"] for n in range(CONTACTS))
    running.flask("contacts", "import", str(contacts))
    closes = (date.today() + timedelta(days=30)).isoformat()  # noqa: DTZ011 - a day, any zone
    running.flask("campaigns", "create", "Scale-out", "--closes", closes)
    try:
        for number, (port, environment) in enumerate(zip(ports, environments, strict=True)):
            running.start(
                f"app-{number}",
                [*GUNICORN, "-b", f"127.0.0.1:{port}", "surveyapp:create_app()"],
                environment,
            )
        for number, url in enumerate(running.urls):
            _wait_until_serving(url, running.processes[number], logs / f"app-{number}.log")
        yield running
    finally:
        _stop(running.processes)


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"{url} did not start:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url + "/robots.txt", timeout=2).close()  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer:\n{log.read_text()}")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Delivery:
    """What the two mail workers delivered, and what each said it sent."""

    messages: list[Message]
    sent_by_worker: list[int]
    unsent: int


@pytest.fixture(scope="module")
def delivered(site: Site, mail_sink: tuple[int, SmtpRecorder], shared_database: str) -> Delivery:
    """A mail worker per instance, both running before the invitations are queued; once the
    sink has every message, both are stopped (each finishes what it holds) and counted."""
    _port, recorder = mail_sink
    outputs: list[Path] = []
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for number, environment in enumerate(site.environments):
            outputs.append(
                site.start(
                    f"mail-{number}",
                    [sys.executable, "-m", "flask", "mail", "worker"],
                    environment,
                )
            )
            workers.append(site.processes[-1])
        for output, worker in zip(outputs, workers, strict=True):
            _wait_for_text(output, "mail worker started", worker)
        site.flask("campaigns", "invite", "Scale-out")
        for _ in range(600):
            if len(recorder.messages) >= CONTACTS:
                break
            time.sleep(0.2)
    finally:
        _stop(workers)
    with psycopg.connect(
        make_url(shared_database).set(drivername="postgresql").render_as_string(hide_password=False)
    ) as connection:
        unsent = connection.execute(
            "SELECT count(*) FROM outbox_message WHERE status <> 'sent'"
        ).fetchone()
    sent_by_worker = [
        sum(int(n) for n in re.findall(r"^(\d+) sent", output.read_text(), re.MULTILINE))
        for output in outputs
    ]
    return Delivery(list(recorder.messages), sent_by_worker, unsent[0] if unsent else -1)


def _wait_for_text(output: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if text in output.read_text():
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"no {text!r} from {output.name}:\n{output.read_text()}")


class Browser:
    """A person's browser: one cookie jar for every server of the site, redirects shown."""

    class _ShowRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._ShowRedirects()
        )

    def open(self, url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Status, Location and body of a GET, or of a POST when a form is given."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(url, data=data, timeout=30) as response:
                return response.status, "", response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def submit(self, page: str, action: str, **fields: str) -> tuple[int, str, str]:
        """Post a form of a page with the page's CSRF token, as pressing its button does."""
        match = CSRF.search(self.open(page)[2])
        assert match, f"no form on {page}"
        return self.open(action, {"csrf_token": match.group(1), **fields})

    def log_in(self, site_url: str) -> None:
        status, location, _ = self.submit(
            f"{site_url}/login", f"{site_url}/login", email=CURATOR, password=PASSWORD
        )
        assert (status, location) == (302, "/account/")


def test_mail_workers_on_both_servers_deliver_each_message_once(delivered: Delivery):
    recipients = [message["To"].addresses[0].addr_spec for message in delivered.messages]
    assert sorted(recipients) == sorted(f"person{n}@example.org" for n in range(CONTACTS))
    assert len({message["Message-ID"] for message in delivered.messages}) == CONTACTS
    assert delivered.unsent == 0
    assert sum(delivered.sent_by_worker) == CONTACTS
    assert all(sent > 0 for sent in delivered.sent_by_worker), delivered.sent_by_worker


def test_a_session_ended_on_one_server_ends_on_the_other(site: Site):
    first, second = site.urls
    laptop, stolen = Browser(), Browser()
    laptop.log_in(first)
    stolen.log_in(second)
    assert stolen.open(f"{first}/account/")[0] == 200  # one session, good on either server

    status, location, _ = laptop.submit(
        f"{first}/account/",
        f"{first}/account/password",
        current=PASSWORD,
        new="another long and unusual passphrase",
        confirm="another long and unusual passphrase",
    )
    assert (status, location) == (302, "/account/")

    status, location, _ = stolen.open(f"{second}/account/")
    assert status == 302
    assert location.startswith("/login")
    assert laptop.open(f"{second}/account/")[0] == 200


def test_a_links_rate_limit_counts_the_requests_both_servers_served(
    site: Site, delivered: Delivery
):
    (token,) = dict.fromkeys(LINK.findall(delivered.messages[0].get_body(("plain",)).get_content()))
    respondent = Browser()
    statuses = [
        respondent.open(f"{site.urls[number % 2]}/i/{token}")[0] for number in range(LINK_LIMIT + 2)
    ]
    assert statuses == [200] * LINK_LIMIT + [429, 429]
