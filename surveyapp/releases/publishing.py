"""Making a release and checking one: the public registry frozen into files, hashed once.

A release reads the registry as the public sees it, through the same streaming export as
the live downloads, but with no personal data at all (a frozen copy could never honour a
later withdrawal of consent or an erasure), and with retired entries kept with their status
so a cited identifier never vanishes. Its files are
written into a temporary folder beside the others, hashed, made read-only and renamed into
place in one step; the :class:`~surveyapp.releases.models.Release` row with the hashes is
what publishes them. A caller whose commit fails calls :func:`discard_unpublished`.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from flask import current_app
from openpyxl import Workbook
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from surveyapp.database import utcnow
from surveyapp.definitions import registry_fields
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.registry import export
from surveyapp.registry.models import Institution
from surveyapp.registry.service import EntryFilters
from surveyapp.releases import changelog, metadata
from surveyapp.releases.models import Release, ReleaseFile

# 1.0, 2.3.1, 2026.1: numbers people can cite and sort.
VERSION_PATTERN = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,6}){1,2}$")
MEDIA_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".xlsx": export.XLSX_MIMETYPE,
    ".md": "text/markdown",
    ".cff": "application/x-yaml",
    "": "text/plain",
}
ENTRIES_CSV = "registry.csv"
ENTRIES_JSON = "registry.json"
ENTRIES_XLSX = "registry.xlsx"
INSTITUTIONS_CSV = "institutions.csv"
INSTITUTIONS_JSON = "institutions.json"
CHECKSUMS = "SHA256SUMS"
# A build's temporary folder untouched this long was abandoned (see _sweep_abandoned_drafts).
ABANDONED_AFTER_SECONDS = 24 * 3600
# The PostgreSQL advisory lock publishers take in turn ("RELEASES" in ASCII).
PUBLISH_LOCK = 0x52454C4541534553
INSTITUTIONS_PER_READ = 500


class ReleaseError(ValueError):
    """A release that cannot be made as asked (its version, or one already made)."""


class ReleaseNotFound(LookupError):
    """No release has this version."""


@dataclass(frozen=True)
class FileCheck:
    """One file of a release as published and as found on disk now."""

    name: str
    published: str
    found: str | None  # None: the file is missing

    @property
    def intact(self) -> bool:
        """Whether the file on disk is the one published."""
        return self.found == self.published


def releases_dir() -> Path:
    """Where release folders live (``RELEASES_DIR``)."""
    return Path(current_app.config["RELEASES_DIR"])


def release_dir(version: str) -> Path:
    """The folder of one release's files."""
    return releases_dir() / version


def version_key(version: str) -> tuple[int, ...]:
    """A version as numbers, so 1.10 sorts after 1.9."""
    return tuple(int(part) for part in version.split("."))


def releases() -> list[Release]:
    """Every release, newest first."""
    found = db.session.scalars(select(Release)).all()
    return sorted(found, key=lambda r: version_key(r.version), reverse=True)


def latest_release() -> Release | None:
    """The release with the highest version, or None before the first."""
    every = releases()
    return every[0] if every else None


def get_release(version: str) -> Release:
    """The release with this version; :class:`ReleaseNotFound` otherwise."""
    found = db.session.scalar(select(Release).where(Release.version == version))
    if found is None:
        raise ReleaseNotFound(f"There is no release {version}.")
    return found


def next_version(latest: Release | None) -> str:
    """The version to propose for the next release: 1.0 first, then the latest's last
    number plus one (1.0 -> 1.1, 2.1.3 -> 2.1.4)."""
    if latest is None:
        return "1.0"
    *head, last = latest.version.split(".")
    return ".".join([*head, str(int(last) + 1)])


def citation_text(release: Release) -> str:
    """How to cite a release in a reference list."""
    authors = "; ".join(current_app.config["RELEASE_AUTHORS"])
    title = current_app.config["RELEASE_TITLE"]
    site = current_app.config["SITE_URL"].rstrip("/")
    return (
        f"{authors} ({release.created_at.year}). {title}, release {release.version} "
        f"[dataset]. {site}/releases/{release.version}"
    )


def check_version(version: str) -> None:
    """Refuse a version that is malformed, taken, or not above the latest release's."""
    if not VERSION_PATTERN.match(version):
        raise ReleaseError(
            f"{version!r} is not a release version: use numbers separated by dots, "
            "such as 1.0 or 2.1.3."
        )
    latest = latest_release()
    if latest is not None and version_key(version) <= version_key(latest.version):
        raise ReleaseError(
            f"Release {latest.version} already exists; a new release needs a higher version "
            f"than {latest.version}."
        )
    if release_dir(version).exists():
        raise ReleaseError(
            f"A folder for {version} already exists in {releases_dir()} (a release being "
            "made, or one whose publication failed); remove it if no release of that "
            "version is listed."
        )


