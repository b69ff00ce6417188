"""Registry pages for staff: what needs curation, exports with personal data, file import.

Two blueprints, each with its role check declared once: every staff role may see the
curation list and export personal data; only curators and admins may import.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    render_template,
    request,
    send_file,
    stream_with_context,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from surveyapp.auth.access import STAFF, restrict
from surveyapp.database import reading_only
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.registry import export, importer
from surveyapp.registry.models import CurationFlag, Entry
from surveyapp.registry.service import EntryFilters
from surveyapp.tabular import upload_path
from surveyapp.vocabulary import Role

blueprint = Blueprint("registry_staff", __name__, url_prefix="/staff/registry")
restrict(blueprint, STAFF)
imports = Blueprint("registry_import", __name__, url_prefix="/staff/registry/import")
restrict(imports, [Role.ADMIN, Role.CURATOR])

RECENTLY_RESOLVED = 50
MIMETYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": export.XLSX_MIMETYPE,
}


@blueprint.get("/curation")
def curation() -> str:
    """Every open curation flag, grouped by entry, in Table 1 order, and how the latest
    resolved ones were dealt with."""
    flags = db.session.scalars(
        select(CurationFlag)
        .where(CurationFlag.resolved_at.is_(None))
        .order_by(CurationFlag.institution_id, CurationFlag.entry_id, CurationFlag.id)
    ).all()
    resolved = db.session.scalars(
        select(CurationFlag)
        .where(CurationFlag.resolved_at.is_not(None))
        .order_by(CurationFlag.resolved_at.desc(), CurationFlag.id.desc())
        .limit(RECENTLY_RESOLVED)
    ).all()
    entry_ids = {f.entry_id for f in [*flags, *resolved] if f.entry_id} | {
        f.related_entry_id for f in flags if f.related_entry_id
    }
    entries = {
        e.id: e
        for e in db.session.scalars(
            select(Entry).where(Entry.id.in_(entry_ids)).options(selectinload(Entry.institution))
        )
    }
    return render_template(
        "registry/curation.html", flags=flags, resolved=resolved, entries=entries
    )


@blueprint.get("/export.<fmt>")
def export_with_personal_data(fmt: str) -> Response:
    """The whole registry with contact persons and emails; every download is audited.

    CSV and JSON stream as they are read; XLSX is the snapshot with contacts that
    ``flask registry build-xlsx --include-personal`` builds (never built in a request),
    served with the time it was built.
    """
    if fmt not in MIMETYPES:
        abort(404, description=_l("Exports are available as .csv, .xlsx and .json."))
    include_retired = request.args.get("include_retired") == "1" and fmt != "xlsx"
    built = export.snapshot_built(include_personal=True) if fmt == "xlsx" else None
    if fmt == "xlsx" and built is None:
        abort(
            404,
            description=_l(
                "The XLSX file with contacts is built nightly (by %(command)s) and has not "
                "been built yet. The CSV and JSON downloads are available now.",
                command="flask registry build-xlsx --include-personal",
            ),
        )
    audit(
        "registry.export",
        current_user.email,
        remote_addr=request.remote_addr,
        format=fmt,
        include_personal=True,
        include_retired=include_retired,
    )
    db.session.commit()
    if built is not None:
        return send_file(
            export.snapshot_path(include_personal=True),
            mimetype=MIMETYPES[fmt],
            as_attachment=True,
            download_name=f"atmp-registry-with-contacts-{built.date().isoformat()}.xlsx",
            last_modified=built,
            max_age=0,
        )
    records = export.export_records(
        EntryFilters(include_retired=include_retired),
        staff=True,
        chunk_size=current_app.config.get("EXPORT_CHUNK_SIZE", export.CHUNK_SIZE),
    )
    if fmt == "csv":
        body = stream_with_context(export.to_csv(records, include_personal=True))
    else:
        body = stream_with_context(export.to_json(records))
    filename = f"atmp-registry-with-contacts-{date.today().isoformat()}.{fmt}"  # noqa: DTZ011
    return Response(
        body,
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class ImportForm(FlaskForm):
    """A CSV or XLSX file with the seed CSV's columns."""

    file = FileField(
        _l("File"),
        validators=[
            FileRequired(_l("Choose a file to import.")),
            FileAllowed(["csv", "xlsx"], _l("Only .csv and .xlsx files can be imported.")),
        ],
    )


@imports.route("/", methods=["GET", "POST"])
def upload() -> Any:
    """Import a file: all rows or none, with every problem listed by row and column."""
    form = ImportForm()
    report = problems = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        actor = current_user.email
        db.session.rollback()  # the role check's read ends: no lock while the file is read
        config = current_app.config
        with tempfile.TemporaryDirectory() as workdir:
            path = upload_path(Path(workdir), upload.filename, "upload.csv")
            upload.save(path)
            try:
                rows = importer.read_source(
                    path,
                    max_rows=config["IMPORT_MAX_ROWS"],
                    max_cell=config["IMPORT_MAX_CELL_LENGTH"],
                )
                with reading_only():  # checked against the registry without the lock
                    checked = importer.check_rows(rows, source=path.name)
                    db.session.rollback()
                report = importer.import_rows(
                    rows,
                    source=path.name,
                    actor=actor,
                    name_threshold=config["DUPLICATE_NAME_THRESHOLD"],
                    checked=checked,
                )
            except importer.ImportFileError as exc:
                db.session.rollback()
                problems, status = exc.problems, 400
            else:
                db.session.commit()
                flash(report.summary(), "success")
    elif form.is_submitted():
        status = 400
    return render_template(
        "registry/import.html", form=form, report=report, problems=problems
    ), status
