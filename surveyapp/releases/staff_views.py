"""Making a release from the browser: curators and admins, declared once.

The page builds the release within the request, which suits a registry of the size this one
has (Table 1 and what campaigns add: seconds); above ``RELEASE_PAGE_MAX_ENTRIES`` entries
it shows the command instead, so a long build never runs into the server's timeout.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from surveyapp.auth.access import restrict
from surveyapp.database import reading_only
from surveyapp.extensions import db
from surveyapp.i18n import gettext as _
from surveyapp.registry.models import Entry
from surveyapp.releases import publishing
from surveyapp.releases.forms import ReleaseForm
from surveyapp.vocabulary import Role

blueprint = Blueprint("release_staff", __name__, url_prefix="/staff/releases")
restrict(blueprint, [Role.ADMIN, Role.CURATOR])


@blueprint.route("/new", methods=["GET", "POST"])
def new() -> Any:
    """The form for a new release, with the latest release and the next version proposed."""
    latest = publishing.latest_release()
    entries = db.session.scalar(select(func.count()).select_from(Entry)) or 0
    too_large = entries > current_app.config["RELEASE_PAGE_MAX_ENTRIES"]
    form = ReleaseForm()
    if not form.is_submitted():
        form.version.data = publishing.next_version(latest)
    if form.validate_on_submit() and not too_large:
        version = form.version.data.strip()
        draft: publishing.Draft | None = None
        made = None
        try:
            db.session.rollback()  # reads only so far; the build reads without the write lock
            with reading_only():
                draft = publishing.prepare_release(version, form.notes.data or "")
                db.session.rollback()
            made = publishing.publish_release(draft, current_user.email)
            db.session.commit()
        except BaseException as exc:
            db.session.rollback()
            if made is not None:  # moved into place, then the commit failed
                publishing.discard_unpublished(version)
            if draft is not None:
                publishing.discard_draft_folder(draft.folder)
            if not isinstance(exc, publishing.ReleaseError):
                raise
            form.version.errors = [*form.version.errors, str(exc)]
        else:
            flash(
                _(
                    "Release %(version)s is published: %(entries)d entries, %(institutions)d "
                    "institutions.",
                    version=made.version,
                    entries=made.entry_count,
                    institutions=made.institution_count,
                ),
                "success",
            )
            return redirect(url_for("releases.release", version=made.version))
    return render_template(
        "releases/new.html", form=form, latest=latest, entries=entries, too_large=too_large
    )
