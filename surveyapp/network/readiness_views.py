"""Readiness for the Centres of Excellence network: the topic's criteria one by one for
each institution, for coordinators and admins (declared once below), with a way to ask an
institution whose profile has unknowns to complete it in the open table1-v2 campaign."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from surveyapp.auth.access import restrict
from surveyapp.campaigns.service import CampaignError
from surveyapp.dashboard import service as dashboard
from surveyapp.extensions import db
from surveyapp.i18n import country_label, ngettext
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.network.criteria import CRITERIA, STATE_LABELS, STATES
from surveyapp.network.readiness import (
    DESCENDING_BY_DEFAULT,
    SORTS,
    ReadinessFilters,
    profile_campaign,
    readiness,
)
from surveyapp.registry.models import Institution
from surveyapp.vocabulary import Role, country_name

blueprint = Blueprint("readiness", __name__, url_prefix="/staff/network/readiness")
restrict(blueprint, [Role.ADMIN, Role.COORDINATOR])

SORT_LABELS = {
    "name": _l("Institution"),
    "country": _l("Country"),
    "met": _l("Criteria met"),
    "unknowns": _l("Unknowns"),
}
ORDER_LABELS = {"": _l("Usual order"), "asc": _l("Ascending"), "desc": _l("Descending")}
# The query parameters the page understands: kept across paging, sorting and actions.
PARAMETERS = ("country", *(c.key for c in CRITERIA), "has_unknowns", "sort", "order")


class ReadinessForm(FlaskForm):
    """Filters, sorting and page of the readiness table (a GET form, so no CSRF); a
    select per criterion is added below, named by the criterion's key."""

    class Meta:
        csrf = False

    country = SelectField(_l("Country"), choices=[], default="", validate_choice=False)
    has_unknowns = BooleanField(_l("Only institutions with unknowns"))
    sort = SelectField(
        _l("Sort by"), choices=[SelectChoice(*pair) for pair in SORT_LABELS.items()], default="name"
    )
    order = SelectField(
        _l("Order"), choices=[SelectChoice(*pair) for pair in ORDER_LABELS.items()], default=""
    )
    page = IntegerField(
        _l("Page"), validators=[Optional(), NumberRange(min=1, max=100_000)], default=1
    )


for _criterion in CRITERIA:
    setattr(
        ReadinessForm,
        _criterion.key,
        SelectField(
            _criterion.label,
            choices=[SelectChoice("", _l("Any"))]
            + [SelectChoice(s, STATE_LABELS[s]) for s in STATES],
            default="",
        ),
    )


def _filters(form: ReadinessForm) -> ReadinessFilters:
    """What the form asks, ignoring any value it does not offer."""
    states = {c.key: form[c.key].data for c in CRITERIA if form[c.key].data in STATES}
    order = form.order.data if form.order.data in ("asc", "desc") else None
    return ReadinessFilters(
        country=form.country.data or None,
        states=states,
        has_unknowns=bool(form.has_unknowns.data),
        sort=form.sort.data if form.sort.data in SORTS else "name",
        descending=None if order is None else order == "desc",
    )


def _kept_arguments() -> dict[str, str]:
    """The page's filters and order from the query string, for links and redirects."""
    return {k: v for k, v in request.args.items() if k in PARAMETERS and v}


@blueprint.get("/")
def index() -> str:
    """Each active institution's criteria, met / not met / unknown, with the answer that
    decides each and when it was confirmed; filters, sorting and pages."""
    form = ReadinessForm(request.args)
    form.validate()
    filters = _filters(form)
    page_number = form.page.data if not form.page.errors and form.page.data else 1
    found = readiness(
        filters,
        page=page_number,
        per_page=current_app.config.get("READINESS_PAGE_SIZE", 50),
    )
    countries = {code: str(country_label(code, country_name(code))) for code in found.countries}
    form.country.choices = [SelectChoice("", _l("Any"))] + [
        SelectChoice(code, label) for code, label in countries.items()
    ]
    descending = (
        filters.descending
        if filters.descending is not None
        else filters.sort in DESCENDING_BY_DEFAULT
    )
    args = _kept_arguments()
    return render_template(
        "network/readiness.html",
        form=form,
        criteria=CRITERIA,
        state_labels=STATE_LABELS,
        page=found.page,
        campaign=profile_campaign(),
        sort=filters.sort,
        descending=descending,
        sort_urls={key: _sort_url(args, key, filters.sort, descending) for key in SORTS},
        countries=countries,
        args=args,
    )


def _sort_url(args: dict[str, str], key: str, current: str, descending: bool) -> str:
    """The link of a column heading: sort by it, or reverse the order when it sorts now."""
    order = ("asc" if descending else "desc") if key == current else None
    kept = {k: v for k, v in args.items() if k not in ("sort", "order")}
    return url_for("readiness.index", **kept, sort=key, order=order)


@blueprint.post("/institutions/<int:institution_id>/reach")
def reach(institution_id: int) -> Any:
    """Invite the institution's confirmed contacts to the open campaign that asks the
    capacity profile, or remind those invited who have not answered (the dashboard's
    outreach, aimed at that campaign); back to the same filters afterwards."""
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        abort(404, description=_("No institution has number %(id)s.", id=institution_id))
    back = redirect(url_for("readiness.index", **_kept_arguments()))
    campaign = profile_campaign()
    if campaign is None:
        flash(
            _(
                "No open campaign asks the capacity profile (table1 version 2 or later). "
                "Create one first."
            ),
            "error",
        )
        return back
    try:
        report = dashboard.reach_institution(institution, campaign, actor=current_user.email)
    except (dashboard.DashboardError, CampaignError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return back
    db.session.commit()
    if report.invitations:
        flash(
            ngettext(
                "%(num)s invitation to %(campaign)s queued for %(name)s.",
                "%(num)s invitations to %(campaign)s queued for %(name)s.",
                report.invitations,
                campaign=campaign.name,
                name=institution.name,
            ),
            "success",
        )
    elif report.reminders:
        flash(
            _(
                "A reminder of %(campaign)s was queued for %(name)s.",
                campaign=campaign.name,
                name=institution.name,
            ),
            "success",
        )
    else:
        flash(
            _("Nothing to send: the contacts have answered, opted out or wait for mail."),
            "info",
        )
    return back
