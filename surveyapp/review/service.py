"""Curator review: the queue, the field-by-field comparison, and the three decisions.

Nothing a respondent sends reaches the registry before a curator approves it here. An
approval writes every chosen value through :func:`surveyapp.registry.service.change_fields`
as versions that name the submission; requesting changes reopens the invitation and emails
the respondent; a rejection keeps its reason. Every decision checks the row versions the
curator's page was built from, so of two curators deciding at once the first wins and the
second is told what changed. Functions here flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from surveyapp.auth.models import User
from surveyapp.campaigns import service as campaigns
from surveyapp.campaigns.models import Invitation, Nomination
from surveyapp.database import utcnow
from surveyapp.definitions import Definition, FieldDefinition, load_definition, table1
from surveyapp.definitions import answers as answer_types
from surveyapp.extensions import db
from surveyapp.history.service import Provenance, audit
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.mail.service import queue
from surveyapp.pagination import Page, paginate
from surveyapp.questionnaire import suggestion_confirmation as confirmation
from surveyapp.questionnaire.models import Submission, SubmissionVersion
from surveyapp.registry import duplicates, values
from surveyapp.registry import service as registry
from surveyapp.registry.models import Entry, Institution
from surveyapp.review.models import Review
from surveyapp.routing import id_from
from surveyapp.vocabulary import (
    ChangeSource,
    Decision,
    InvitationStatus,
    LinkStatus,
    MessageKind,
    NominationStatus,
    SubmissionStatus,
)

OPEN = (SubmissionStatus.SUBMITTED, SubmissionStatus.IN_REVIEW)
DECIDABLE = OPEN


class ReviewError(Exception):
    """A decision cannot be taken as asked; the message says why, for the curator."""


class ReviewConflict(ReviewError):
    """Someone else decided the submission or changed the registry since the page was shown.

    ``changes`` says what happened meanwhile, one line each, for the conflict page.
    """

    def __init__(self, message: Any, changes: list[str]) -> None:
        super().__init__(str(message))
        self.changes = changes


# The queue -----------------------------------------------------------------------------


@dataclass
class QueueFilters:
    """What the curators' queue can be filtered and sorted by."""

    status: str = "open"
    campaign_id: int | None = None
    country: str = ""
    older_than_days: int | None = None
    unverified: str = ""
    sort: str = "oldest"


def submission_country() -> Any:
    """SQL: the submission's country, from its institution or, for a new one, its answers."""
    answered = Submission.answers["institution"]["country"].as_string()
    return func.coalesce(Institution.country_code, answered)


def _queue_query(filters: QueueFilters, now: datetime) -> Select[tuple[Submission]]:
    query = (
        select(Submission)
        .outerjoin(Institution, Institution.id == Submission.institution_id)
        .outerjoin(Invitation, Invitation.id == Submission.invitation_id)
        .where(Submission.status != SubmissionStatus.DRAFT)
    )
    if filters.status == "open":
        query = query.where(Submission.status.in_(OPEN))
    elif filters.status in SubmissionStatus.__members__.values():
        query = query.where(Submission.status == SubmissionStatus(filters.status))
    if filters.campaign_id:
        query = query.where(Invitation.campaign_id == filters.campaign_id)
    if filters.country:
        query = query.where(submission_country() == filters.country.upper())
    if filters.older_than_days:
        query = query.where(
            Submission.submitted_at <= now - timedelta(days=filters.older_than_days)
        )
    if filters.unverified == "yes":
        query = query.where(Submission.unverified.is_(True), _unconfirmed_suggestion())
    elif filters.unverified == "confirmed":
        query = query.where(
            Submission.unverified.is_(True), Submission.email_confirmed_at.is_not(None)
        )
    elif filters.unverified == "no":
        query = query.where(Submission.unverified.is_(False))
    return query


def _unconfirmed_suggestion() -> Any:
    """SQL: a public suggestion nobody confirmed by email (sent without an address)."""
    return Submission.email_confirmed_at.is_(None) & Submission.invitation_id.is_(None)


