"""Background work for benchmarks/load.py: curators reviewing and a steady flow of email.

With ``--background``, load.py starts this process (and two mail workers) before its first
phase and stops it after its last, so the app's phases and the ceilings' phases all run
beside the same work. It runs in a process of its own so that its CPU is not counted as
the client's. Curators (each logged in) open the review queue, open a submission and
approve it, pausing ``--think`` seconds after every answer; they approve only the
submissions named in ``--reviews``, which no phase touches, and keep reading the queue
when those run out. A feeder queues ``--mail-per-second`` reminders a second for the
invitations named in ``--mail-invitations`` (which no phase uses either), so the mail
workers send at a steady rate instead of draining a backlog during the first phases.
On SIGTERM it stops and prints one line: approvals by status and reminders queued.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections import Counter
from types import FrameType

from load_client import Session, log_in

import config
from surveyapp import create_app
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.mail import service as mail
from surveyapp.paths import PROJECT_ROOT
from surveyapp.vocabulary import MessageKind

sys.path.insert(0, str(PROJECT_ROOT))
from tests.forms import form_values  # the tests' reader of HTML forms

CURATOR_PASSWORD = "quiet orange lantern over seven hills"  # noqa: S105 - a throwaway account


def curator_email(number: int) -> str:
    """The address of background curator ``number`` (load.py creates the accounts)."""
    return f"background-curator{number}@example.org"


def curate(
    session: Session, reviews: list[int], think: float, stop: threading.Event, done: Counter
) -> None:
    """Queue, a submission, approve; a pause after each answer; until told to stop."""
    while not stop.is_set():
        session.request("GET", "/staff/review/")
        if stop.wait(think) or not reviews:
            continue
        review = reviews.pop()
        page = session.request("GET", f"/staff/review/{review}")
        values = form_values(page.body.decode(), f"/staff/review/{review}/decide")
        if stop.wait(think):
            return
        path = f"/staff/review/{review}/decide"
        answer = session.request("POST", path, {**values, "approve": "y"})
        done[answer.status] += 1
        stop.wait(think)


def feed_mail(url: str, invitation_ids: list[int], per_second: int, stop: threading.Event) -> int:
    """Queue ``per_second`` reminders each second, cycling through the invitations."""

    class Setup(config.Config):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Setup)
    queued = 0
    with app.app_context():
        targets = [
            (i.id, i.campaign_id, i.contact_id, i.contact.email)
            for i in db.session.query(Invitation).filter(Invitation.id.in_(invitation_ids))
        ]
        db.session.commit()
        tick = time.monotonic()
        while targets and not stop.wait(max(0.0, tick + 1 - time.monotonic())):
            tick += 1
            for _ in range(per_second):
                invitation_id, campaign_id, contact_id, email = targets[queued % len(targets)]
                mail.queue(
                    MessageKind.REMINDER,
                    email,
                    campaign_id=campaign_id,
                    contact_id=contact_id,
                    invitation_ids=[invitation_id],
                )
                queued += 1
            db.session.commit()
        db.engine.dispose()
    return queued


def main() -> None:
    """Log the curators in, then curate and feed the outbox until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True, help="the app's port on 127.0.0.1")
    parser.add_argument("--curators", type=int, default=2)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between answers")
    parser.add_argument("--reviews", default="", help="submission ids to approve, commas")
    parser.add_argument("--mail-invitations", default="", help="invitation ids, commas")
    parser.add_argument("--mail-per-second", type=int, default=10)
    args = parser.parse_args()
    stop = threading.Event()

    def finish(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    reviews = [int(n) for n in args.reviews.split(",") if n]
    done: Counter = Counter()
    curators = []
    for number in range(args.curators):
        session = Session("127.0.0.1", args.port)
        log_in(session, curator_email(number), CURATOR_PASSWORD)
        curators.append(
            threading.Thread(target=curate, args=(session, reviews, args.think, stop, done))
        )
    for thread in curators:
        thread.start()
    invitations = [int(n) for n in args.mail_invitations.split(",") if n]
    queued = feed_mail(args.database_url, invitations, args.mail_per_second, stop)
    stop.wait()
    for thread in curators:
        thread.join()
    approvals = " ".join(f"{status}:{count}" for status, count in sorted(done.items()))
    print(f"background: approvals by status {approvals or 'none'}, reminders queued {queued}")


if __name__ == "__main__":
    main()
