"""The network planner page: at most N centres proposed from the registry, each pick
explained, for coordinators and admins (declared once below)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from surveyapp.auth.access import restrict
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.network import planner
from surveyapp.network.criteria import CRITERIA
from surveyapp.vocabulary import AtmpType, Role

blueprint = Blueprint("network_planner", __name__, url_prefix="/staff/network/planner")
restrict(blueprint, [Role.ADMIN, Role.COORDINATOR])


class PlannerForm(FlaskForm):
    """The planner's options, as ``flask network plan`` takes them (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    size = IntegerField(
        _l("Centres at most"),
        validators=[InputRequired(), NumberRange(min=1, max=100)],
        default=planner.DEFAULT_SIZE,
    )
    require = SelectMultipleField(
        _l("Criteria every candidate must meet"),
        choices=[SelectChoice(c.key, c.label) for c in CRITERIA],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=True,
    )
    countries = StringField(
        _l("Countries"),
        description=_l("EU (the 27 member states), all, or country codes such as AT, DE, CH."),
        validators=[Optional(), Length(max=500)],
        default="EU",
    )
    pin = StringField(
        _l("Always include (institution numbers)"),
        validators=[Optional(), Length(max=500)],
    )
    exclude = StringField(
        _l("Never include (institution numbers)"),
        validators=[Optional(), Length(max=2000)],
    )


def _proposal(form: PlannerForm) -> tuple[planner.Plan | None, list[str]]:
    """The plan for the form's options, or the problems that prevent one."""
    if request.args and not form.validate():
        return None, [
            f"{form[name].label.text}: {e}" for name, es in form.errors.items() for e in es
        ]
    try:
        options = planner.PlanRequest(
            size=form.size.data or planner.DEFAULT_SIZE,
            required=planner.parse_required(form.require.data or ()),
            pins=planner.parse_ids([form.pin.data or ""]),
            excluded=frozenset(planner.parse_ids([form.exclude.data or ""])),
            countries=planner.parse_countries(form.countries.data),
        )
        return planner.plan_registry(options), []
    except planner.PlanError as exc:
        return None, [str(exc)]


@blueprint.get("/")
def index() -> str:
    """The options, and below them the proposal with every pick explained and what stays
    uncovered; the same options download the proposal as CSV."""
    form = PlannerForm(formdata=request.args or None)
    proposal, errors = _proposal(form)
    args: dict[str, Any] = request.args.to_dict(flat=False)
    return render_template(
        "network/planner.html",
        form=form,
        proposal=proposal,
        errors=errors,
        csv_url=url_for("network_planner.proposal_csv", **args),
        platform_count=len(planner.platform_codes()),
        atmp_type_count=len(AtmpType),
        criteria_count=len(CRITERIA),
        planner=planner,
    )


@blueprint.get("/proposal.csv")
def proposal_csv() -> Response | tuple[str, int]:
    """The proposal for the same options as CSV, one row per pick."""
    form = PlannerForm(formdata=request.args or None)
    proposal, errors = _proposal(form)
    if proposal is None:
        return render_template(
            "network/planner.html",
            form=form,
            proposal=None,
            errors=errors,
            csv_url=None,
            platform_count=0,
            atmp_type_count=0,
            criteria_count=len(CRITERIA),
            planner=planner,
        ), 400
    return Response(
        planner.proposal_csv(proposal),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="network-proposal.csv"'},
    )
