"""``flask registry ...``: load Table 1, import and export registry files from the shell."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from surveyapp.database import reading_only
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.registry import cities, export, importer, merging
from surveyapp.registry.models import Entry, Institution
from surveyapp.registry.service import EntryFilters, flag_unlinkable_websites

registry_cli = AppGroup("registry", help="Load, import and export the master registry.")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _report(report: importer.ImportReport, verbose: bool) -> None:
    click.echo(report.summary())
    if verbose:
        for line in report.flags:
            click.echo(f"  needs curation: {line}")


def _run_import(action, verbose: bool) -> None:
    try:
        report = action()
    except importer.ImportFileError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    _report(report, verbose)


@registry_cli.command("import-table1")
@click.argument(
    "path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("-v", "--verbose", is_flag=True, help="List every value flagged for curation.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the registry has any entry.")
def import_table1_command(path: Path | None, verbose: bool, if_empty: bool) -> None:
    """Load RESTORE D1.4 Table 1 (the copy shipped in the package unless PATH is given).

    Safe to run again: rows already loaded are left alone.
    """
    if if_empty and db.session.scalar(select(Entry.id).limit(1)) is not None:
        click.echo("The registry already has entries; Table 1 not loaded (--if-empty).")
        return
    _run_import(
        lambda: importer.import_table1(
            path or importer.TABLE1_CSV,
            actor=_actor(),
            name_threshold=current_app.config["DUPLICATE_NAME_THRESHOLD"],
        ),
        verbose,
    )


@registry_cli.command("load-cities")
def load_cities_command() -> None:
    """Give Table 1's institutions the city their printed name gives (the curated mapping
    shipped in the package), to be confirmed by each institution in the next campaign.

    For a registry loaded before the mapping existed; safe to run again, and a city a
    respondent or curator gave is never replaced.
    """
    report = cities.apply_mapping(_actor())
    audit("registry.load_cities", _actor(), source=cities.MAPPING_REF, cities_set=report.set)
    db.session.commit()
    click.echo(report.summary())
    for line in report.kept or []:
        click.echo(f"  {line}")


@registry_cli.command("check-websites")
def check_websites_command() -> None:
    """Flag for curation every stored website that is no http(s) address or host name
    (a javascript: or data: value stored before such values were refused), and list them.

    Pages show these as plain text until a curator corrects them. Audited; safe to run
    again: an institution already flagged is not flagged twice.
    """
    found = flag_unlinkable_websites()
    new = [f for f in found if f.new]
    audit(
        "registry.check_websites",
        _actor(),
        failing=len(found),
        flagged=[f.institution.id for f in new],
    )
    db.session.commit()
    for found_flag in found:
        state = "flagged" if found_flag.new else "already flagged"
        institution = found_flag.institution
        click.echo(
            f"{state}: institution {institution.id} ({institution.name}): {found_flag.problem}"
        )
    click.echo(
        f"{len(found)} stored websites fail the rule; {len(new)} newly flagged for curation."
    )


@registry_cli.command("merge-institutions")
@click.argument("keep", type=int)
@click.argument("retire", type=int)
def merge_institutions_command(keep: int, retire: int) -> None:
    """Merge institution RETIRE into KEEP (numbers as on their pages): its entries move
    with their history, answers KEEP lacks are taken over, and RETIRE's identifier and
    page lead to KEEP for good. Audited; cannot be undone."""
    kept, retired = db.session.get(Institution, keep), db.session.get(Institution, retire)
    for number, found in ((keep, kept), (retire, retired)):
        if found is None:
            raise click.BadParameter(f"No institution has number {number}.")
    try:
        report = merging.merge_institutions(kept, retired, _actor())  # type: ignore[arg-type]
    except merging.MergeError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(
        f"Merged {report.retired.name} ({report.retired.public_id}) into "
        f"{report.kept.name} ({report.kept.public_id}): {report.entries_moved} entries moved, "
        f"{len(report.answers_taken)} answers taken over, "
        f"{report.flags_resolved} duplicate flags resolved."
    )


@registry_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="List every value flagged for curation.")
def import_command(path: Path, verbose: bool) -> None:
    """Import a CSV or XLSX file with the seed CSV's columns.

    Rows with an entry_id update that entry; rows without one are added and checked for
    duplicates. A malformed file is rejected whole, with each problem's row and column.
    """
    config = current_app.config
    _run_import(
        lambda: importer.import_file(
            path,
            actor=_actor(),
            max_rows=config["IMPORT_MAX_ROWS"],
            max_cell=config["IMPORT_MAX_CELL_LENGTH"],
            name_threshold=config["DUPLICATE_NAME_THRESHOLD"],
        ),
        verbose,
    )


@registry_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "json"]),
    default=None,
    help="Defaults to the file's extension.",
)
@click.option(
    "--include-personal",
    is_flag=True,
    help="Include contact persons and emails (keep such files private).",
)
@click.option("--include-retired", is_flag=True, help="Include retired entries.")
def export_command(
    path: Path, fmt: str | None, include_personal: bool, include_retired: bool
) -> None:
    """Write the registry to PATH as CSV, XLSX or JSON, each entry as it is read, so even a
    registry of 100,000 entries is written in seconds and in little memory."""
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in ("csv", "xlsx", "json"):
        raise click.BadParameter("use a .csv, .xlsx or .json file or --format", param_hint="PATH")
    count = export.ReadCount()
    with reading_only():  # SQLite's writers go on while the registry is read
        records = export.export_records(
            EntryFilters(include_retired=include_retired), staff=include_personal, count=count
        )
        if fmt == "xlsx":
            export.write_xlsx(records, include_personal, path)
        else:
            pieces = (
                export.to_csv(records, include_personal)
                if fmt == "csv"
                else export.to_json(records)
            )
            with path.open("w", encoding="utf-8", newline="" if fmt == "csv" else None) as out:
                out.writelines(pieces)
        db.session.rollback()  # the reading transaction ends before the audit's write
    audit(
        "registry.export",
        _actor(),
        format=fmt,
        entries=count.read,
        include_personal=include_personal,
    )
    db.session.commit()
    click.echo(
        f"{path}: {count.read} entries written as {fmt}"
        + (" with personal data" if include_personal else "")
    )


@registry_cli.command("build-xlsx")
@click.option(
    "--include-personal",
    is_flag=True,
    help="Build the staff's file with contact persons and emails instead of the public one.",
)
def build_xlsx_command(include_personal: bool) -> None:
    """Build the XLSX file the registry's XLSX link serves (run it nightly from cron).

    The public file holds what the public CSV holds, active entries without personal data;
    with --include-personal, the staff's file with contacts. Each is written beside the old
    one and renamed over it when complete, into the instance folder's exports/.
    """
    count = export.ReadCount()
    with reading_only():  # SQLite's writers go on while the registry is read
        records = export.export_records(EntryFilters(), staff=include_personal, count=count)
        path = export.build_snapshot(records, include_personal)
        db.session.rollback()  # the reading transaction ends before the audit's write
    audit(
        "registry.build_xlsx",
        _actor(),
        format="xlsx",
        entries=count.read,
        include_personal=include_personal,
    )
    db.session.commit()
    click.echo(
        f"{path}: {count.read} entries written as xlsx"
        + (" with personal data" if include_personal else "")
    )