SORTS = {
    "oldest": (Submission.submitted_at.asc(), Submission.id),
    "newest": (Submission.submitted_at.desc(), Submission.id.desc()),
    "institution": (
        func.coalesce(
            Institution.name, Submission.answers["institution"]["institution"].as_string()
        ),
        Submission.id,
    ),
    "country": (submission_country(), Submission.id),
}


def review_queue(
    filters: QueueFilters, page: int = 1, per_page: int = 50, now: datetime | None = None
) -> Page[Submission]:
    """A page of submitted submissions matching the filters."""
    ordered = (
        _queue_query(filters, now or utcnow())
        .order_by(*SORTS.get(filters.sort, SORTS["oldest"]))
        .options(
            selectinload(Submission.institution),
            selectinload(Submission.invitation).selectinload(Invitation.contact),
            selectinload(Submission.invitation).selectinload(Invitation.campaign),
            selectinload(Submission.assigned_to),
            selectinload(Submission.versions),  # each row shows its latest version's name
        )
    )
    return paginate(ordered, page, per_page)


def status_counts() -> dict[SubmissionStatus, int]:
    """How many submissions are in each status (drafts included, for the full picture)."""
    counts = dict.fromkeys(SubmissionStatus, 0)
    for status, count in db.session.execute(
        select(Submission.status, func.count()).group_by(Submission.status)
    ):
        counts[status] = count
    return counts


def unverified_count() -> int:
    """How many unverified public suggestions wait for a decision (their own queue view)."""
    return db.session.scalar(
        select(func.count()).where(
            Submission.status.in_(OPEN), Submission.unverified.is_(True), _unconfirmed_suggestion()
        )
    )


def awaiting_confirmation_count(now: datetime | None = None) -> int:
    """How many suggestions wait for their sender to confirm by email (never shown)."""
    awaiting = confirmation.awaiting(now or utcnow()).subquery()
    return db.session.scalar(select(func.count()).select_from(awaiting))


def expired_count(now: datetime | None = None) -> int:
    """How many suggestions were never confirmed in time (a bulk dismissal deletes them)."""
    expired = confirmation.expired(now or utcnow()).subquery()
    return db.session.scalar(select(func.count()).select_from(expired))


@dataclass
class Dismissal:
    """What a bulk dismissal did: suggestions rejected, unconfirmed ones deleted."""

    dismissed: int
    purged: int


def dismissable(submission_ids: list[int]) -> list[Submission]:
    """Of the given submissions, the unverified public suggestions still open (what a
    bulk dismissal may touch: never an invited answer or a confirmed suggestion)."""
    if not submission_ids:
        return []
    return list(
        db.session.scalars(
            select(Submission)
            .where(
                Submission.id.in_(submission_ids),
                Submission.status.in_(OPEN),
                Submission.unverified.is_(True),
                _unconfirmed_suggestion(),
            )
            .order_by(Submission.id)
        )
    )


def dismiss_unverified(
    submission_ids: list[int], curator: User, now: datetime | None = None
) -> Dismissal:
    """Reject the listed unverified suggestions as spam, emailing nobody (spam gets no
    reply), set their nominations aside, and delete suggestions never confirmed in time.
    Audited once with the counts."""
    now = now or utcnow()
    suggestions = dismissable(submission_ids)
    for submission in suggestions:
        submission.status = SubmissionStatus.REJECTED
        _record(
            submission,
            Decision.REJECTED,
            curator.email,
            reason=str(_l("Dismissed in bulk as an unverified public suggestion.")),
        )
    if suggestions:
        for nomination in db.session.scalars(
            select(Nomination).where(
                Nomination.submission_id.in_([s.id for s in suggestions]),
                Nomination.status == NominationStatus.NEW,
            )
        ):
            nomination.status = NominationStatus.DISMISSED
            nomination.decided_by = curator.email
            nomination.decided_at = now
    db.session.flush()
    purged = confirmation.purge_expired(now)
    audit(
        "review.dismiss_unverified",
        curator.email,
        target_type="submission",
        count=len(suggestions),
        submission_ids=[s.id for s in suggestions],
        purged_unconfirmed=purged,
    )
    return Dismissal(dismissed=len(suggestions), purged=purged)


