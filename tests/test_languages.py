"""Everything a respondent, a nominee or a visitor meets, in each shipped language: every
page and every email to a respondent is written in it, with no text the catalogue
translates left in English (issue 19).

The check reads the catalogue itself: each message whose translation differs from its
English gives its literal pieces (between placeholders and tags) long enough to be
unmistakable, and none of them may appear on a page rendered in that language. A text
written outside the catalogue (a page string without ``_()``) is caught by the first part
of each test: the page must carry words of the language, from its catalogue.
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from surveyapp.auth.models import User
from surveyapp.campaigns import service as campaign_service
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import db
from surveyapp.i18n import LANGUAGES, TRANSLATIONS_DIR
from surveyapp.mail.service import send_pending
from surveyapp.questionnaire import service as questionnaire
from surveyapp.review import service as review
from surveyapp.vocabulary import LinkStatus
from tests.campaigns.test_invitations import html as html_part
from tests.campaigns.test_invitations import plain, tokens_in
from tests.conftest import institution_of_row
from tests.questionnaire.test_form import post

SHIPPED = [code for code in LANGUAGES if code != "en"]
# Shorter pieces ("Country", "Save") are words a page may hold in its data or in another
# sense; these are sentences and phrases, which only an untranslated text would show.
SHORTEST = 20
SPLIT = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|%%|<[^>]+>|\{[^}]*\}|\n")


@cache
def _catalogue(language: str) -> Any:
    with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


@cache
def english_pieces(language: str) -> tuple[str, ...]:
    """Literal English pieces of every message ``language`` translates differently."""
    pieces = set()
    for message in _catalogue(language):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated = " ".join(strings)
        for source in sources:
            for piece in SPLIT.split(source):
                piece = piece.strip(" .,:;()·\u2013-")
                if len(piece) >= SHORTEST and " " in piece and piece not in translated:
                    pieces.add(piece)
    return tuple(sorted(pieces))


# An element marked as English (Table 1 as printed, quoted as the source has it).
QUOTED_ENGLISH = re.compile(r'<(\w+)[^>]*\blang="en"[^>]*>.*?</\1>', re.DOTALL)


def untranslated(language: str, text: str) -> list[str]:
    """The English pieces found in a page or email rendered in ``language``, outside
    what the page marks as English."""
    readable = html.unescape(QUOTED_ENGLISH.sub("", text))
    return [piece for piece in english_pieces(language) if piece in readable]


def translation(language: str, english: str) -> str:
    """The catalogue's translation of one message."""
    found = _catalogue(language).get(english)
    assert found is not None and found.string, english
    return found.string


def speaks(language: str, text: str, *, english: tuple[str, ...]) -> None:
    """Assert that ``text`` is in ``language``: it holds the translation of each of the
    ``english`` messages and no untranslated piece of any other."""
    readable = html.unescape(text)
    for message in english:
        assert translation(language, message) in readable, message
    assert untranslated(language, text) == []


@pytest.fixture(params=SHIPPED)
def language(request) -> str:
    return request.param


def test_the_check_finds_english_left_in_a_page(app):
    """The check itself: an English sentence of the catalogue is found, its translation is
    not."""
    english = "Institutions without a known city"
    assert untranslated("it", f"<p>{english}</p>") == [english]
    assert untranslated("it", f"<p>{translation('it', english)}</p>") == []


def test_the_public_pages_speak_each_language(client, table1, language):
    client.get(f"/?lang={language}")
    institution = institution_of_row_id(client, 9)
    pages = {
        "/": ("Number of patients treated",),
        f"/institutions/{institution}": ("Suggest a correction",),
        "/statistics": ("Entries by country",),
        "/map": ("Institutions on the map",),
        "/privacy": ("Privacy notice",),
        "/suggest/": ("Suggest a facility",),
        "/releases/": ("Releases",),
    }
    for path, expected in pages.items():
        page = client.get(path).get_data(as_text=True)
        assert f'<html lang="{language}"' in page, path
        speaks(language, page, english=expected)


