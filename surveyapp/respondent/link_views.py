"""The respondent's side of an invitation link: no account, the token is the key.

Opening a link changes nothing (mail scanners fetch links before people do): an invitation
counts as opened at the respondent's first action on the page. Unknown, expired and
revoked links get one and the same 404 page. Link pages are rate-limited, send no referrer
and are kept out of search engines.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from surveyapp.campaigns import service
from surveyapp.campaigns.models import Invitation
from surveyapp.extensions import csrf, db, limiter
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.i18n import use_language_of
from surveyapp.questionnaire.forms import new_submit_key
from surveyapp.review.standing import standing

blueprint = Blueprint("link", __name__, url_prefix="/i")


def protect_capability_links(links: Blueprint) -> None:
    """What every blueprint serving invitation links needs, declared once per blueprint:
    a rate limit, no referrer, no indexing, no caching, and one 404 for any invalid link."""
    limiter.limit(lambda: current_app.config["LINK_RATE_LIMIT"])(links)

    @links.after_request
    def _capability_link_headers(response: Response) -> Response:
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Cache-Control"] = "no-store"
        return response

    @links.errorhandler(service.CampaignNotOpenYet)
    def _not_open_yet(error: service.CampaignNotOpenYet) -> tuple[str, int]:
        return render_template(
            "campaigns/link_not_open.html",
            invitation=error.invitation,
            opens_on=error.opens_on,
            contact=current_app.config["MAIL_DEFAULT_SENDER"],
        ), 200

    @links.errorhandler(service.InvalidLink)
    def _invalid_link(_error: Exception) -> tuple[str, int]:
        return render_template(
            "campaigns/link_invalid.html", contact=current_app.config["MAIL_DEFAULT_SENDER"]
        ), 404

    @links.errorhandler(CSRFError)
    def _stale_form(error: CSRFError) -> Any:
        """A form sent with a stale or missing CSRF token: to a valid link the usual 400
        page; to an unknown, expired or revoked one the one 404 page, as a GET gets (the
        error handler looking the link up failed with a 500 before)."""
        refused = link_refusal((request.view_args or {}).get("token", ""))
        if refused is not None:
            return refused
        return render_template("error.html", error=error), 400


def link_refusal(token: str) -> Any:
    """The page refusing a link that is unknown, expired, revoked or not open yet (as its
    error handlers render it), or None for a link that works: for error handlers, which
    cannot let the link's own exception escape."""
    try:
        invitation_of(token)
    except (service.InvalidLink, service.CampaignNotOpenYet) as refused:
        return current_app.handle_user_exception(refused)
    return None


def invitation_of(token: str, *, before_opening: bool = False) -> Invitation:
    """The open invitation of a link token (InvalidLink otherwise); the pages that follow
    speak the invited contact's language. Before the campaign's opening day the link only
    says when it opens (CampaignNotOpenYet), unless ``before_opening`` allows the page
    (opting out works at any time)."""
    invitation = service.resolve_token(token)
    use_language_of(invitation.contact.language)
    if not before_opening:
        opens_on = service.campaign_not_open_yet(invitation.campaign)
        if opens_on is not None:
            raise service.CampaignNotOpenYet(invitation, opens_on)
    return invitation


protect_capability_links(blueprint)


class StartForm(FlaskForm):
    """The respondent's first action."""


class OptOutForm(FlaskForm):
    """Opt out of this campaign or of every campaign."""

    scope = RadioField(
        _l("Stop emails"),
        default="campaign",
        choices=[
            SelectChoice("campaign", _l("about this survey")),
            SelectChoice("all", _l("about any survey of this registry")),
        ],
    )


def render_landing(
    invitation: Invitation, token: str, *, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    """The page the emailed link opens: where the answer stands and the next step, with
    "nothing has changed" and the consent it needs while nothing has been started."""
    return render_template(
        "campaigns/link.html",
        invitation=invitation,
        token=token,
        form=StartForm(),
        standing=standing(invitation),
        submit_key=new_submit_key(),
        error=error,
    ), status


@blueprint.get("/<token>")
def landing(token: str) -> tuple[str, int]:
    """Name the campaign and institution and say where the answer stands; nothing is
    recorded by looking."""
    return render_landing(invitation_of(token), token)


@blueprint.post("/<token>/start")
def start(token: str) -> Any:
    """The first action on the page: the invitation now counts as opened."""
    invitation = invitation_of(token)
    if StartForm().validate_on_submit():
        service.mark_opened(invitation)
        db.session.commit()
        return redirect(url_for("questionnaire.form", token=token))
    return redirect(url_for("link.landing", token=token))


@blueprint.route("/<token>/opt-out", methods=["GET", "POST"])
def opt_out(token: str) -> Any:
    """One button: stop emails about this survey, or about all of them."""
    invitation = invitation_of(token, before_opening=True)
    form = OptOutForm()
    if form.validate_on_submit():
        service.opt_out(invitation, everything=form.scope.data == "all")
        db.session.commit()
        return render_template(
            "campaigns/opted_out.html", invitation=invitation, everything=form.scope.data == "all"
        )
    return render_template("campaigns/opt_out.html", invitation=invitation, form=form, token=token)


@blueprint.route("/<token>/unsubscribe", methods=["GET", "POST"])
@csrf.exempt
def one_click_unsubscribe(token: str) -> Any:
    """RFC 8058 one-click unsubscribe: a POST of List-Unsubscribe=One-Click opts out of
    this campaign. A GET (some mail clients) only shows the opt-out page."""
    invitation = invitation_of(token, before_opening=True)
    if request.method == "GET":
        return redirect(url_for("link.opt_out", token=token))
    if request.form.get("List-Unsubscribe") != "One-Click":
        return Response("Expected List-Unsubscribe=One-Click.", status=400, mimetype="text/plain")
    service.opt_out(invitation, everything=False, one_click=True)
    db.session.commit()
    return Response(_("You will receive no more emails about this survey."), mimetype="text/plain")