def read_consistently() -> None:
    """On PostgreSQL, read the whole release from one snapshot (REPEATABLE READ), so an
    edit made while it is written lands wholly in this release or wholly in the next; call
    before the transaction's first statement. SQLite's transactions are snapshots already."""
    bind = db.session.get_bind()
    if db.session().in_transaction() or (isinstance(bind, Connection) and bind.in_transaction()):
        return  # within a caller's transaction: its isolation is the caller's to choose
    if bind.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


@dataclass
class Draft:
    """A release written, hashed and sealed in its temporary folder, not yet published."""

    version: str
    notes: str
    created_at: datetime
    previous_version: str | None
    folder: Path
    entry_count: int
    institution_count: int
    changes: dict[str, int]
    hashes: dict[str, str]


def prepare_release(version: str, notes: str) -> Draft:
    """Write release ``version``'s files into a temporary folder beside the others: the
    public registry, the changelog since the latest release, the data package, the
    citation file and the hashes. Only reads the database, from one snapshot."""
    read_consistently()
    check_version(version)
    previous = latest_release()
    created_at = utcnow()
    root = releases_dir()
    root.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned_drafts(root)
    work = Path(tempfile.mkdtemp(dir=root, prefix=f".{version}-"))
    try:
        entry_count, institution_count = _write_registry(work)
        changes = changelog.write(
            release_dir(previous.version) if previous else None,
            work,
            previous.version if previous else None,
            version,
        )
        metadata.write_datapackage(work, version, created_at, notes, institution_columns())
        metadata.write_citation(work, version, created_at)
        hashes = _seal(work)
    except BaseException:
        discard_draft_folder(work)
        raise
    return Draft(
        version=version,
        notes=notes.strip(),
        created_at=created_at,
        previous_version=previous.version if previous else None,
        folder=work,
        entry_count=entry_count,
        institution_count=institution_count,
        changes=changes,
        hashes=hashes,
    )


def publish_release(draft: Draft, actor: str) -> Release:
    """Publish a prepared release: add it with its files' hashes (flushed, not committed)
    and an audit event, and move its folder into place. Refused when another release was
    published since the draft's changelog was written."""
    if db.session.get_bind().dialect.name == "postgresql":
        # One publisher at a time (SQLite's writers are one at a time already), so two
        # releases made at once cannot both start their changelog from the same one.
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK})
    check_version(draft.version)
    latest = latest_release()
    if (latest.version if latest else None) != draft.previous_version:
        raise ReleaseError(
            f"Release {latest.version if latest else ''} was published meanwhile; make "
            f"release {draft.version} again so that its changelog starts from it."
        )
    release = Release(
        version=draft.version,
        notes=draft.notes,
        created_at=draft.created_at,
        created_by=actor,
        previous_version=draft.previous_version,
        entry_count=draft.entry_count,
        institution_count=draft.institution_count,
        changes=draft.changes,
    )
    release.files = [
        ReleaseFile(
            name=name,
            media_type=MEDIA_TYPES[Path(name).suffix],
            size=(draft.folder / name).stat().st_size,
            sha256=digest,
        )
        for name, digest in draft.hashes.items()
    ]
    db.session.add(release)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise ReleaseError(f"Release {draft.version} was made by someone else meanwhile.") from exc
    draft.folder.rename(release_dir(draft.version))
    try:
        release_dir(draft.version).chmod(0o555)  # no file added, removed or renamed
        audit(
            "release.create",
            actor,
            target_type="release",
            target_id=release.id,
            version=draft.version,
            entries=draft.entry_count,
            institutions=draft.institution_count,
        )
    except BaseException:
        release_dir(draft.version).rename(draft.folder)
        raise
    return release


def make_release(version: str, notes: str, actor: str) -> Release:
    """Prepare and publish a release within the caller's transaction (flushed, not
    committed). The command and the staff page prepare it in a reading transaction of its
    own instead (see :func:`surveyapp.database.reading_only`)."""
    draft = prepare_release(version, notes)
    try:
        return publish_release(draft, actor)
    except BaseException:
        discard_draft_folder(draft.folder)
        raise


def _sweep_abandoned_drafts(root: Path) -> None:
    """Remove the temporary folders of builds that never finished (a worker killed by its
    timeout, a crash): a day old, no build is still writing them."""
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for folder in root.glob(".*-*"):
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            discard_draft_folder(folder)


def discard_draft_folder(folder: Path) -> None:
    """Remove a draft's temporary folder (its files are read-only once sealed)."""
    if folder.is_dir():
        folder.chmod(0o755)  # sealed drafts and published folders are read-only
        for path in folder.iterdir():
            path.chmod(0o644)
    shutil.rmtree(folder, ignore_errors=True)


