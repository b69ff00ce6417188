"""The audit log for admins: every action, filterable by action, actor, target and date,
and downloadable as CSV with the same filters."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import current_user
from sqlalchemy import Select, func, select

from surveyapp.auth.access import restrict
from surveyapp.extensions import db
from surveyapp.history.models import AuditEvent
from surveyapp.history.service import audit
from surveyapp.pagination import page_number, paginate
from surveyapp.routing import id_from
from surveyapp.tabular import neutralise
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


def _filtered() -> Select[tuple[AuditEvent]]:
    query = select(AuditEvent)
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip().lower()
    target_type = request.args.get("target_type", "").strip()
    target_id = id_from(request.args.get("target_id", "").strip())
    since, until = _day("since"), _day("until", end=True)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(func.lower(AuditEvent.actor).contains(actor, autoescape=True))
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    if since:
        query = query.where(AuditEvent.created_at >= since)
    if until:
        query = query.where(AuditEvent.created_at <= until)
    return query


@blueprint.get("/")
def index() -> str:
    """Audit events, newest first, 100 per page."""
    query = _filtered()
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


COLUMNS = ["id", "created_at", "actor", "action", "target_type", "target_id", "remote_addr"]


def _csv_rows(query: Select[tuple[AuditEvent]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise("" if c is None else str(c)) for c in cells])
        return buffer.getvalue()

    yield line([*COLUMNS, "detail"])
    for event in db.session.scalars(query.order_by(AuditEvent.id).execution_options(yield_per=500)):
        yield line(
            [
                event.id,
                event.created_at.isoformat(),
                event.actor,
                event.action,
                event.target_type,
                event.target_id,
                event.remote_addr,
                json.dumps(event.detail, ensure_ascii=False, sort_keys=True),
            ]
        )


@blueprint.get("/export.csv")
def export() -> Response:
    """The filtered audit log as CSV, oldest first; the download is itself audited."""
    query = _filtered()
    audit(
        "audit.export",
        current_user.email,
        remote_addr=request.remote_addr,
        filters={k: v for k, v in request.args.items() if v},
    )
    db.session.commit()
    return Response(
        stream_with_context(_csv_rows(query)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