def institution_of_row_id(client, row: int) -> int:
    with client.application.app_context():
        return institution_of_row(row).id


def invite_in(language: str, campaign, *rows: int, questionnaire_campaign=None) -> tuple[str, Any]:
    """A contact writing in ``language`` invited for Table 1 rows; the link's token and
    the invitation email."""
    contact, _ = campaign_service.upsert_contact(
        f"{language}@example.org", source="test", name="Dr. Test", language=language
    )
    for row in rows:
        campaign_service.link_contact(
            contact, institution_of_row(row), LinkStatus.CONFIRMED, actor="test"
        )
    campaign_service.invite(
        questionnaire_campaign or campaign, actor="test", contact_ids=[contact.id]
    )
    db.session.commit()
    return contact, send_and_read()


def send_and_read():
    report = send_pending()
    assert report.failed == 0, report.summary()
    return report


def test_a_respondent_reads_every_page_in_their_language(client, campaign, ctx, mailbox, language):
    contact, _ = invite_in(language, campaign, 9)
    (invitation_email,) = [m for m in mailbox.messages if contact.email in m["To"]]
    token = tokens_in(invitation_email)[0]
    for part in (plain(invitation_email), html_part(invitation_email)):
        speaks(language, part, english=())
    assert untranslated(language, invitation_email["Subject"]) == []

    landing = client.get(f"/i/{token}").get_data(as_text=True)
    assert f'<html lang="{language}"' in landing  # the contact's language, unasked
    speaks(language, landing, english=())
    form = client.get(f"/i/{token}/form").get_data(as_text=True)
    speaks(language, form, english=("Number of patients treated", "Save"))
    refused = post(
        client, token, {"institution_block-institution": "", "consent_store": "y"}, "submit"
    ).get_data(as_text=True)
    speaks(language, refused, english=("Please check these answers:",))
    nominate = client.get(f"/i/{token}/nominate").get_data(as_text=True)
    speaks(language, nominate, english=())
    name = "Translational Center Regenerative Medicine TLC-RT Würzburg"
    answers = {"institution_block-institution": name, "consent_store": "y"}
    submitted = post(client, token, answers, "submit")
    assert submitted.status_code == 302
    done = client.get(submitted.headers["Location"]).get_data(as_text=True)
    speaks(language, done, english=())
    mailbox.messages.clear()
    send_and_read()
    (confirmation,) = mailbox.messages
    speaks(language, plain(confirmation), english=())
    speaks(language, confirmation["Subject"], english=())


def test_the_capacity_profile_speaks_each_language(client, table1, ctx, mailbox, language):
    capacity = campaign_service.create_campaign(
        "CoE 2027",
        campaign_service_deadline(),
        actor="test",
        questionnaire="table1-v2",
    )
    contact, _ = invite_in(language, capacity, 12, questionnaire_campaign=capacity)
    (invitation_email,) = [m for m in mailbox.messages if contact.email in m["To"]]
    token = tokens_in(invitation_email)[0]
    form = client.get(f"/i/{token}/form").get_data(as_text=True)
    speaks(language, form, english=("Capacity profile",))


def campaign_service_deadline():
    from datetime import timedelta

    from surveyapp.database import utcnow

    return (utcnow() + timedelta(days=30)).date()


