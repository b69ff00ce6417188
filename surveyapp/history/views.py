"""The audit log for admins: every action, filterable by action, actor and date."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from surveyapp.auth.access import restrict
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.pagination import page_number, paginate
from surveyapp.vocabulary import Role

blueprint = Blueprint("audit", __name__, url_prefix="/admin/audit")
restrict(blueprint, [Role.ADMIN])
PAGE_SIZE = 100


def _day(name: str, end: bool = False) -> datetime | None:
    raw = request.args.get(name, "")
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return datetime.combine(day.date(), time.max if end else time.min, tzinfo=UTC)


@blueprint.get("/")
def index() -> str:
    """Audit events, newest first, 100 per page."""
    query = select(AuditEvent)
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip().lower()
    since, until = _day("since"), _day("until", end=True)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(func.lower(AuditEvent.actor).contains(actor, autoescape=True))
    if since:
        query = query.where(AuditEvent.created_at >= since)
    if until:
        query = query.where(AuditEvent.created_at <= until)
    found = paginate(
        query.order_by(AuditEvent.id.desc()), page_number(request.args.get("page")), PAGE_SIZE
    )
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    return render_template(
        "history/audit.html",
        events=found.items,
        total=found.total,
        page=found.page,
        pages=found.pages,
        actions=list(actions),
        args={k: v for k, v in request.args.items() if k != "page" and v},
    )