def discard_unpublished(version: str) -> None:
    """Remove the folder of a release whose publication was rolled back (no row names it),
    so the version can be made again."""
    if db.session.scalar(select(func.count()).where(Release.version == version)):
        return
    discard_draft_folder(release_dir(version))


def verify_release(version: str) -> list[FileCheck]:
    """Each published file of the release against its file on disk now."""
    release = get_release(version)
    folder = release_dir(version)
    return [
        FileCheck(
            f.name, f.sha256, _sha256(folder / f.name) if (folder / f.name).is_file() else None
        )
        for f in release.files
    ]


def _write_registry(folder: Path) -> tuple[int, int]:
    """The public registry's entries (CSV, JSON and XLSX, written together in one read of
    the registry) and institutions (CSV, JSON); returns how many of each were written."""
    counter = export.ReadCount()
    records = _without_personal_data(
        export.export_records(EntryFilters(include_retired=True), staff=False, count=counter)
    )
    workbook = Workbook(write_only=True)  # rows go to disk as they come, not to memory
    sheet = workbook.create_sheet("registry")
    with (
        (folder / ENTRIES_CSV).open("w", encoding="utf-8", newline="") as table,
        (folder / ENTRIES_JSON).open("w", encoding="utf-8") as listing,
    ):
        _write_tables(records, export.export_columns(False), table, listing, sheet)
    workbook.save(folder / ENTRIES_XLSX)
    with (
        (folder / INSTITUTIONS_CSV).open("w", encoding="utf-8", newline="") as table,
        (folder / INSTITUTIONS_JSON).open("w", encoding="utf-8") as listing,
    ):
        institutions = _write_tables(institution_records(), institution_columns(), table, listing)
    return counter.read, institutions


def _without_personal_data(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Records with every personal field empty, consented or not: a release can never be
    changed, so a contact who later withdraws consent or asks for erasure could never be
    taken out of it. The live registry shows consented contacts; releases show none."""
    personal = [field.key for field in registry_fields() if field.personal]
    for record in records:
        for key in personal:
            record[key] = None
        yield record


def _write_tables(
    records: Iterable[dict[str, Any]],
    columns: list[str],
    table: TextIO,
    listing: TextIO,
    sheet: Any = None,
) -> int:
    """Write each record as it is read: as a line of a JSON array into ``listing``, and as
    a row of the export's cells (header first) into the CSV ``table`` and, if given, the
    worksheet; returns how many records were written. The CSV is byte for byte what the
    live export writes (:func:`surveyapp.registry.export.to_csv`)."""
    writer = csv.writer(table, lineterminator="\r\n")
    listing.write("[\n")
    written = -1  # the header
    for row in export.rows(_written_as_json(records, listing), columns):
        writer.writerow(row)
        if sheet is not None:
            sheet.append(row)
        written += 1
    listing.write("]\n")
    return written


def institution_columns() -> list[str]:
    """Columns of a release's institutions table: the API's institution record's keys."""
    return [
        "id",
        "public_id",
        "replaced_by",
        "replaced_by_public_id",
        *(f.key for f in export.institution_text_fields()),
        "country_code",
        "entries",
        "last_changed",
        *(f.key for f in export.institution_answer_fields()),
    ]


def institution_records() -> Iterator[dict[str, Any]]:
    """Every institution as the API shows it (merged ones with the public identifier of the
    one they live on in), by id, read a few hundred at a time."""
    query = (
        select(Institution)
        .options(selectinload(Institution.entries))
        .order_by(Institution.id)
        .execution_options(yield_per=INSTITUTIONS_PER_READ)
    )
    public_ids = {}
    for institution in db.session.scalars(query):
        record = export.institution_record(institution)
        replaced_by = record["replaced_by"]
        if replaced_by is not None and replaced_by not in public_ids:
            public_ids[replaced_by] = db.session.get(Institution, replaced_by).public_id  # type: ignore[union-attr]
        record["replaced_by_public_id"] = public_ids.get(replaced_by)
        yield {key: record.get(key) for key in institution_columns()}


def _written_as_json(records: Iterable[dict[str, Any]], listing: Any) -> Iterator[dict[str, Any]]:
    """Pass records on, writing each to ``listing`` as a line of a JSON array on the way."""
    for index, record in enumerate(records):
        listing.write(("," if index else "") + export.record_json(record) + "\n")
        yield record


def _seal(folder: Path) -> dict[str, str]:
    """Hash every file, write ``SHA256SUMS`` (as ``sha256sum --check`` reads it) and make
    the files read-only; returns name -> SHA-256, the checksum file included."""
    hashes = {path.name: _sha256(path) for path in sorted(folder.iterdir())}
    (folder / CHECKSUMS).write_text(
        "".join(f"{digest}  {name}\n" for name, digest in hashes.items()), encoding="utf-8"
    )
    hashes[CHECKSUMS] = _sha256(folder / CHECKSUMS)
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o755)
    return hashes


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
