"""Importing contacts from CSV or XLSX without stopping everyone else's writes.

On SQLite one writer at a time holds the database's lock, and a request takes it at its
first query. An import that read its file, looked up institutions and wrote its rows in
one transaction held the lock for the whole file: others' saves failed after the busy
timeout and the mail worker stopped. So an import comes in two steps, each called by the
view or command that commits:

1. :func:`read_contacts` reads and checks the file's shape with no database access at all
   (the caller ends its transaction first, so no lock is held while a large file is read);
2. :func:`import_all` imports ``IMPORT_CHUNK_ROWS`` rows at a time, each batch committed
   by the caller's ``commit`` before the next, with a pause between for other writers to
   take the lock, and audits the whole import once at the end.

Good rows are kept, bad rows listed with row, column and reason; one contact per email
address (a re-import updates it); ``institution_id`` links the contact to that
institution, otherwise likely institutions are proposed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from surveyapp.campaigns.service import (
    CampaignError,
    link_contact,
    normalise_contact_email,
    propose_links,
    read_language,
    upsert_contact,
)
from surveyapp.database import let_other_writers_in
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import counted
from surveyapp.registry import values
from surveyapp.registry.models import Institution
from surveyapp.routing import id_from
from surveyapp.tabular import ImportProblem, SourceRow, Table, read_table
from surveyapp.text_input import has_line_break
from surveyapp.vocabulary import LinkStatus

CONTACT_COLUMNS = {"institution", "contact_person", "email", "country", "language"}


@dataclass
class ContactImportReport:
    """What a contact import did, and the rows it skipped with the reason."""

    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0
    proposed: int = 0
    skipped: list[ImportProblem] = field(default_factory=list)
    # addresses imported so far: a later row with one of them is a repeat
    seen: set[str] = field(default_factory=set, repr=False)
    # rows of the file committed so far, and where a database error stopped the import
    rows_done: int = 0
    interrupted_at: int | None = None

    def add(self, batch: ContactImportReport) -> None:
        """Count a committed batch in the whole import."""
        for counter in ("created", "updated", "unchanged", "linked", "proposed"):
            setattr(self, counter, getattr(self, counter) + getattr(batch, counter))
        self.skipped += batch.skipped

    def summary(self) -> str:
        """One line a person can read, then each skipped row."""
        line = (
            f"{self.source}: {counted(self.created, 'contact', 'contacts')} imported, "
            f"{self.updated} updated, {self.unchanged} unchanged, "
            f"{counted(len(self.skipped), 'row', 'rows')} skipped; "
            f"{self.linked} linked to institutions, "
            f"{counted(self.proposed, 'link', 'links')} proposed"
        )
        return line + "".join(f"\n  skipped {p}" for p in self.skipped)


def read_contacts(path: Path, *, max_rows: int) -> Table:
    """The file's rows, its shape checked (columns, sizes, row count); no database access.
    Raises ImportFileError for a file that cannot be imported at all."""
    return read_table(
        path,
        required={"email"},
        optional=CONTACT_COLUMNS | {"institution_id"},
        max_rows=max_rows,
        max_cell=500,
    )


def import_batches(table: Table, report: ContactImportReport, *, actor: str) -> Iterator[int]:
    """Import the table's rows ``IMPORT_CHUNK_ROWS`` at a time, yielding each batch's size
    so that the caller commits it (inside :func:`surveyapp.database.batched_writes`); a
    batch counts in ``report`` once committed, and after each commit others get to write."""
    size = current_app.config["IMPORT_CHUNK_ROWS"]
    for start in range(0, len(table.rows), size):
        if start:
            let_other_writers_in()
        rows = table.rows[start : start + size]
        batch = ContactImportReport(source=report.source, seen=report.seen)
        import_contact_rows(rows, batch, actor=actor)
        yield len(rows)
        report.add(batch)
        report.rows_done += len(rows)


def import_contact_rows(
    rows: Sequence[SourceRow], report: ContactImportReport, *, actor: str
) -> None:
    """Import one batch of rows into ``report`` (flushes; the caller commits)."""
    for row in rows:
        cells = {k: v.strip() for k, v in row.cells.items()}
        try:
            email = normalise_contact_email(cells["email"])
        except CampaignError as exc:
            report.skipped.append(ImportProblem(row.number, "email", str(exc)))
            continue
        if email in report.seen:
            report.skipped.append(
                ImportProblem(row.number, "email", f"{email} appears earlier in the file")
            )
            continue
        problems, details = _contact_details(row.number, cells)
        if problems:
            report.skipped += problems
            continue
        report.seen.add(email)
        contact, outcome = upsert_contact(email, source=f"import:{report.source}", **details)
        setattr(report, outcome, getattr(report, outcome) + 1)
        institution = details.pop("institution", None)
        if institution is not None:
            link_contact(
                contact,
                institution,
                LinkStatus.CONFIRMED,
                actor=actor,
                reasons=["institution_id given in the import"],
            )
            report.linked += 1
        elif not contact.confirmed_institutions:
            report.proposed += len(propose_links(contact))


def import_all(
    table: Table, report: ContactImportReport, *, actor: str, commit: Callable[[], None]
) -> None:
    """Import every batch, ``commit`` (the caller's) ending each, then audit the import.

    A database error (another change to the same contact at the same moment) stops it:
    the failed batch is rolled back, the batches before it stay, and the import is audited
    as interrupted at that row before the error is raised again. Importing the file again
    completes it: rows already imported are updated, not duplicated."""
    try:
        for _size in import_batches(table, report, actor=actor):
            commit()
    except SQLAlchemyError:
        db.session.rollback()
        report.interrupted_at = table.rows[report.rows_done].number
        record_import(report, actor=actor)
        commit()
        raise
    record_import(report, actor=actor)
    commit()


def record_import(report: ContactImportReport, *, actor: str) -> None:
    """Audit the whole import once."""
    audit(
        "contacts.import",
        actor,
        source=report.source,
        created=report.created,
        updated=report.updated,
        skipped=len(report.skipped),
        interrupted_at_row=report.interrupted_at,
    )


def _contact_details(
    number: int, cells: dict[str, str]
) -> tuple[list[ImportProblem], dict[str, Any]]:
    """A row's contact details, or the problems that keep it out."""
    problems: list[ImportProblem] = []
    details: dict[str, Any] = {
        "name": cells.get("contact_person") or None,
        "institution_name": cells.get("institution") or None,
    }
    for column in ("contact_person", "institution"):  # the name goes into email headers
        if has_line_break(cells.get(column)):
            problems.append(
                ImportProblem(number, column, "holds a line break; write it on one line")
            )
    country = cells.get("country", "")
    reading = values.read_country(country)
    if reading.problem:
        problems.append(ImportProblem(number, "country", reading.problem))
    details["country_code"] = reading.value
    try:
        written = cells.get("language", "")
        # None when the file names none: a new contact then gets their country's language.
        details["language"] = read_language(written) if written.strip() else None
    except CampaignError as exc:
        problems.append(ImportProblem(number, "language", str(exc)))
    raw_id = cells.get("institution_id", "")
    if raw_id:
        institution_id = id_from(raw_id)
        institution = db.session.get(Institution, institution_id) if institution_id else None
        if institution is None:
            problems.append(
                ImportProblem(
                    number, "institution_id", f"no registry institution has id {raw_id!r}"
                )
            )
        details["institution"] = institution
    return problems, details
