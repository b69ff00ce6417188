"""A campaign's raw responses and its non-responders, as spreadsheets for staff.

Laid out as LimeSurvey and REDCap users expect of a "raw data" export: one row per answered
programme block (REDCap's repeating instrument), the submission's own columns and the
institution's answers repeated on each of its rows, then one column per questionnaire field
(a field with parts, such as the ATMP types and their "other" text, gets a column per part).
Values are the stored codes, lists joined with "; ". Personal fields (contact person and
email) are included: only staff reach these exports, and every export is audited. Cells a
spreadsheet would run as a formula are neutralised as in the registry exports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from surveyapp.campaigns.models import Campaign, Invitation
from surveyapp.definitions import Definition, FieldDefinition, load_definition
from surveyapp.extensions import db
from surveyapp.questionnaire.models import Submission
from surveyapp.tabular import neutralise

FORMATS = ("csv", "xlsx")
SUBMISSION_COLUMNS = (
    "submission_id",
    "invitation_id",
    "campaign",
    "respondent_email",
    "respondent_name",
    "respondent_language",
    "registry_institution_id",
    "status",
    "version",
    "nothing_changed",
    "consent_store",
    "consent_publish",
    "started_at",
    "submitted_at",
    "late_at",
    "updated_at",
)
BLOCK_COLUMNS = ("block", "entry_id", "block_active")
NON_RESPONDER_COLUMNS = (
    "invitation_id",
    "contact_email",
    "contact_name",
    "language",
    "registry_institution_id",
    "institution",
    "country_code",
    "status",
    "first_sent_at",
    "last_sent_at",
    "reminders_sent",
    "opened_at",
    "started_at",
    "late_answer_at",
    "expires_at",
    "revoked_at",
    "opted_out_at",
    "bounced_at",
    "failure_reason",
)
Row = list[Any]


def _field_columns(field: FieldDefinition) -> list[str]:
    match field.type:
        case "atmp_types":
            return [field.key, f"{field.key}_other"]
        case "patient_count":
            return [f"{field.key}_estimate", f"{field.key}_qualifier"]
        case _:
            return [field.key]


def _field_cells(field: FieldDefinition, value: Any) -> list[Any]:
    match field.type:
        case "atmp_types":
            value = value or {}
            return ["; ".join(value.get("types", [])), value.get("other")]
        case "patient_count":
            value = value or {}
            return [value.get("estimate"), value.get("qualifier")]
        case "term_list":
            return ["; ".join(value or [])]
        case _:
            return [value]


def response_columns(definition: Definition) -> list[str]:
    """The header of the responses export: submission, institution, block, entry fields."""
    return [
        *SUBMISSION_COLUMNS,
        *(c for f in definition.level_fields("institution") for c in _field_columns(f)),
        *BLOCK_COLUMNS,
        *(c for f in definition.level_fields("entry") for c in _field_columns(f)),
    ]


def _submissions(campaign: Campaign) -> Iterator[Submission]:
    yield from db.session.scalars(
        select(Submission)
        .join(Invitation, Invitation.id == Submission.invitation_id)
        .where(Invitation.campaign_id == campaign.id)
        .options(
            selectinload(Submission.versions),
            selectinload(Submission.invitation).selectinload(Invitation.contact),
        )
        .order_by(Submission.id)
    )


def response_rows(campaign: Campaign) -> Iterator[Row]:
    """Header, then one row per programme block of every submission of the campaign (a
    draft too); a submission without blocks still gets one row. The answers are those of
    the last submitted version, or the draft's while nothing was submitted."""
    definition = load_definition(campaign.questionnaire_id, campaign.questionnaire_version)
    institution_fields = definition.level_fields("institution")
    entry_fields = definition.level_fields("entry")
    yield response_columns(definition)
    for submission in _submissions(campaign):
        invitation = submission.invitation
        latest = submission.latest_version
        answers = latest.answers if latest is not None else submission.answers
        own = [
            submission.id,
            submission.invitation_id,
            campaign.name,
            invitation.contact.email,
            invitation.contact.name,
            invitation.language,
            submission.institution_id,
            submission.status.value,
            latest.number if latest is not None else None,
            submission.nothing_changed,
            submission.consent_store,
            submission.consent_publish,
            invitation.started_at,
            submission.submitted_at,
            submission.late_at,
            submission.updated_at,
        ]
        institution = answers.get("institution", {})
        own += [
            cell for f in institution_fields for cell in _field_cells(f, institution.get(f.key))
        ]
        blocks = answers.get("entries", []) or [None]
        for number, block in enumerate(blocks, start=1):
            if block is None:
                yield own + [None] * (len(BLOCK_COLUMNS) + len(_entry_cells(entry_fields, {})))
                continue
            yield [
                *own,
                number,
                block.get("entry_id"),
                block.get("active", True),
                *_entry_cells(entry_fields, block.get("fields", {})),
            ]


def _entry_cells(fields: tuple[FieldDefinition, ...], values: dict[str, Any]) -> list[Any]:
    return [cell for f in fields for cell in _field_cells(f, values.get(f.key))]


def non_responder_rows(campaign: Campaign) -> Iterator[Row]:
    """Header, then every invitation of the campaign with no submitted answer, with where
    it stands (sent, opened, started, bounced, opted out ...) and when."""
    yield list(NON_RESPONDER_COLUMNS)
    late = dict(
        db.session.execute(
            select(Submission.invitation_id, Submission.late_at)
            .join(Invitation, Invitation.id == Submission.invitation_id)
            .where(Invitation.campaign_id == campaign.id, Submission.late_at.is_not(None))
        ).all()
    )
    invitations = db.session.scalars(
        select(Invitation)
        .where(Invitation.campaign_id == campaign.id, Invitation.submitted_at.is_(None))
        .options(selectinload(Invitation.contact), selectinload(Invitation.institution))
        .order_by(Invitation.id)
    )
    for invitation in invitations:
        yield [
            invitation.id,
            invitation.contact.email,
            invitation.contact.name,
            invitation.language,
            invitation.institution_id,
            invitation.institution.name if invitation.institution else None,
            invitation.country_code,
            invitation.status.value,
            invitation.first_sent_at,
            invitation.last_sent_at,
            invitation.reminders_sent,
            invitation.opened_at,
            invitation.started_at,
            late.get(invitation.id),
            invitation.expires_at,
            invitation.revoked_at,
            invitation.opted_out_at,
            invitation.bounced_at,
            invitation.failure_reason,
        ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return neutralise(str(value))


def to_csv(rows: Iterable[Row]) -> str:
    """CSV text (UTF-8, RFC 4180 quoting), every cell as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()


def to_xlsx(rows: Iterable[Row], sheet_name: str) -> bytes:
    """An XLSX workbook of one sheet; cells are neutralised, so none is a formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)
    for row in rows:
        sheet.append([_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write(rows: Iterable[Row], fmt: str, sheet_name: str) -> bytes:
    """The rows as a CSV or XLSX file's bytes."""
    if fmt == "xlsx":
        return to_xlsx(rows, sheet_name)
    return to_csv(rows).encode("utf-8")
