"""The registry's controlled vocabularies, defined once.

Models store these values, the questionnaire definition names them, the importer maps
printed text onto them, and the API and statistics report them. Adding a value here is
the only change needed to make it selectable everywhere (the database stores enum values
as plain strings checked by constraints generated from these classes).
"""

from __future__ import annotations

import enum
from functools import cache

import pycountry

from surveyapp.i18n import N_


class Vocabulary(enum.StrEnum):
    """A controlled set whose members carry a human label next to their stored value."""

    label: str

    def __new__(cls, value: str, label: str) -> Vocabulary:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs in definition order, for form widgets and documentation."""
        return [(member.value, member.label) for member in cls]


class AtmpType(Vocabulary):
    """ATMP categories of Regulation (EC) No 1394/2007, as Table 1's heading names them."""

    GENE_THERAPY = "gene_therapy", N_("Gene therapy")
    SOMATIC_CELL_THERAPY = "somatic_cell_therapy", N_("Somatic cell therapy")
    TISSUE_ENGINEERED = "tissue_engineered", N_("Tissue-engineered product")
    COMBINED = "combined", N_("Combined ATMP")


class PatientsQualifier(Vocabulary):
    """How far a number of patients treated can be trusted."""

    EXACT = "exact", N_("exactly")
    APPROXIMATE = "approximate", N_("approximately")
    AT_LEAST = "at_least", N_("at least")
    UNKNOWN = "unknown", N_("unknown")


class Answer(Vocabulary):
    """Answers to Table 1's 'Contract research for industry' and 'Routine application'."""

    YES = "yes", N_("Yes")
    NO = "no", N_("No")
    POSSIBLE = "possible", N_("Possible")
    PLANNED = "planned", N_("Planned")
    CLINICAL_TRIALS_ONLY = "clinical_trials_only", N_("Clinical trials only")
    UNKNOWN = "unknown", N_("Unknown")


class YesNoUnknown(Vocabulary):
    """Answers of a ``yes_no_unknown`` question in a questionnaire definition."""

    YES = "yes", N_("Yes")
    NO = "no", N_("No")
    UNKNOWN = "unknown", N_("Unknown")


class DiseaseArea(Vocabulary):
    """Disease areas used by RESTORE D1.4's analysis of the diseases targeted."""

    ONCOLOGY = "oncology", N_("Oncology")
    MUSCULOSKELETAL = "musculoskeletal", N_("Musculoskeletal")
    TRANSPLANTATION_GVHD = "transplantation_gvhd", N_("Transplantation / GvHD")
    NEUROLOGICAL = "neurological", N_("Neurological")
    CARDIOVASCULAR = "cardiovascular", N_("Cardiovascular")
    HAEMATOLOGICAL = "haematological", N_("Haematological")
    DERMATOLOGICAL = "dermatological", N_("Dermatological")
    OPHTHALMOLOGICAL = "ophthalmological", N_("Ophthalmological")
    METABOLIC_GENETIC = "metabolic_genetic", N_("Metabolic / genetic")
    AUTOIMMUNE = "autoimmune", N_("Autoimmune")
    OTHER = "other", N_("Other")


class EntryStatus(Vocabulary):
    """Entries are never deleted: a programme that ends is retired with a reason."""

    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ChangeSource(Vocabulary):
    """Where a new version of an institution or entry came from."""

    TABLE1_IMPORT = "table1_import", N_("RESTORE D1.4 Table 1 import")
    FILE_IMPORT = "file_import", N_("File import")
    SUBMISSION = "submission", N_("Questionnaire submission")
    STAFF_EDIT = "staff_edit", N_("Staff edit")
    RESTORE = "restore", N_("Restore of an earlier version")


class FlagKind(Vocabulary):
    """Why a curator has to look at an institution or entry."""

    UNMAPPED_VALUE = "unmapped_value", "Value could not be mapped"
    SOURCE_DEFECT = "source_defect", "Known defect in the source"
    INSTITUTION_CONFLICT = "institution_conflict", "Rows of one institution disagree"
    POSSIBLE_DUPLICATE = "possible_duplicate", "Possible duplicate"


class Role(Vocabulary):
    """What a staff member may do; a user can hold several roles."""

    ADMIN = "admin", "Administrator"
    COORDINATOR = "coordinator", "Coordinator"
    CURATOR = "curator", "Curator"


class OutboxStatus(Vocabulary):
    """Where a queued email stands."""

    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Accepted by the mail server"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class MessageKind(Vocabulary):
    """Kinds of email the platform sends."""

    INVITATION = "invitation", "Invitation"
    REMINDER = "reminder", "Reminder"
    CONFIRMATION = "confirmation", "Confirmation"
    CHANGES_REQUESTED = "changes_requested", "Request for changes"
    REJECTION = "rejection", "Rejection"
    REVIEW_DIGEST = "review_digest", "Daily digest of submissions waiting for review"
    SUGGESTION_CONFIRMATION = "suggestion_confirmation", "Confirmation of a public suggestion"


class InvitationStatus(Vocabulary):
    """An invitation's status; its timeline keeps every change with the time."""

    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"
    OPENED = "opened", "Opened"
    STARTED = "started", "Started"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"
    OPTED_OUT = "opted_out", "Opted out"


class SubmissionStatus(Vocabulary):
    """Where a questionnaire submission stands; the review works through these."""

    DRAFT = "draft", N_("Draft")
    SUBMITTED = "submitted", N_("Submitted")
    IN_REVIEW = "in_review", N_("In review")
    CHANGES_REQUESTED = "changes_requested", N_("Changes requested")
    APPROVED = "approved", N_("Approved")
    REJECTED = "rejected", N_("Rejected")


class Decision(Vocabulary):
    """What a curator decided about one submitted version."""

    APPROVED = "approved", N_("Approved")
    CHANGES_REQUESTED = "changes_requested", N_("Changes requested")
    REJECTED = "rejected", N_("Rejected")


class NominationStatus(Vocabulary):
    """Where a nomination or public suggestion stands for the coordinators."""

    NEW = "new", N_("New")
    CONTACT_CREATED = "contact_created", N_("Contact created")
    INVITED = "invited", N_("Invited")
    DISMISSED = "dismissed", N_("Dismissed")


class ReturnedKind(Vocabulary):
    """What a message in the return mailbox was, as recorded when it was read."""

    HARD_BOUNCE = "hard_bounce", N_("Hard bounce")
    SOFT_BOUNCE = "soft_bounce", N_("Soft bounce")
    UNSUBSCRIBE = "unsubscribe", N_("Unsubscribe by email")
    OTHER = "other", N_("For a person to read")


class LinkStatus(Vocabulary):
    """Whether a contact speaks for a registry institution."""

    PROPOSED = "proposed", "Proposed"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code to English short name, sorted by name (from pycountry)."""
    pairs = sorted(
        ((c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries),
        key=lambda pair: pair[1],
    )
    return dict(pairs)


def country_name(code: str | None) -> str:
    """The English name of an ISO 3166-1 alpha-2 code, or '' for none."""
    if not code:
        return ""
    return countries().get(code.upper(), code.upper())


def is_country_code(code: str) -> bool:
    """True when ``code`` is an assigned ISO 3166-1 alpha-2 code."""
    return code.upper() in countries()