def in_flight_for_institution(submission: Submission) -> list[Submission]:
    """Other undecided submissions about the same institution, to review together."""
    if submission.institution_id is None:
        return []
    return list(
        db.session.scalars(
            select(Submission)
            .where(
                Submission.institution_id == submission.institution_id,
                Submission.id != submission.id,
                Submission.status.in_(OPEN),
            )
            .order_by(Submission.id)
            # the comparison reads each one's answers, the page names who sent it
            .options(
                selectinload(Submission.versions),
                selectinload(Submission.invitation).selectinload(Invitation.contact),
            )
        )
    )


def siblings_by_institution(submissions: list[Submission]) -> dict[int, list[int]]:
    """For each listed submission, the ids of other open ones about its institution."""
    institution_ids = {s.institution_id for s in submissions if s.institution_id}
    if not institution_ids:
        return {}
    rows = db.session.execute(
        select(Submission.id, Submission.institution_id).where(
            Submission.institution_id.in_(institution_ids), Submission.status.in_(OPEN)
        )
    ).all()
    result: dict[int, list[int]] = {}
    for submission in submissions:
        others = [i for i, inst in rows if inst == submission.institution_id and i != submission.id]
        if others:
            result[submission.id] = others
    return result


def get_submission(submission_id: int) -> Submission | None:
    """A submitted submission by id (drafts are the respondent's own, never shown)."""
    found = db.session.get(Submission, submission_id)
    if found is None or found.status == SubmissionStatus.DRAFT:
        return None
    return found


# The comparison ------------------------------------------------------------------------


