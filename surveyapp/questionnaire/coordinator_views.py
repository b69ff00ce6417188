"""Coordinator pages about a campaign's answers: late answers to accept or reopen, and the
responses and non-responders as spreadsheets.

They sit with the submissions they read, not with the campaign pages below them; the
campaign and invitation pages show them through the template functions added here. Open
to coordinators and admins, declared once below. URLs stay under ``/campaigns``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from surveyapp.auth.access import restrict
from surveyapp.auth.forms import ConfirmForm
from surveyapp.campaigns.models import Campaign, Invitation
from surveyapp.campaigns.service import CampaignError
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import day
from surveyapp.i18n import gettext as _
from surveyapp.questionnaire import late_drafts, responses_export
from surveyapp.vocabulary import Role

blueprint = Blueprint("responses", __name__, url_prefix="/campaigns")
restrict(blueprint, [Role.ADMIN, Role.COORDINATOR])

EXPORTS = {
    "responses": responses_export.response_rows,
    "non-responders": responses_export.non_responder_rows,
}
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@blueprint.app_context_processor
def _late_answers_on_campaign_pages() -> dict[str, Any]:
    """The campaign page lists its late answers and the invitation page shows its own;
    the questionnaire owns them, so it adds them to those pages."""
    return {"late_answers": late_drafts.late_drafts, "late_answer_of": late_drafts.late_draft_of}


def _invitation(campaign_id: int, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.campaign_id != campaign_id:
        abort(404)
    return invitation


@blueprint.get("/<int:campaign_id>/export/<what>.<fmt>")
def export(campaign_id: int, what: str, fmt: str) -> Response:
    """Every submission with its answers, or the non-responders, as CSV or XLSX (audited:
    they hold personal data)."""
    campaign = db.get_or_404(Campaign, campaign_id)
    if what not in EXPORTS or fmt not in responses_export.FORMATS:
        abort(404, description="Exports are available as .csv and .xlsx.")
    db.session.commit()  # end the read, so the audit event starts a writing transaction
    audit(
        f"campaign.export_{what.replace('-', '_')}",
        current_user.email,
        target_type="campaign",
        target_id=campaign.id,
        remote_addr=request.remote_addr,
        format=fmt,
    )
    db.session.commit()
    body = responses_export.write(EXPORTS[what](campaign), fmt, what)
    filename = f"campaign-{campaign.id}-{what}-{date.today().isoformat()}.{fmt}"  # noqa: DTZ011
    return Response(
        body,
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blueprint.post("/<int:campaign_id>/invitations/<int:invitation_id>/late/<action>")
def late_answer(campaign_id: int, invitation_id: int, action: str) -> Any:
    """Accept a late answer as submitted, or reopen the link and email a fresh one."""
    invitation = _invitation(campaign_id, invitation_id)
    if action not in ("accept", "reopen"):
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            if action == "accept":
                version = late_drafts.accept(invitation, actor=current_user.email)
                message = _(
                    "The late answer of %(email)s is submitted (version %(number)s) and waits "
                    "for review.",
                    email=invitation.contact.email,
                    number=version.number,
                )
            else:
                until = late_drafts.reopen_for_late_draft(
                    invitation,
                    actor=current_user.email,
                    days=current_app.config["CHANGES_LINK_DAYS"],
                )
                message = _(
                    "The link of %(email)s works again until %(day)s; a fresh link is on its way.",
                    email=invitation.contact.email,
                    day=day(until),
                )
        except CampaignError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(message, "success")
    if request.form.get("back") == "campaign":
        return redirect(url_for("campaigns.campaign_detail", campaign_id=campaign_id))
    return redirect(
        url_for("campaigns.invitation_detail", campaign_id=campaign_id, invitation_id=invitation.id)
    )
