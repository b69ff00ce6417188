"""Test fixtures: one migrated database per session, each test in a rolled-back transaction.

The database is SQLite in a temporary file, or PostgreSQL when SURVEYAPP_TEST_DATABASE_URL
is set (``.ci/run`` does both). It is built by running the migrations, as production is.

Every test runs inside a transaction on one connection that is rolled back at its end;
sessions created during the test (the test's own, each request's, each CLI command's) join
that connection through savepoints, so their commits are real to each other but vanish
afterwards. Tests marked ``committed`` get no such transaction: their data is really
committed (for concurrency tests) and every table is emptied afterwards.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from email import policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, select, text

import config
from surveyapp import create_app
from surveyapp.auth.service import create_user
from surveyapp.campaigns import service as campaign_service
from surveyapp.campaigns.models import Campaign, Contact
from surveyapp.database import utcnow
from surveyapp.definitions import table1 as table1_definition
from surveyapp.definitions import use_directories
from surveyapp.extensions import db
from surveyapp.history.service import Provenance
from surveyapp.paths import FORMS_DIR
from surveyapp.registry import importer
from surveyapp.registry.models import Entry
from surveyapp.registry.service import add_entry, add_institution, updates_from_text
from surveyapp.vocabulary import ChangeSource, LinkStatus, Role

TABLE1_CSV = importer.TABLE1_CSV
TEST_FORMS_DIR = Path(__file__).parent / "definitions" / "forms"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "committed: runs without the rolled-back transaction, so its writes (and other "
        "connections) are real; every table is emptied afterwards",
    )


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SURVEYAPP_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'surveyapp-test.sqlite'}"


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own application context.

    Flask reuses an application context that a test holds open (the ``ctx`` fixture), which
    would share ``g`` (the logged-in user, the CSRF token) between requests. Production
    never does that, so neither do the tests.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One application for the whole run, on a database built by the migrations."""

    class SessionConfig(config.TestingConfig):
        SQLALCHEMY_DATABASE_URI = _database_url(tmp_path_factory)

    application = create_app(SessionConfig)
    application.test_client_class = FreshContextClient
    with application.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
    return application


class _TransactionalSession(FlaskSession):
    """A Flask-SQLAlchemy session that uses the test's connection instead of the engine."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self.bind if self.bind is not None else super().get_bind(*args, **kwargs)


@pytest.fixture(autouse=True)
def _isolated(request: pytest.FixtureRequest, app: Flask) -> Iterator[None]:
    """Run the test in a transaction rolled back at its end (unless marked committed)."""
    if request.node.get_closest_marker("committed"):
        yield
        _empty_all_tables(app)
        return
    with app.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {
            "class_": _TransactionalSession,
            "bind": connection,
            "join_transaction_mode": "create_savepoint",
        }
    )
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original
        transaction.rollback()
        connection.close()


def _empty_all_tables(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def test_questionnaires(app: Flask) -> Iterator[None]:
    """The test-only questionnaires (tests/definitions/forms: every field type, a condition,
    a data vocabulary) beside the shipped ones, for one test."""
    shipped = list(app.config["QUESTIONNAIRE_DIRS"])
    use_directories([*shipped, TEST_FORMS_DIR])
    yield
    use_directories(shipped)


@pytest.fixture
def table1_questionnaire_only(app: Flask, tmp_path: Path) -> Iterator[None]:
    """Only Table 1's own questionnaire (v1) in use, as before any later version shipped:
    what the registry looks like to an installation that asks nothing beyond Table 1."""
    shipped = list(app.config["QUESTIONNAIRE_DIRS"])
    (tmp_path / "table1-v1.toml").write_bytes((FORMS_DIR / "table1-v1.toml").read_bytes())
    shutil.copytree(FORMS_DIR / "vocabularies", tmp_path / "vocabularies")
    use_directories([tmp_path])
    yield
    use_directories(shipped)


@pytest.fixture
def xlsx_snapshot(app, runner, tmp_path, monkeypatch) -> Callable[[], None]:
    """Build the public XLSX snapshot the XLSX link serves, in an instance folder of the
    test's own (over HTTP, XLSX is never built inside a request)."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))

    def build() -> None:
        result = runner.invoke(args=["registry", "build-xlsx"])
        assert result.exit_code == 0, result.output

    return build


@contextmanager
def statements_sent(app: Flask | None = None) -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block, in order: what a page's
    statement budget counts.

    It listens on the engine (``before_cursor_execute``), so every connection of the
    application counts: the test's own, each request's, each CLI command's. Without
    ``app`` it needs an application context."""
    if app is None:
        engine = db.engine
    else:
        with app.app_context():
            engine = db.engine
    sent: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def statements(app: Flask) -> Callable[[], AbstractContextManager[list[str]]]:
    """``with statements() as sent:``: the SQL statements sent inside the block (see
    :func:`statements_sent`), for tests that count what a page or command costs."""
    return lambda: statements_sent(app)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context for tests that use the database directly."""
    with app.app_context():
        yield


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def table1(app: Flask) -> importer.ImportReport:
    """The registry loaded from Table 1, as ``make run`` does."""
    with app.app_context():
        report = importer.import_table1(actor="test")
        db.session.commit()
    return report