def _normal(value: Any) -> Any:
    """A value with empty parts removed, so "" and None and [] compare equal."""
    if isinstance(value, dict):
        cleaned = {k: _normal(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None} or None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        return [v for v in value if v not in (None, "")] or None
    return value


def same(a: Any, b: Any) -> bool:
    """True when two controlled values say the same thing."""
    return _normal(a) == _normal(b)


def shown(field: FieldDefinition, value: Any, language: str | None = None) -> str:
    """The text a curator reads for a value: Table 1's rendering, or a generic type's
    (its vocabulary labels in ``language`` where translated)."""
    if answer_types.is_generic(field):
        return answer_types.render(field, value, language)
    return values.render(field, value)


def read_typed(field: FieldDefinition, text: str) -> Any:
    """Read a curator's corrected text as the field's type reads it (a Reading)."""
    if answer_types.is_generic(field):
        return answer_types.read(field, text)
    return values.read(field, text)


def held(field: FieldDefinition) -> bool:
    """Whether the registry keeps a value for the field: Table 1's and generic types."""
    return answer_types.is_generic(field) or field.key in {f.key for f in table1().fields}


@dataclass
class FieldRow:
    """One field side by side: submitted, registry now, as Table 1 printed it.

    ``asked`` is False for a field the registry holds (asked by another questionnaire
    version) that the submission's version did not ask: it is shown, never changed.
    """

    path: str
    field: FieldDefinition
    submitted: Any
    submitted_text: str
    registry: Any = None
    registry_text: str = ""
    printed: str | None = None
    changed: bool = False
    others: list[tuple[int, str]] = field(default_factory=list)
    asked: bool = True


BlockKind = Literal["changed", "unchanged", "new", "retire"]


@dataclass
class BlockComparison:
    """One entry block of the submission with the registry entry it names, if any."""

    index: int
    kind: BlockKind
    entry: Entry | None
    rows: list[FieldRow]

    @property
    def changed_rows(self) -> list[FieldRow]:
        """Rows whose submitted value differs from the registry's."""
        return [r for r in self.rows if r.changed]


@dataclass
class Comparison:
    """The whole submission against the registry, for the review page and the approval."""

    submission: Submission
    version: SubmissionVersion
    definition: Definition
    institution: Institution | None
    institution_rows: list[FieldRow]
    blocks: list[BlockComparison]
    not_mentioned: list[Entry]
    others: list[Submission] = field(default_factory=list)

    @property
    def rows(self) -> list[FieldRow]:
        """Every row, institution first."""
        return self.institution_rows + [r for b in self.blocks for r in b.rows]

    @property
    def choice_rows(self) -> list[FieldRow]:
        """Rows the curator chooses a value for: changed ones, and every row of a new entry."""
        chosen = [r for r in self.institution_rows if r.changed]
        for block in self.blocks:
            chosen += block.rows if block.kind == "new" else block.changed_rows
        return chosen

    @property
    def seen_versions(self) -> dict[str, int]:
        """Row versions the comparison was made against (sent back with the decision)."""
        seen = {"submission": self.submission.row_version}
        if self.institution is not None:
            seen[f"institution-{self.institution.id}"] = self.institution.row_version
        for block in self.blocks:
            if block.entry is not None:
                seen[f"entry-{block.entry.id}"] = block.entry.row_version
        return seen


def _printed(target: Institution | Entry | None, key: str) -> str | None:
    if target is None or target.printed is None:
        return None
    return target.printed.get(key)


def _other_answers(
    others: list[Submission], key: str, entry_id: int | None
) -> list[tuple[int, Any]]:
    found = []
    for other in others:
        answers = (other.latest_version.answers if other.latest_version else other.answers) or {}
        if entry_id is None:
            found.append((other.id, answers.get("institution", {}).get(key)))
            continue
        for block in answers.get("entries", []):
            if block.get("entry_id") == entry_id:
                found.append((other.id, block.get("fields", {}).get(key)))
    return found


def compare(
    submission: Submission, merge_into: Institution | None = None, language: str | None = None
) -> Comparison:
    """Pair the latest submitted version with the registry, field by field.

    A submission not tied to an institution is compared with ``merge_into`` when the curator
    considers merging it into one; otherwise everything it says is new. Generic values are
    shown with their labels in ``language``.
    """
    version = submission.latest_version
    if version is None:
        raise ReviewError(_l("This submission has not been submitted yet."))
    definition = load_definition(submission.definition_id, submission.definition_version)
    institution = submission.institution or merge_into
    answers = version.answers or {}
    others = in_flight_for_institution(submission)

    def row(
        path: str, f: FieldDefinition, submitted: Any, target: Institution | Entry | None
    ) -> FieldRow:
        """One field of the submission against the registry target it describes."""
        compared = FieldRow(path, f, submitted, shown(f, submitted, language))
        if not held(f):
            return compared  # the registry keeps no value for it: nothing to merge
        if target is None:
            compared.changed = _normal(submitted) is not None
            return compared
        compared.registry = registry.controlled_value(target, f.key)
        compared.registry_text = (
            shown(f, compared.registry, language)
            if answer_types.is_generic(f)
            else target.texts.get(f.key) or values.render(f, compared.registry)
        )
        compared.printed = _printed(target, f.key)
        compared.changed = not version.nothing_changed and not same(submitted, compared.registry)
        entry_id = target.id if isinstance(target, Entry) else None
        compared.others = [
            (sid, shown(f, v, language))
            for sid, v in _other_answers(others, f.key, entry_id)
            if not same(v, submitted)
        ]
        return compared

    def not_asked(prefix: str, target: Institution | Entry | None) -> list[FieldRow]:
        """Rows for values the registry holds that this version did not ask."""
        if target is None:
            return []
        level = "institution" if isinstance(target, Institution) else "entry"
        asked = {f.key for f in definition.fields}
        return [
            FieldRow(
                f"{prefix}.{f.key}",
                f,
                None,
                "",
                registry=value,
                registry_text=shown(f, value, language),
                asked=False,
            )
            for f in registry.generic_fields().values()
            if f.level == level
            and f.key not in asked
            and (value := registry.controlled_value(target, f.key)) is not None
        ]

    institution_rows = [
        row(f"institution.{f.key}", f, answers.get("institution", {}).get(f.key), institution)
        for f in definition.level_fields("institution")
    ] + not_asked("institution", institution)
    entries = {e.id: e for e in registry.entries_with_types(institution)} if institution else {}
    blocks = []
    for index, block in enumerate(answers.get("entries", [])):
        entry = entries.get(block.get("entry_id")) if submission.institution_id else None
        rows = [
            row(f"entries.{index}.{f.key}", f, block.get("fields", {}).get(f.key), entry)
            for f in definition.level_fields("entry")
        ] + not_asked(f"entries.{index}", entry)
        kind: BlockKind
        if entry is None:
            kind = "new"
        elif not block.get("active", True):
            kind = "retire" if entry.is_active else "unchanged"
        else:
            kind = "changed" if any(r.changed for r in rows) else "unchanged"
        blocks.append(BlockComparison(index, kind, entry, rows))
    mentioned = {b.entry.id for b in blocks if b.entry is not None}
    not_mentioned = (
        [e for e in entries.values() if e.is_active and e.id not in mentioned]
        if submission.institution_id
        else []
    )
    return Comparison(
        submission,
        version,
        definition,
        institution,
        institution_rows,
        blocks,
        not_mentioned,
        others,
    )


def duplicate_candidates(
    submission: Submission, name_threshold: float
) -> list[tuple[Institution, duplicates.InstitutionCandidate]]:
    """Registry institutions that may be the facility a new-institution submission describes."""
    if submission.institution_id is not None or submission.latest_version is None:
        return []
    answers = submission.latest_version.answers or {}
    about = answers.get("institution", {})
    blocks = [b.get("fields", {}) for b in answers.get("entries", [])]
    emails = {b.get("contact_email") for b in blocks if b.get("contact_email")}
    if submission.submitter_email:
        emails.add(submission.submitter_email)
    described = duplicates.Description(
        name=about.get("institution") or "",
        country_code=about.get("country"),
        website_domain=values.website_domain(about.get("website")),
        contact_emails=emails,  # type: ignore[arg-type]
        contact_persons={b["contact_person"] for b in blocks if b.get("contact_person")},
    )
    found = duplicates.institution_candidates(described, name_threshold=name_threshold)
    institutions = {
        i.id: i
        for i in db.session.scalars(
            select(Institution).where(Institution.id.in_([c.institution_id for c in found]))
        )
    }
    return [(institutions[c.institution_id], c) for c in found]


# Decisions -----------------------------------------------------------------------------


def _what_happened(submission: Submission) -> list[str]:
    """What another curator did to a submission, one line each, for the conflict page."""
    lines = []
    last = db.session.scalar(
        select(Review)
        .where(Review.submission_id == submission.id)
        .order_by(Review.id.desc())
        .limit(1)
    )
    if last is not None:
        lines.append(
            f"{last.curator} decided: {last.decision.label} ({last.created_at:%Y-%m-%d %H:%M} UTC)"
        )
    if submission.assigned_to is not None:
        lines.append(f"assigned to {submission.assigned_to.email}")
    lines.append(f"the submission is now: {submission.status.label}")
    return lines


def _check_version(submission: Submission, seen_row_version: int) -> None:
    """Raise ReviewConflict when the submission changed since the curator's page showed it."""
    if submission.row_version != seen_row_version:
        raise ReviewConflict(
            _l("Someone else acted on this submission meanwhile."), _what_happened(submission)
        )


def _check_seen(comparison: Comparison, seen: dict[str, int]) -> None:
    """Raise ReviewConflict when anything the page showed has changed since."""
    changes: list[str] = []
    submission = comparison.submission
    if seen.get("submission") != submission.row_version:
        changes += _what_happened(submission)
    since = seen.get("shown_at_epoch")
    shown_at = datetime.fromtimestamp(since, tz=UTC) if since else None
    for key, number in seen.items():
        kind, _, raw_id = key.partition("-")
        target_id = id_from(raw_id)
        if kind not in ("institution", "entry") or target_id is None:
            continue
        target = (
            db.session.get(Institution, target_id)
            if kind == "institution"
            else db.session.get(Entry, target_id)
        )
        if target is None or target.row_version == number:
            continue
        versions = registry.versions_since(target, shown_at) if shown_at else []
        described = "; ".join(
            f"{c.field}: {c.old_text or '—'} → {c.new_text or '—'}"
            for v in versions
            for c in v.changes
        )
        who = ", ".join(sorted({v.actor for v in versions})) or "someone"
        changes.append(f"{kind} {raw_id} was changed by {who}: {described or 'see its history'}")
    if changes:
        raise ReviewConflict(
            _l("Someone else acted on this submission or its registry entries meanwhile."),
            changes,
        )


def _check_decidable(submission: Submission) -> None:
    if submission.status not in DECIDABLE:
        raise ReviewError(
            _l(
                "This submission is %(status)s; only submitted ones can be decided.",
                status=submission.status.label,
            )
        )


def take(submission: Submission, curator: User, seen_row_version: int) -> None:
    """Assign a submission to a curator and close it to amendments by the respondent."""
    _check_version(submission, seen_row_version)
    _check_decidable(submission)
    submission.status = SubmissionStatus.IN_REVIEW
    submission.assigned_to_id = curator.id
    submission.assigned_at = utcnow()
    if submission.invitation is not None:
        campaigns.set_status(
            submission.invitation, InvitationStatus.IN_REVIEW, curator=curator.email
        )
    audit(
        "review.take",
        curator.email,
        target_type="submission",
        target_id=submission.id,
        version=submission.latest_version.number if submission.latest_version else None,
    )
    db.session.flush()


Choice = Literal["registry", "submitted", "custom", "skip"]


@dataclass
class FieldChoice:
    """What the curator chose for one field: keep, take, or a corrected text."""

    choice: Choice = "submitted"
    custom: str = ""
    comment: str = ""


@dataclass
class Approval:
    """Everything an approval decides, as the review form sent it."""

    seen: dict[str, int]
    choices: dict[str, FieldChoice] = field(default_factory=dict)
    add_blocks: set[int] = field(default_factory=set)
    retire_blocks: dict[int, str] = field(default_factory=dict)
    comment: str = ""


def _chosen(row: FieldRow, choice: FieldChoice) -> registry.FieldUpdate | None:
    """The update a choice makes, or None to keep the registry's value."""
    match choice.choice:
        case "registry" | "skip":
            return None
        case "custom":
            reading = read_typed(row.field, choice.custom)
            if reading.problem:
                raise ReviewError(
                    _l(
                        "%(field)s: the corrected value cannot be read: %(problem)s",
                        field=row.field.label,
                        problem=reading.problem,
                    )
                )
            return registry.FieldUpdate(reading.value, choice.custom.strip())
        case _:
            website = row.field.type == "url" and row.submitted
            if website and (problem := values.website_problem(str(row.submitted))):
                raise ReviewError(
                    _l(
                        "%(field)s: the submitted value cannot be taken: %(problem)s. "
                        "Keep the registry's value or type a corrected one.",
                        field=row.field.label,
                        problem=problem,
                    )
                )
            return registry.FieldUpdate(row.submitted, row.submitted_text)


def _updates(
    rows: list[FieldRow], choices: dict[str, FieldChoice]
) -> dict[str, registry.FieldUpdate]:
    updates = {}
    for row in rows:
        if not row.changed:
            continue
        update = _chosen(row, choices.get(row.path, FieldChoice()))
        if update is not None:
            updates[row.field.key] = update
    return updates


def _record(
    submission: Submission,
    decision: Decision,
    curator: str,
    *,
    comment: str = "",
    reason: str | None = None,
    field_comments: dict[str, str] | None = None,
    notified: bool = False,
) -> Review:
    version = submission.latest_version
    review = Review(
        submission_id=submission.id,
        version_number=version.number if version else 0,
        decision=decision,
        curator=curator,
        comment=comment.strip() or None,
        reason=reason,
        field_comments={k: v.strip() for k, v in (field_comments or {}).items() if v.strip()},
        notified=notified,
    )
    db.session.add(review)
    return review


def _link_respondent(submission: Submission, institution: Institution, curator: User) -> None:
    """Tie an invited contact who described a new institution to the institution approved.

    The contact then speaks for it (a confirmed link), so the next campaign invites them
    for it with the registry's values pre-filled instead of a blank form that would
    describe it a second time; the invitation itself now names it too, so inviting again
    in this campaign sends nothing new.
    """
    invitation = submission.invitation
    if invitation is None or invitation.institution_id is not None:
        return
    campaigns.link_contact(
        invitation.contact,
        institution,
        LinkStatus.CONFIRMED,
        actor=curator.email,
        reasons=[f"described it in submission {submission.id}"],
    )
    taken = db.session.scalar(
        select(Invitation.id).where(
            Invitation.campaign_id == invitation.campaign_id,
            Invitation.contact_id == invitation.contact_id,
            Invitation.institution_id == institution.id,
        )
    )
    if taken is None:
        invitation.institution_id = institution.id


def approve(comparison: Comparison, curator: User, approval: Approval) -> Review:
    """Merge the chosen values into the registry in the caller's transaction.

    ``comparison`` is the one the curator's form was built from (see :func:`compare`;
    for a submission not tied to an institution, made against the institution chosen to
    merge into). Each institution and entry touched gets one new version naming the
    submission; a new entry block is added only when the curator ticked it, a proposed
    retirement happens only when confirmed. Every entry the submission covered counts as
    confirmed today, and its contact is shown publicly exactly when the respondent
    consented.
    """
    submission = comparison.submission
    _check_seen(comparison, approval.seen)
    _check_decidable(submission)
    version = comparison.version
    provenance = Provenance(
        ChangeSource.SUBMISSION,
        curator.email,
        source_ref=f"submission {submission.id} v{version.number}",
        comment=approval.comment.strip() or None,
    )
    now = utcnow()
    institution = comparison.institution
    institution_updates = _updates(comparison.institution_rows, approval.choices)
    if institution is None:
        if "institution" not in institution_updates:
            raise ReviewError(_l("A new institution needs a name: take or type one."))
        institution = registry.add_institution(institution_updates, provenance)
    elif institution_updates:
        registry.change_fields(institution, institution_updates, provenance)

    consent = submission.consent_store and not submission.unverified
    public = registry.FieldUpdate(
        version.consent_publish,
        "shown publicly" if version.consent_publish else "not shown publicly",
    )
    covered: list[Entry] = []
    added = retired = 0
    fields_changed = len(institution_updates)
    for block in comparison.blocks:
        updates = _updates(block.rows, approval.choices)
        if block.entry is not None:
            fields_changed += len(updates)
        if consent:
            updates["contact_public"] = public
        if block.kind == "new":
            if block.index not in approval.add_blocks:
                continue
            entry = registry.add_entry(institution, updates, provenance)
            added += 1
        elif block.entry is None:
            continue
        else:
            entry = block.entry
            registry.change_fields(entry, updates, provenance)
            if block.kind == "retire" and block.index in approval.retire_blocks:
                reason = approval.retire_blocks[block.index].strip() or (
                    f"no longer active, as reported in submission {submission.id}"
                )
                registry.retire_entry(entry, reason, provenance)
                retired += 1
        covered.append(entry)
    if version.nothing_changed and submission.institution is not None:
        covered = [e for e in submission.institution.entries if e.is_active]
        if consent:
            for entry in covered:
                registry.change_fields(entry, {"contact_public": public}, provenance)
    for entry in covered:
        if entry.is_active:
            entry.confirmed_at = now

    submission.status = SubmissionStatus.APPROVED
    if submission.institution_id is None:
        submission.institution_id = institution.id
        _link_respondent(submission, institution, curator)
    if submission.invitation is not None:
        campaigns.set_status(
            submission.invitation, InvitationStatus.APPROVED, at=now, curator=curator.email
        )
    review = _record(
        submission,
        Decision.APPROVED,
        curator.email,
        comment=approval.comment,
        field_comments={k: c.comment for k, c in approval.choices.items()},
    )
    db.session.flush()
    audit(
        "review.approve",
        curator.email,
        target_type="submission",
        target_id=submission.id,
        version=version.number,
        institution_id=institution.id,
        fields_changed=fields_changed,
        entries_added=added,
        entries_retired=retired,
        nothing_changed=version.nothing_changed,
    )
    return review


def request_changes(
    submission: Submission,
    curator: User,
    *,
    seen_row_version: int,
    comment: str,
    field_comments: dict[str, str],
    link_days: int,
) -> Review:
    """Send the submission back to the respondent with comments and a fresh link.

    The invitation reopens with its own expiry, even after the campaign closed; the
    respondent's next submit returns to the queue as a new version.
    """
    _check_version(submission, seen_row_version)
    _check_decidable(submission)
    invitation = submission.invitation
    if invitation is None:
        raise ReviewError(
            _l(
                "A public suggestion has no link to send back. Approve what is right, or "
                "reject it with a reason and send the reason."
            )
        )
    if not comment.strip() and not any(v.strip() for v in field_comments.values()):
        raise ReviewError(_l("Say what should change: write a comment for the respondent."))
    now = utcnow()
    campaigns.reopen(invitation, now + timedelta(days=link_days), actor=curator.email)
    submission.status = SubmissionStatus.CHANGES_REQUESTED
    campaigns.set_status(invitation, InvitationStatus.CHANGES_REQUESTED, at=now)
    review = _record(
        submission,
        Decision.CHANGES_REQUESTED,
        curator.email,
        comment=comment,
        field_comments=field_comments,
        notified=True,
    )
    db.session.flush()
    queue(
        MessageKind.CHANGES_REQUESTED,
        invitation.contact.email,
        campaign_id=invitation.campaign_id,
        contact_id=invitation.contact_id,
        invitation_ids=[invitation.id],
        context={"review_id": review.id},
    )
    audit(
        "review.request_changes",
        curator.email,
        target_type="submission",
        target_id=submission.id,
        version=review.version_number,
        link_expires_at=invitation.expires_at.isoformat() if invitation.expires_at else None,
    )
    return review


def reject(
    submission: Submission,
    curator: User,
    *,
    seen_row_version: int,
    reason: str,
    notify: bool,
) -> Review:
    """Reject a submission; the reason is kept and, if asked, sent to the respondent."""
    _check_version(submission, seen_row_version)
    _check_decidable(submission)
    if not reason.strip():
        raise ReviewError(_l("A rejection needs a reason."))
    address = respondent_email(submission)
    if notify and address is None:
        raise ReviewError(_l("There is no address to send the reason to."))
    submission.status = SubmissionStatus.REJECTED
    if submission.invitation is not None:
        campaigns.set_status(submission.invitation, InvitationStatus.REJECTED)
    review = _record(
        submission, Decision.REJECTED, curator.email, reason=reason.strip(), notified=notify
    )
    db.session.flush()
    if notify and address:
        invitation = submission.invitation
        queue(
            MessageKind.REJECTION,
            address,
            campaign_id=invitation.campaign_id if invitation else None,
            contact_id=invitation.contact_id if invitation else None,
            invitation_ids=[invitation.id] if invitation else [],
            context={"review_id": review.id},
        )
    audit(
        "review.reject",
        curator.email,
        target_type="submission",
        target_id=submission.id,
        version=review.version_number,
        reason=reason.strip()[:500],
        notified=notify,
    )
    return review


def respondent_email(submission: Submission) -> str | None:
    """Where decisions about a submission can be sent: the invited contact or the suggester."""
    if submission.invitation is not None:
        return submission.invitation.contact.email
    return submission.submitter_email


def reviews_of(submission: Submission) -> list[Review]:
    """Every decision on a submission, oldest first."""
    return list(
        db.session.scalars(
            select(Review).where(Review.submission_id == submission.id).order_by(Review.id)
        )
    )


def latest_request(submission: Submission) -> Review | None:
    """The curator's request for changes the respondent is answering, if any."""
    if submission.status != SubmissionStatus.CHANGES_REQUESTED:
        return None
    return db.session.scalar(
        select(Review)
        .where(
            Review.submission_id == submission.id,
            Review.decision == Decision.CHANGES_REQUESTED,
        )
        .order_by(Review.id.desc())
        .limit(1)
    )


def labelled_comments(review: Review) -> list[tuple[str, str]]:
    """A review's field comments as (field label in the current language, comment).

    "entries.1.diseases_targeted" reads as "Programme 2: Diseases targeted".
    """
    from surveyapp.i18n import gettext

    submission = review.submission
    definition = load_definition(submission.definition_id, submission.definition_version)
    labelled = []
    for path, comment in review.field_comments.items():
        parts = path.split(".")
        try:
            label = gettext(definition.field(parts[-1]).heading)
        except KeyError:  # a field another version asked, commented as "not asked"
            held_field = registry.generic_fields().get(parts[-1])
            label = gettext(held_field.heading) if held_field else path
        if parts[0] == "entries" and len(parts) == 3 and parts[1].isdigit():
            label = gettext("Programme %(number)s", number=int(parts[1]) + 1) + f": {label}"
        labelled.append((label, comment))
    return labelled
