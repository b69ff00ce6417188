"""Emails about a curator's decision: a request for changes (with a fresh link) or a rejection.

Both are built by the mail worker at send time in the respondent's language; the request
mints a new link token, so no token is ever stored in clear. The curators' own daily
digest is built in :mod:`surveyapp.review.digest` and registered here with them.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from flask import current_app
from markupsafe import Markup

from surveyapp.campaigns.emails import site_url
from surveyapp.campaigns.service import is_open, mint_token
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import day, language
from surveyapp.i18n import gettext as _
from surveyapp.mail.delivery import Delivery, Undeliverable, register
from surveyapp.mail.models import OutboxMessage
from surveyapp.review import digest
from surveyapp.review.models import Review
from surveyapp.review.service import labelled_comments
from surveyapp.vocabulary import MessageKind


def _review(message: OutboxMessage) -> Review:
    review = db.session.get(Review, message.context.get("review_id"))
    if review is None:
        raise Undeliverable("the review is gone")
    return review


def _envelope(message: OutboxMessage, review: Review, subject: str) -> EmailMessage:
    invitation = review.submission.invitation
    email = EmailMessage()
    email["Subject"] = subject
    if invitation is not None:
        campaign, contact = invitation.campaign, invitation.contact
        email["From"] = formataddr((campaign.sender_name, campaign.sender_email))
        email["To"] = formataddr((contact.name or "", contact.email))
        if campaign.reply_to:
            email["Reply-To"] = campaign.reply_to
    else:
        email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
        email["To"] = message.to_address
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(utcnow())
    email["Auto-Submitted"] = "auto-generated"
    return email


def _respondent_language(review: Review) -> str | None:
    invitation = review.submission.invitation
    return invitation.contact.language if invitation is not None else None


def build_request(message: OutboxMessage) -> EmailMessage:
    """The curator's comments and a fresh link to the reopened questionnaire."""
    review = _review(message)
    invitation = review.submission.invitation
    if invitation is None or not is_open(invitation):
        raise Undeliverable("the invitation is gone or closed again")
    with language(_respondent_language(review)):
        link = site_url(f"/i/{mint_token(invitation)}/form")
        person = invitation.contact.name or _("colleague")
        lines = [
            _("Dear %(person)s,", person=person),
            _(
                "Thank you for your answers to %(campaign)s. Before they go into the "
                "registry, our curator asks you to look at the following:",
                campaign=invitation.campaign.name,
            ),
        ]
        comments = labelled_comments(review)
        expiry = day(invitation.expires_at)
        closing = _(
            "Your answers are kept: open the link, change what is needed and send them "
            "again. The link works until %(day)s.",
            day=expiry,
        )
        text = [lines[0], "", lines[1], ""]
        if review.comment:
            text += [review.comment, ""]
        text += [f"- {label}: {comment}" for label, comment in comments]
        text += ["", closing, link]
        html = Markup("<p>{}</p><p>{}</p>").format(lines[0], lines[1])
        if review.comment:
            html += Markup("<blockquote>{}</blockquote>").format(review.comment)
        if comments:
            html += Markup("<ul>{}</ul>").format(
                Markup("").join(
                    Markup("<li><strong>{}</strong>: {}</li>").format(label, comment)
                    for label, comment in comments
                )
            )
        html += Markup('<p>{}</p><p><a href="{}">{}</a></p>').format(closing, link, link)
        email = _envelope(
            message,
            review,
            _("Please check your answers to %(campaign)s", campaign=invitation.campaign.name),
        )
    email.set_content("\n".join(text) + "\n")
    email.add_alternative(str(html), subtype="html")
    return email


def build_rejection(message: OutboxMessage) -> EmailMessage:
    """The reason a curator gave for not taking a submission into the registry."""
    review = _review(message)
    submission = review.submission
    with language(_respondent_language(review)):
        invitation = submission.invitation
        person = (
            invitation.contact.name if invitation is not None else submission.submitter_name
        ) or _("colleague")
        dear = _("Dear %(person)s,", person=person)
        body = _(
            "Thank you for your contribution to the ATMP facility registry. Our curator "
            "did not take it into the registry, for this reason:"
        )
        email = _envelope(message, review, _("About your contribution to the ATMP registry"))
    email.set_content(f"{dear}\n\n{body}\n\n{review.reason}\n")
    email.add_alternative(
        str(
            Markup("<p>{}</p><p>{}</p><blockquote>{}</blockquote>").format(
                dear, body, review.reason
            )
        ),
        subtype="html",
    )
    return email


def _sent(_message: OutboxMessage) -> None:
    """A decision email changes no status: the decision already did."""


def _failed(message: OutboxMessage, reason: str) -> None:
    audit(
        "mail.review_failed",
        "mail worker",
        target_type="outbox_message",
        target_id=message.id,
        reason=reason[:500],
    )


def register_deliveries() -> None:
    """Tell the mail worker how to build decision emails and the curators' digest."""
    register(
        MessageKind.CHANGES_REQUESTED,
        Delivery(render=build_request, on_sent=_sent, on_failed=_failed),
    )
    register(
        MessageKind.REJECTION, Delivery(render=build_rejection, on_sent=_sent, on_failed=_failed)
    )
    register(
        MessageKind.REVIEW_DIGEST,
        Delivery(render=digest.build, on_sent=digest.on_sent, on_failed=digest.on_failed),
    )