@pytest.fixture
def make_entry(app: Flask):
    """Create an institution with one entry from field texts, committed; returns the entry id."""

    def make(institution: str = "Test Cell Centre", country: str = "DE", **texts: str) -> int:
        definition = table1_definition()
        provenance = Provenance(ChangeSource.STAFF_EDIT, "test")
        with app.app_context():
            own = {
                "institution": institution,
                "country": country,
                "website": texts.pop("website", ""),
            }
            updates, _ = updates_from_text(definition.level_fields("institution"), own)
            found = add_institution(updates, provenance)
            updates, _ = updates_from_text(definition.level_fields("entry"), texts)
            entry = add_entry(found, updates, provenance)
            db.session.commit()
            return entry.id

    return make


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write a CSV file the way a spreadsheet would."""
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


PASSWORD = "a long and unusual test passphrase"


@pytest.fixture
def make_user(app: Flask):
    """Create a staff user with roles (default password PASSWORD); returns the email."""

    def make(email: str = "staff@example.org", *roles: Role, password: str = PASSWORD) -> str:
        with app.app_context():
            created = create_user(
                email, list(roles) or [Role.CURATOR], actor="test", password=password
            )
            db.session.commit()
            return created.user.email

    return make


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The CSRF token a page's form carries ("" when CSRF protection is switched off)."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    return match.group(1) if match else ""


class AuthActions:
    """Log the test client in and out through the real login form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(
        self,
        email: str = "staff@example.org",
        password: str = PASSWORD,
        next_url: str | None = None,
    ) -> Any:
        token = csrf_token(self.client)
        url = "/login" + (f"?next={next_url}" if next_url else "")
        return self.client.post(
            url, data={"csrf_token": token, "email": email, "password": password}
        )

    def logout(self) -> Any:
        token = csrf_token(self.client, "/account/")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def staff(make_user, auth) -> str:
    """A logged-in curator; returns the email."""
    email = make_user("curator@example.org", Role.CURATOR)
    response = auth.login(email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return email


class SmtpRecorder:
    """An aiosmtpd handler that keeps what it accepts, or answers with a chosen reply."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.reply: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, SmtpRecorder]]:
    """A real SMTP server (aiosmtpd) on a free local port, for the whole test run."""
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, recorder
    controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox(app: Flask, smtp_server, monkeypatch) -> SmtpRecorder:
    """Point the app's mail settings at the test SMTP server; returns its recorder, emptied."""
    controller, recorder = smtp_server
    recorder.messages.clear()
    recorder.reply = None
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 5)
    return recorder


# Campaign factories, shared by the campaigns, mail and questionnaire tests.


def institution_of_row(row: int):
    """The registry institution of a Table 1 row."""
    return db.session.scalars(select(Entry).where(Entry.source_row == row)).one().institution


@pytest.fixture
def make_contact(ctx):
    """A contact, optionally confirmed for the institutions of some Table 1 rows."""

    def make(email: str, *rows: int, name: str = "Dr. Test Person") -> Contact:
        contact, _ = campaign_service.upsert_contact(email, source="test", name=name)
        for row in rows:
            campaign_service.link_contact(
                contact, institution_of_row(row), LinkStatus.CONFIRMED, actor="test"
            )
        db.session.commit()
        return contact

    return make


@pytest.fixture
def campaign(table1, ctx) -> Campaign:
    """An open campaign closing in 30 days."""
    created = campaign_service.create_campaign(
        "Registry update 2026",
        (utcnow() + timedelta(days=30)).date(),
        actor="test",
        reply_to="team@example.org",
    )
    db.session.commit()
    return created


@pytest.fixture
def invited(campaign, make_contact, mailbox):
    """Invite a contact for Table 1 rows 9-11 (one institution, three entries); its token."""

    from surveyapp.mail.service import send_pending
    from tests.campaigns.test_invitations import tokens_in

    def invite(*rows: int) -> str:
        make_contact("pullig@example.org", *(rows or (9,)), name="PD Dr. Oliver Pullig")
        campaign_service.invite(campaign, actor="test")
        db.session.commit()
        send_pending()
        return tokens_in(mailbox.messages[-1])[0]

    return invite


@pytest.fixture
def v2_link(table1, ctx, make_contact, mailbox) -> str:
    """A contact of Table 1 row 12 (TU Dresden, routine application: yes) invited to a
    campaign on table1-v2 (the capacity profile); the link's token."""
    from surveyapp.mail.service import send_pending
    from tests.campaigns.test_invitations import tokens_in

    capacity = campaign_service.create_campaign(
        "Centres of Excellence 2027",
        (utcnow() + timedelta(days=30)).date(),
        actor="test",
        questionnaire="table1-v2",
    )
    make_contact("crtd@example.org", 12)
    campaign_service.invite(capacity, actor="test")
    db.session.commit()
    send_pending()
    return tokens_in(next(m for m in mailbox.messages if "crtd@example.org" in m["To"]))[0]


@pytest.fixture
def submit_for(campaign, make_contact):
    """Invite a contact for Table 1 rows and submit their answers, edited as a test says.

    Returns the submission (committed), like a respondent pressing "submit".
    """

    import copy

    from surveyapp.campaigns.models import Invitation
    from surveyapp.questionnaire import service as questionnaire

    def submit(
        email: str,
        *rows: int,
        edit: Callable[[dict[str, Any]], None] = lambda answers: None,
        nothing_changed: bool = False,
        consent_publish: bool = False,
    ) -> Any:
        contact = make_contact(email, *rows)
        campaign_service.invite(campaign, actor="test", contact_ids=[contact.id])
        invitation = db.session.scalars(
            select(Invitation).where(Invitation.contact_id == contact.id)
        ).first()
        submission = questionnaire.submission_for(invitation)
        answers = copy.deepcopy(submission.answers)
        edit(answers)
        questionnaire.submit(
            submission,
            invitation,
            answers,
            submit_key=f"test-{email}",
            consent_store=True,
            consent_publish=consent_publish,
            nothing_changed=nothing_changed,
        )
        db.session.commit()
        return submission

    return submit
