"""Questionnaire benchmark: in-process CPU milliseconds per respondent request.

For an institution with 1 entry (Table 1 row 4) and one with 3 (rows 9-11), each through
its own fresh invitation link: the questionnaire GET, a save (changing one answer) and a
submit, each through the Flask test client in this process, timed by process CPU time
(``time.process_time``), so another process's load on the machine does not count. The
figure is the median of ``--repeat`` requests, after one unmeasured warm-up of each. It
measures what issue 18's targets name (at most 5 ms for the GET with 3 entries, 8 ms for a
save, 10 ms for a submit) and prints figures only; it asserts nothing.

    python benchmarks/questionnaire.py
    python benchmarks/questionnaire.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The PostgreSQL run drops and recreates the public schema of that database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import select, text

import config
from surveyapp import create_app
from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.paths import PROJECT_ROOT
from surveyapp.registry.importer import import_table1
from surveyapp.registry.models import Entry
from surveyapp.vocabulary import LinkStatus

sys.path.insert(0, str(PROJECT_ROOT))
from tests.forms import form_values  # the tests' reader of HTML forms

# Table 1 rows whose institution has 1 entry and 3 entries.
# What a save and a submit answer when they worked.
SAVED, SUBMITTED = 200, 302
INSTITUTIONS = {1: 4, 3: 9}


def prepare(app: Any, links_each: int) -> dict[int, list[str]]:
    """Table 1, a campaign, and ``links_each`` link tokens per institution size (one
    contact per link, so each link answers once)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        import_table1(actor="benchmark")
        campaign = campaigns.create_campaign(
            "Questionnaire benchmark",
            date.today() + timedelta(days=30),  # noqa: DTZ011 - a calendar day
            actor="benchmark",
        )
        contacts: dict[int, list[int]] = {}
        for entries, row in INSTITUTIONS.items():
            institution = db.session.scalars(select(Entry).where(Entry.source_row == row)).one()
            for number in range(links_each):
                contact, _ = campaigns.upsert_contact(
                    f"person{entries}-{number}@example.org", source="benchmark"
                )
                campaigns.link_contact(
                    contact, institution.institution, LinkStatus.CONFIRMED, actor="benchmark"
                )
                contacts.setdefault(entries, []).append(contact.id)
        campaigns.invite(campaign, actor="benchmark")
        tokens: dict[int, list[str]] = {}
        for entries, ids in contacts.items():
            invitations = db.session.scalars(
                select(Invitation).where(Invitation.contact_id.in_(ids)).order_by(Invitation.id)
            )
            tokens[entries] = [campaigns.mint_token(i) for i in invitations]
        db.session.commit()
    return tokens


def cpu_ms(call: Callable[[], Any], expected: int) -> float:
    """CPU milliseconds this process spent on one call; exits when the answer is not the
    expected status (a save or submit that failed would measure the wrong work)."""
    start = time.process_time()
    response = call()
    spent = (time.process_time() - start) * 1000
    if response.status_code != expected:
        page = response.get_data(as_text=True)[:500]
        raise SystemExit(f"answered {response.status_code}, not {expected}: {page}")
    return spent


def measure(app: Any, tokens: list[str]) -> dict[str, float]:
    """Median CPU ms of a GET, a save and a submit, one link each time (the first link
    warms up, unmeasured)."""
    client = app.test_client()
    samples: dict[str, list[float]] = {"get": [], "save": [], "submit": []}
    for index, token in enumerate(tokens):
        url = f"/i/{token}/form"
        got = cpu_ms(lambda url=url: client.get(url), 200)
        values = form_values(client.get(url).get_data(as_text=True), "/form")
        values.update({"institution_block-country": "DE", "save": "section"})
        saved = cpu_ms(lambda url=url, values=values: client.post(url, data=values), SAVED)
        values = form_values(client.get(url).get_data(as_text=True), "/form")
        values.update({"consent_store": "y", "submit": "y"})
        submitted = cpu_ms(lambda url=url, values=values: client.post(url, data=values), SUBMITTED)
        if index:  # the first request of each kind warms up
            samples["get"].append(got)
            samples["save"].append(saved)
            samples["submit"].append(submitted)
    return {kind: statistics.median(values) for kind, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=30, help="links measured per size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{workdir}/questionnaire.sqlite"

        class BenchConfig(config.Config):
            SQLALCHEMY_DATABASE_URI = url
            RATELIMIT_ENABLED = False  # many requests from one address, on purpose

        app = create_app(BenchConfig)
        tokens = prepare(app, args.repeat + 1)
        print(f"{url.split(':')[0]}, {args.repeat} links per size, CPU ms per request (median)")
        figures = {}
        for entries in sorted(INSTITUTIONS):
            got = measure(app, tokens[entries])
            print(
                f"  {entries} entr{'y' if entries == 1 else 'ies'}: GET {got['get']:.1f}, "
                f"save {got['save']:.1f}, submit {got['submit']:.1f}"
            )
            figures[entries] = got
        with app.app_context():
            db.engine.dispose()
    three = figures[3]
    print(
        f"RESULT get_1_entry_cpu_ms={figures[1]['get']:.2f} "
        f"get_3_entries_cpu_ms={three['get']:.2f} save_cpu_ms={three['save']:.2f} "
        f"submit_cpu_ms={three['submit']:.2f}"
    )


if __name__ == "__main__":
    os.environ.setdefault("FLASK_APP", "surveyapp")
    main()
