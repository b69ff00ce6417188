"""Staff dashboards: coverage and completeness (every staff role) and campaign response
rates (coordinators and admins), each blueprint's roles declared once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from surveyapp.auth.access import STAFF, restrict
from surveyapp.campaigns import nominations, returned_mail
from surveyapp.campaigns.models import Campaign
from surveyapp.dashboard import charts, service
from surveyapp.dashboard.public_views import map_context
from surveyapp.extensions import db
from surveyapp.i18n import country_label, ngettext
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.registry.models import Institution
from surveyapp.vocabulary import Role, country_name

coverage = Blueprint("coverage", __name__, url_prefix="/staff/dashboard")
restrict(coverage, STAFF)
response_rates = Blueprint("response_rates", __name__, url_prefix="/staff/response-rates")
restrict(response_rates, [Role.ADMIN, Role.COORDINATOR])


class OutreachForm(FlaskForm):
    """Invite an institution to an open campaign, or remind it there."""

    campaign = SelectField(_l("Campaign"), validators=[DataRequired()])


def _outreach_form() -> OutreachForm:
    form = OutreachForm()
    form.campaign.choices = [SelectChoice(str(c.id), c.name) for c in service.open_campaigns()]
    return form


@coverage.get("/")
def index() -> str:
    """Where the registry is thin: the map, completeness, the least complete and most
    stale entries with a way to invite or remind their institution."""
    figures = service.completeness()
    return render_template(
        "dashboard/coverage.html",
        figures=figures,
        answered_fields=service.answered_fields(),
        least_complete=service.least_complete(),
        most_stale=service.most_stale(),
        outreach=_outreach_form(),
        can_reach=current_user.has_role(Role.ADMIN, Role.COORDINATOR),
        **map_context(request.args.get("region", "europe")),
    )


@response_rates.get("/")
def comparison() -> str:
    """Every campaign's funnel side by side."""
    return render_template(
        "dashboard/campaigns.html",
        rows=service.campaign_comparison(),
        steps=service.STEPS,
        step_labels=service.STEP_LABELS,
        new_nominations=nominations.new_count(),
    )


@response_rates.get("/<int:campaign_id>")
def campaign(campaign_id: int) -> str:
    """One campaign: funnel, breakdowns by country and language, responses per day,
    non-responders and the addresses to fix."""
    found = db.session.get(Campaign, campaign_id)
    if found is None:
        abort(404, description=_("No campaign has number %(id)s.", id=campaign_id))
    figures = service.funnels(found)
    funnel = figures.overall
    per_day = service.responses_per_day(found)
    by_country = [
        (str(country_label(code, country_name(code))) if code else _("Not known"), f)
        for code, f in figures.by_country
    ]
    return render_template(
        "dashboard/campaign.html",
        campaign=found,
        funnel=funnel,
        steps=service.STEPS,
        step_labels=service.STEP_LABELS,
        funnel_chart=charts.bar_chart(
            [(str(service.STEP_LABELS[s]), funnel.counts[s]) for s in service.STEPS],
            label=_("Funnel"),
        ),
        by_country=by_country,
        by_language=figures.by_language,
        per_day=per_day,
        per_day_chart=charts.bar_chart(
            [(d.isoformat(), n) for d, n in per_day], label=_("Responses per day")
        ),
        non_responders=service.non_responder_count(found),
        undeliverable=service.undeliverable(found),
        waiting_to_read=returned_mail.waiting_to_read(),
    )


@response_rates.post("/institutions/<int:institution_id>/reach")
def reach(institution_id: int) -> Any:
    """Invite the institution's confirmed contacts to the chosen campaign, or remind them."""
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        abort(404, description=_("No institution has number %(id)s.", id=institution_id))
    form = _outreach_form()
    if not form.validate_on_submit():
        flash(_("Choose an open campaign."), "error")
        return redirect(url_for("coverage.index"))
    chosen = db.session.get(Campaign, int(form.campaign.data))
    try:
        report = service.reach_institution(institution, chosen, actor=current_user.email)
    except (service.DashboardError, service.campaigns.CampaignError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        if report.invitations:
            flash(
                ngettext(
                    "%(num)s invitation queued.", "%(num)s invitations queued.", report.invitations
                ),
                "success",
            )
        elif report.reminders:
            flash(_("A reminder was queued."), "success")
        else:
            flash(
                _("Nothing to send: the contacts have answered, opted out or wait for mail."),
                "info",
            )
    return redirect(url_for("coverage.index"))