def test_reminders_and_review_decisions_reach_respondents_in_their_language(
    campaign, ctx, mailbox, make_user, language
):
    contact, _ = invite_in(language, campaign, 9)
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.contact_id == contact.id)
    ).all()
    mailbox.messages.clear()
    campaign_service.remind(campaign, list(invitations), actor="test")
    db.session.commit()
    send_and_read()
    (reminder,) = mailbox.messages
    speaks(language, plain(reminder), english=())

    curator = db.session.scalar(select(User).where(User.email == make_user()))
    for decide in ("request_changes", "reject"):
        other, _ = invite_in(language, campaign, 4 if decide == "reject" else 5)
        invitation = db.session.scalars(
            select(Invitation).where(Invitation.contact_id == other.id)
        ).first()
        submission = questionnaire.submission_for(invitation)
        questionnaire.submit(
            submission,
            invitation,
            submission.answers,
            submit_key=f"{decide}-{language}",
            consent_store=True,
            consent_publish=False,
            nothing_changed=True,
        )
        db.session.commit()
        mailbox.messages.clear()
        if decide == "reject":
            review.reject(
                submission,
                curator,
                seen_row_version=submission.row_version,
                reason="Duplicate of another entry.",
                notify=True,
            )
        else:
            review.request_changes(
                submission,
                curator,
                seen_row_version=submission.row_version,
                comment="Please check the website.",
                field_comments={},
                link_days=14,
            )
        db.session.commit()
        send_and_read()
        written = [m for m in mailbox.messages if other.email in m["To"]]
        assert written, decide
        for message in written:
            speaks(language, plain(message), english=())
            speaks(language, message["Subject"], english=())


def test_a_visitor_suggesting_a_facility_reads_each_step_in_their_language(
    client, table1, ctx, mailbox, language
):
    from tests.conftest import csrf_token
    from tests.questionnaire.test_widening import SUGGESTION

    client.get(f"/suggest/?lang={language}")
    data = {**SUGGESTION, "csrf_token": csrf_token(client, "/suggest/")}
    sent = client.post("/suggest/", data=data).get_data(as_text=True)
    speaks(language, sent, english=())
    send_and_read()
    (confirmation,) = mailbox.messages
    speaks(language, plain(confirmation), english=())
    speaks(language, confirmation["Subject"], english=())
    link = re.search(r"/suggest/confirm/\S+", plain(confirmation))[0]
    speaks(language, client.get(link).get_data(as_text=True), english=())


def test_the_opt_out_page_speaks_the_contacts_language(client, campaign, ctx, mailbox, language):
    contact, _ = invite_in(language, campaign, 9)
    (invitation_email,) = [m for m in mailbox.messages if contact.email in m["To"]]
    token = tokens_in(invitation_email)[0]
    page = client.get(f"/i/{token}/opt-out").get_data(as_text=True)
    assert f'<html lang="{language}"' in page
    speaks(language, page, english=())


def test_country_lists_are_in_the_readers_alphabetical_order(client, table1, ctx, mailbox):
    """Sorted by their English names, an Italian found "Samoa americane" among the As and
    a French reader "Allemagne" among the Gs."""
    contact, _ = invite_in("it", campaign_for_order(), 9)
    token = tokens_in(next(m for m in mailbox.messages if contact.email in m["To"]))[0]
    form = client.get(f"/i/{token}/form").get_data(as_text=True)
    options = re.findall(r'<option value="[A-Z]{2}"[^>]*>([^<]+)</option>', form)
    assert options.index("Romania") < options.index("Samoa americane") < options.index("Spagna")
    client.get("/suggest/?lang=fr")
    suggest = client.get("/suggest/").get_data(as_text=True)
    options = re.findall(r'<option value="[A-Z]{2}"[^>]*>([^<]+)</option>', suggest)
    assert options.index("Algérie") < options.index("Allemagne") < options.index("Andorre")
    assert options.index("Åland, Îles") < options.index("Albanie")  # Å among the As


def campaign_for_order():
    return campaign_service.create_campaign(
        "Ordine 2027", campaign_service_deadline(), actor="test"
    )


def test_an_error_page_speaks_each_language(client, language):
    page = client.get(f"/no-such-page?lang={language}")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert f'<html lang="{language}"' in text
    speaks(language, text, english=("Page not found",))
    assert "The requested URL was not found on the server" not in text
