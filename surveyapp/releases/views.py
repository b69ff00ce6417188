"""The public ``/releases`` pages: every release with its notes, counts and downloads, one
release's files with their hashes and how to cite it, its changelog, and the files.

Release files never change, so they are served with their SHA-256 as a strong ETag, the
release's time as Last-Modified, and a year's cache lifetime marked immutable.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, send_file
from flask_babel import format_decimal

from surveyapp.definitions import registry_fields
from surveyapp.i18n import gettext
from surveyapp.releases import changelog, publishing
from surveyapp.releases.models import Release

blueprint = Blueprint("releases", __name__, url_prefix="/releases")
# Items shown per kind of change on the changelog page; the files hold every one.
CHANGES_SHOWN = 500
YEAR_SECONDS = 365 * 24 * 3600


@blueprint.context_processor
def _file_sizes() -> dict[str, Any]:
    return {"file_size": file_size}


def file_size(size: int) -> str:
    """A file's size for people: kB under a megabyte, MB above, in the page's language."""
    if size < 1_000_000:
        return f"{format_decimal(max(size / 1000, 0.1), format='#,##0.#')} kB"
    return f"{format_decimal(size / 1_000_000, format='#,##0.#')} MB"


def _release(version: str) -> Release:
    try:
        return publishing.get_release(version)
    except publishing.ReleaseNotFound:
        abort(404, description=gettext("There is no release %(version)s.", version=version))


@blueprint.get("/")
def index() -> Any:
    """Every release, newest first."""
    return render_template("releases/index.html", releases=publishing.releases())


@blueprint.get("/<version>")
def release(version: str) -> Any:
    """One release: how to cite it, its notes, what changed, its files with their hashes."""
    found = _release(version)
    return render_template(
        "releases/release.html",
        release=found,
        citation=publishing.citation_text(found),
        latest=publishing.latest_release(),
        cite_base=current_app.config["SITE_URL"].rstrip("/") + "/id/",
    )


@blueprint.get("/<version>/changelog")
def release_changelog(version: str) -> Any:
    """What changed since the previous release, field by field."""
    found = _release(version)
    changes = changelog.read(publishing.release_dir(found.version))
    return render_template(
        "releases/changelog.html",
        release=found,
        changes=changes,
        sections=changelog.SECTIONS,
        headings=changelog.HEADINGS,
        labels={field.key: field.heading for field in registry_fields()},
        shown=CHANGES_SHOWN,
    )


@blueprint.get("/<version>/files/<name>")
def download(version: str, name: str) -> Any:
    """A file of the release, exactly as published (strong ETag: its SHA-256)."""
    found = _release(version)
    published = found.file(name)
    if published is None:
        abort(
            404,
            description=gettext(
                "Release %(version)s has no file %(name)s.", version=version, name=name
            ),
        )
    path = publishing.release_dir(found.version) / published.name
    if not path.is_file() or path.stat().st_size != published.size:
        abort(
            404,
            description=gettext(
                "This file is missing from the server or is not the one published; please "
                "tell the registry's curators."
            ),
        )
    response = send_file(
        path,
        mimetype=published.media_type,
        as_attachment=True,
        download_name=f"atmp-registry-{found.version}-{published.name}",
        etag=published.sha256,
        last_modified=found.created_at,
        conditional=True,
        max_age=YEAR_SECONDS,
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
