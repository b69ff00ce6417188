"""Dashboard benchmark: a campaign of 100,000 invitations and a registry of 100,000 entries.

Generates the data with bulk inserts (the importer's per-row history would take minutes and
is measured by benchmarks/registry.py), then times the pages that aggregate it. Prints
figures; asserts nothing. Usage (from the project root, inside .venv):

    python benchmarks/dashboard.py
    python benchmarks/dashboard.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The PostgreSQL run drops and recreates the public schema of that database.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import insert, select, text
from timing import median_ms  # benchmarks/timing.py, beside this script

import config
from surveyapp import create_app
from surveyapp.auth.service import create_user
from surveyapp.campaigns.models import Campaign, Contact, Invitation
from surveyapp.extensions import db
from surveyapp.registry.models import Entry, EntryAtmpType, EntryDiseaseArea, Institution
from surveyapp.vocabulary import Answer, AtmpType, DiseaseArea, InvitationStatus, Role

COUNTRIES = ["DE", "FR", "IT", "ES", "NL", "PL", "SE", "AT", "BE", "PT", "GR", "CZ", "DK", "IE"]
LANGUAGES = ["en", "de", "fr", "it", "es"]
CHUNK = 5000
PASSWORD = "quiet orange lantern over seven hills"  # noqa: S105 - a throwaway account


def _chunks(rows: list[dict], size: int = CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def generate_registry(entries: int, rng: random.Random) -> list[int]:
    """Institutions (one per five entries) and entries with types, areas and answers."""
    now = datetime.now(UTC)
    institutions = [
        {
            "id": i + 1,
            "name": f"Centre {i}",
            "country_code": rng.choice(COUNTRIES),
            "website": f"https://centre{i}.example.org",
            "website_domain": f"centre{i}.example.org",
            "texts": {},
            "created_at": now,
            "updated_at": now,
            "row_version": 1,
        }
        for i in range(entries // 5)
    ]
    for chunk in _chunks(institutions):
        db.session.execute(insert(Institution), chunk)
    answers = list(Answer)
    rows, types, areas = [], [], []
    for number in range(entries):
        confirmed = now - timedelta(days=rng.randint(0, 900)) if rng.random() < 0.4 else None
        rows.append(
            {
                "id": number + 1,
                "institution_id": number // 5 + 1,
                "status": "active",
                "contact_public": False,
                "patients_estimate": rng.choice([None, rng.randint(0, 400)]),
                "patients_qualifier": rng.choice([None, "exact", "approximate", "at_least"]),
                "diseases_targeted": [],
                "diseases_pipeline": [],
                "contract_research": rng.choice(answers).value,
                "routine_application": rng.choice(answers).value,
                "texts": {},
                "search_text": f"centre {number // 5}",
                "disease_text": "",
                "filled_fields": rng.randint(2, 10),
                "country_code": institutions[number // 5]["country_code"],
                "confirmed_at": confirmed,
                "created_at": now,
                "updated_at": now,
                "row_version": 1,
            }
        )
        for kind in rng.sample(list(AtmpType), rng.randint(1, 2)):
            types.append({"entry_id": number + 1, "atmp_type": kind.value})
        areas.append({"entry_id": number + 1, "disease_area": rng.choice(list(DiseaseArea)).value})
    for chunk in _chunks(rows):
        db.session.execute(insert(Entry), chunk)
    for chunk in _chunks(types):
        db.session.execute(insert(EntryAtmpType), chunk)
    for chunk in _chunks(areas):
        db.session.execute(insert(EntryDiseaseArea), chunk)
    return [i["id"] for i in institutions]


def generate_campaign(invitations: int, institution_ids: list[int], rng: random.Random) -> int:
    """One campaign whose invitations stand at every step of the funnel."""
    now = datetime.now(UTC)
    campaign = Campaign(
        name="Benchmark campaign",
        opens_on=date.today() - timedelta(days=60),  # noqa: DTZ011 - a calendar day
        closes_on=date.today() + timedelta(days=30),  # noqa: DTZ011
        sender_name="Registry",
        sender_email="registry@example.org",
        invitation_subject="s",
        invitation_text="t",
        invitation_html="h",
        reminder_subject="s",
        reminder_text="t",
        reminder_html="h",
        created_by="benchmark",
    )
    db.session.add(campaign)
    db.session.flush()
    contacts = [
        {
            "id": n + 1,
            "email": f"person{n}@example.org",
            "language": rng.choice(LANGUAGES),
            "country_code": rng.choice(COUNTRIES),
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(invitations)
    ]
    for chunk in _chunks(contacts):
        db.session.execute(insert(Contact), chunk)
    steps = [
        InvitationStatus.QUEUED,
        InvitationStatus.SENT,
        InvitationStatus.OPENED,
        InvitationStatus.STARTED,
        InvitationStatus.SUBMITTED,
        InvitationStatus.APPROVED,
    ]
    countries = dict(
        db.session.execute(select(Institution.id, Institution.country_code)).all()
    )
    rows = []
    for n in range(invitations):
        institution_id = rng.choice(institution_ids)
        depth = rng.choices(range(len(steps)), weights=[5, 40, 20, 10, 15, 10])[0]
        sent = now - timedelta(days=rng.randint(1, 50))
        reached = [sent + timedelta(hours=h) for h in (1, 2, 3, 4)]
        bounced = depth == 1 and rng.random() < 0.05
        rows.append(
            {
                "campaign_id": campaign.id,
                "contact_id": n + 1,
                "institution_id": institution_id,
                "country_code": countries[institution_id],
                "language": contacts[n]["language"],
                "status": (InvitationStatus.BOUNCED if bounced else steps[depth]).value,
                "first_sent_at": sent if depth >= 1 else None,
                "last_sent_at": sent if depth >= 1 else None,
                "bounced_at": sent if bounced else None,
                "opened_at": reached[0] if depth >= 2 else None,
                "started_at": reached[1] if depth >= 3 else None,
                "submitted_at": reached[2] if depth >= 4 else None,
                "expires_at": now + timedelta(days=30),
                "reminders_sent": 0,
                "created_at": sent,
            }
        )
    for chunk in _chunks(rows):
        db.session.execute(insert(Invitation), chunk)
    return campaign.id


def main() -> None:
    """Generate, then print the median time of each dashboard page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--invitations", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    rng = random.Random(11)

    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{workdir}/bench.sqlite"

        class BenchConfig(config.Config):
            SQLALCHEMY_DATABASE_URI = url
            WTF_CSRF_ENABLED = False

        app = create_app(BenchConfig)
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            upgrade()
            start = time.perf_counter()
            institution_ids = generate_registry(args.entries, rng)
            campaign_id = generate_campaign(args.invitations, institution_ids, rng)
            # Coordinator and curator see every page timed here; an admin would need a TOTP code.
            staff_roles = [Role.COORDINATOR, Role.CURATOR]
            create_user("bench@example.org", staff_roles, actor="benchmark", password=PASSWORD)
            db.session.commit()
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as connection:
                    connection.execute(text("ANALYZE"))
            print(
                f"{db.engine.dialect.name}: generated {args.entries} entries and "
                f"{args.invitations} invitations in {time.perf_counter() - start:.1f} s"
            )
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
        for label, path in [
            ("campaign dashboard", f"/staff/response-rates/{campaign_id}"),
            ("campaigns comparison", "/staff/response-rates/"),
            ("coverage and completeness", "/staff/dashboard/"),
            ("public statistics", "/statistics"),
            ("public map (Europe)", "/map?region=europe"),
            ("api stats", "/api/v1/stats"),
        ]:
            print(f"  {label:<28} {median_ms(client, path, warm_up=True):8.1f} ms (median of 5)")


if __name__ == "__main__":
    main()
