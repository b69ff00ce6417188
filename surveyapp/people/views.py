"""The people pages: admins' access and erasure requests, the respondent's withdrawal of
consent behind their invitation link, and the public privacy notice.

Each blueprint declares who may use it once: admins only for the staff page, the link
token for the withdrawal (with the same rate limit, headers and single 404 as every other
invitation link), anyone for the notice.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from surveyapp.auth.access import restrict
from surveyapp.extensions import db
from surveyapp.i18n import gettext as _
from surveyapp.i18n import use_language_of
from surveyapp.people import consent, erasure
from surveyapp.people.disclosure import disclosure, export_document
from surveyapp.people.forms import ErasureForm, PersonForm, WithdrawalForm
from surveyapp.respondent.link_views import protect_capability_links
from surveyapp.vocabulary import Role

staff = Blueprint("people", __name__, url_prefix="/admin/people")
restrict(staff, [Role.ADMIN])

links = Blueprint("consent", __name__, url_prefix="/i")
protect_capability_links(links)

notice = Blueprint("privacy", __name__)


def _summary(document: dict[str, Any]) -> dict[str, int]:
    kinds = ("invitations", "submissions", "nominations", "registry_entries", "history")
    counts = {kind: len(document[kind]) for kind in kinds}
    counts["audit"] = len(document["audit"])
    counts["mentions"] = len(document["mentions"])
    return counts


@staff.route("/", methods=["GET", "POST"])
def index() -> Any:
    """Ask about one address: download everything stored about it, or go on to erase it."""
    form = PersonForm()
    if form.validate_on_submit():
        email = erasure.normalised(form.email.data)
        if "erase" in request.form:
            document = disclosure(email)
            return render_template(
                "people/erase.html",
                email=email,
                document=document,
                summary=_summary(document),
                form=ErasureForm(email=email, formdata=None),
            )
        text = export_document(email, current_user.email)
        db.session.commit()
        return Response(
            text,
            mimetype="application/json",
            headers={"Content-Disposition": "attachment; filename=personal-data.json"},
        )
    return render_template("people/index.html", form=form), 400 if form.errors else 200


@staff.post("/erase")
def erase() -> Any:
    """Erase, once the admin typed the address a second time."""
    form = ErasureForm()
    if form.validate_on_submit():
        email = erasure.normalised(form.email.data)
        if erasure.normalised(form.confirmation.data) != email:
            form.confirmation.errors = [_("The address you typed does not match.")]
        else:
            try:
                erasure.erase(email, actor=current_user.email)
            except erasure.PeopleError as exc:
                db.session.rollback()
                flash(str(exc), "error")
                return redirect(url_for("people.index"))
            db.session.commit()
            erasure.discard_snapshots()
            flash(_("Everything stored about that address has been erased."), "success")
            return redirect(url_for("people.index"))
    email = erasure.normalised(form.email.data or "")
    if "@" not in email:
        return redirect(url_for("people.index"))
    document = disclosure(email)
    return render_template(
        "people/erase.html", email=email, document=document, summary=_summary(document), form=form
    ), 400


@links.route("/<token>/withdraw-consent", methods=["GET", "POST"])
def withdraw_consent(token: str) -> Any:
    """A GET shows the button; the POST withdraws the consent to publish at once."""
    invitation = consent.invitation_of(token)
    use_language_of(invitation.contact.language)
    form = WithdrawalForm()
    if form.validate_on_submit():
        consent.withdraw(invitation)
        db.session.commit()
        return render_template("people/consent_withdrawn.html", invitation=invitation)
    return render_template(
        "people/withdraw_consent.html",
        invitation=invitation,
        token=token,
        form=form,
        given=consent.consent_given(invitation),
    )


@notice.get("/privacy")
def privacy() -> str:
    """What the registry stores about people, why, for how long, and whom to ask."""
    config = current_app.config
    return render_template(
        "people/privacy.html",
        contact=config["PRIVACY_CONTACT"],
        campaigns=config["RETENTION_CONTACT_CAMPAIGNS"],
        draft_days=config["RETENTION_DRAFT_DAYS"],
        event_days=config["RETENTION_EVENT_DAYS"],
        version_days=config["RETENTION_VERSION_DAYS"],
    )


blueprints = (staff, links, notice)
