"""Opt-out tokens: what an email's ``mailto:`` unsubscribe carries instead of the link token.

A mail client sends that unsubscribe as a message whose subject holds the token, and the
message then sits in clear in the sender's mailbox. The link token there would open the
questionnaire (and the institution's answers) to anyone reading that mailbox; an opt-out
token can do nothing but opt the contact out of the invitation's campaign. It is the
invitation's id signed with the application's secret key for this one purpose, so nothing
is stored for it and a forged or altered token is refused. Opting out works after a
campaign closes or a link is revoked too: nobody should have to keep receiving mail.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from surveyapp.campaigns.models import Invitation
from surveyapp.campaigns.service import InvalidLink
from surveyapp.extensions import db

# The word a mailto unsubscribe's subject begins with, before the token.
SUBJECT_WORD = "unsubscribe"
_SALT = "surveyapp.campaigns.opt-out"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def opt_out_token(invitation: Invitation) -> str:
    """The opt-out token of an invitation (the same each time: nothing is stored)."""
    return str(_serializer().dumps(invitation.id))


def unsubscribe_subject(invitation: Invitation) -> str:
    """The subject of the ``mailto:`` unsubscribe of an email about this invitation."""
    return f"{SUBJECT_WORD} {opt_out_token(invitation)}"


def invitation_to_opt_out(subject_or_token: str) -> Invitation:
    """The invitation an unsubscribe's subject (or its bare token) names; InvalidLink for
    anything else, a link token included. Replies add "Re:" and mail clients may add
    other words: the last word is the token."""
    words = subject_or_token.split()
    if not words:
        raise InvalidLink
    try:
        invitation_id = _serializer().loads(words[-1])
    except BadSignature as exc:
        raise InvalidLink from exc
    invitation = db.session.get(Invitation, invitation_id) if type(invitation_id) is int else None
    if invitation is None:
        raise InvalidLink
    return invitation
