"""Institutions and their entries, as Table 1 describes them.

Which of Table 1's fields belong where:

* The **institution** holds the institution name, country and website. Rows of Table 1
  with identical institution name and country are one institution (rows 9-11 are one
  centre, TLC-RT Würzburg, with one row per ATMP type).
* Each **entry** (one programme or ATMP type of an institution, one row of Table 1) holds
  the contact person and contact email, the type of ATMP, the number of patients treated,
  the diseases targeted, other diseases in the pipeline, contract research for industry and
  routine application of approved ATMPs. Table 1 gives some rows of one institution their
  own contact, so the contact is the entry's.

Every field keeps two things side by side:

* the controlled value (``country_code``, ``atmp_types``, ``patients_estimate`` and its
  qualifier, answer values ...), which filters, statistics and the API use; and
* in ``texts``, the text shown for it. For rows from Table 1 it starts as the text Table 1
  printed, and ``printed`` keeps that text forever, for every column of the row. A later
  change that replaces a value replaces the shown text with a rendering of the new value.

Fields that later questionnaires ask beyond Table 1's columns (capacity, trial units, the
technologies of a centre ...) live in ``answers``, one JSON object per institution and per
entry keyed by field key, in the shapes of :mod:`surveyapp.definitions.answers`. A JSON
column per level rather than a table of answer rows: a new field needs no migration and no
join, the row's version counter covers its answers for optimistic locking, and the history
already records each field's old and new value as JSON. Which keys are allowed, and their
types, is the definitions' business (checked when a value is written), not the schema's.

Entries are never deleted, only retired with a reason. Changes are written through
:mod:`surveyapp.registry.service`, which records a version per change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.database import enum_column, utcnow
from surveyapp.extensions import db
from surveyapp.registry.identifiers import LENGTH, mint
from surveyapp.vocabulary import (
    Answer,
    AtmpType,
    DiseaseArea,
    EntryStatus,
    FlagKind,
    PatientsQualifier,
)


def _unused_public_id(context: Any) -> str:
    """A new identifier that no row of the table holds yet (the default of ``public_id``).

    With 32**7 possibilities a registry of 100,000 rows would meet a collision once in
    seven registries if identifiers were only drawn; looking first makes it never (the
    unique constraint still guards two inserts racing for one identifier).
    """
    column = context.current_column
    while True:
        candidate = mint()
        if context.connection.execute(select(column).where(column == candidate)).first() is None:
            return candidate


class Institution(db.Model):
    """A facility's institution: name, country and website, shared by its entries."""

    __tablename__ = "institution"
    __table_args__ = (
        CheckConstraint("replaced_by_id IS NULL OR replaced_by_id <> id", name="not_itself"),
        CheckConstraint("(replaced_by_id IS NULL) = (merged_at IS NULL)", name="merged_when"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Permanent and public (see identifiers): never changed, never reused.
    public_id: Mapped[str] = mapped_column(String(LENGTH), unique=True, default=_unused_public_id)
    name: Mapped[str] = mapped_column(String(500), index=True)
    country_code: Mapped[str | None] = mapped_column(String(2), index=True)
    website: Mapped[str | None] = mapped_column(String(500))
    website_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    printed: Mapped[dict[str, Any] | None] = mapped_column()
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Values of fields beyond Table 1's columns, keyed by field key (see below).
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed: changed_since filters by it, and Last-Modified reads its maximum per request.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    row_version: Mapped[int] = mapped_column(default=1)
    # Set when a curator merged this institution into another: its entries moved there and
    # its identifier resolves there. Never cleared.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    merged_at: Mapped[datetime | None]

    entries: Mapped[list[Entry]] = relationship(
        back_populates="institution", order_by="Entry.id", cascade="save-update, merge"
    )
    flags: Mapped[list[CurationFlag]] = relationship(
        primaryjoin="and_(CurationFlag.institution_id == Institution.id,"
        " CurationFlag.resolved_at.is_(None))",
        viewonly=True,
    )

    __mapper_args__ = {"version_id_col": row_version}


class Entry(db.Model):
    """One programme of an institution: one row of Table 1."""

    __tablename__ = "entry"
    __table_args__ = (
        CheckConstraint("patients_estimate IS NULL OR patients_estimate >= 0", name="patients"),
        CheckConstraint(
            "status <> 'retired' OR retired_reason IS NOT NULL", name="retired_has_reason"
        ),
        # Cover the dashboards' scans: completeness, staleness, statistics.
        Index("ix_entry_completeness", "status", "filled_fields", "confirmed_at"),
        Index("ix_entry_staleness", "status", "confirmed_at"),
        Index(
            "ix_entry_statistics",
            "status",
            "country_code",
            "contract_research",
            "routine_application",
            "patients_qualifier",
            "patients_estimate",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(LENGTH), unique=True, default=_unused_public_id)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    source_row: Mapped[int | None] = mapped_column(unique=True)
    status: Mapped[EntryStatus] = mapped_column(
        enum_column(EntryStatus, "entry_status"), default=EntryStatus.ACTIVE, index=True
    )
    retired_reason: Mapped[str | None] = mapped_column(Text)
    retired_at: Mapped[datetime | None]

    contact_person: Mapped[str | None] = mapped_column(String(300))
    contact_email: Mapped[str | None] = mapped_column(String(320), index=True)
    contact_public: Mapped[bool] = mapped_column(Boolean, default=False)
    atmp_other: Mapped[str | None] = mapped_column(Text)
    patients_estimate: Mapped[int | None]
    patients_qualifier: Mapped[PatientsQualifier | None] = mapped_column(
        enum_column(PatientsQualifier, "patients_qualifier")
    )
    diseases_targeted: Mapped[list[str]] = mapped_column(default=list)
    diseases_pipeline: Mapped[list[str]] = mapped_column(default=list)
    contract_research: Mapped[Answer | None] = mapped_column(
        enum_column(Answer, "contract_research_answer"), index=True
    )
    routine_application: Mapped[Answer | None] = mapped_column(
        enum_column(Answer, "routine_application_answer"), index=True
    )

    printed: Mapped[dict[str, Any] | None] = mapped_column()
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Values of fields beyond Table 1's columns, keyed by field key (see below).
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    search_text: Mapped[str] = mapped_column(Text, default="")
    disease_text: Mapped[str] = mapped_column(Text, default="")
    # Derived, kept by registry.service.refresh_search_text: the institution's country
    # (so statistics group entries without a join) and how many Table 1 columns are filled.
    country_code: Mapped[str | None] = mapped_column(String(2))
    filled_fields: Mapped[int] = mapped_column(default=0, server_default="0")
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed: changed_since filters by it, and Last-Modified reads its maximum per request.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    row_version: Mapped[int] = mapped_column(default=1)

    institution: Mapped[Institution] = relationship(back_populates="entries")
    atmp_type_links: Mapped[list[EntryAtmpType]] = relationship(
        cascade="all, delete-orphan", order_by="EntryAtmpType.atmp_type"
    )
    disease_area_links: Mapped[list[EntryDiseaseArea]] = relationship(
        cascade="all, delete-orphan", order_by="EntryDiseaseArea.disease_area"
    )
    flags: Mapped[list[CurationFlag]] = relationship(
        primaryjoin="and_(CurationFlag.entry_id == Entry.id, CurationFlag.resolved_at.is_(None))",
        foreign_keys="CurationFlag.entry_id",
        viewonly=True,
    )

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def atmp_types(self) -> list[AtmpType]:
        """The entry's ATMP types in vocabulary order."""
        chosen = {link.atmp_type for link in self.atmp_type_links}
        return [t for t in AtmpType if t in chosen]

    @atmp_types.setter
    def atmp_types(self, types: list[AtmpType]) -> None:
        wanted = set(types)
        self.atmp_type_links = [link for link in self.atmp_type_links if link.atmp_type in wanted]
        present = {link.atmp_type for link in self.atmp_type_links}
        self.atmp_type_links += [
            EntryAtmpType(atmp_type=t) for t in AtmpType if t in wanted - present
        ]

    @property
    def disease_areas(self) -> list[DiseaseArea]:
        """Disease areas of the diseases targeted, derived when those change."""
        chosen = {link.disease_area for link in self.disease_area_links}
        return [a for a in DiseaseArea if a in chosen]

    @disease_areas.setter
    def disease_areas(self, areas: list[DiseaseArea]) -> None:
        wanted = set(areas)
        self.disease_area_links = [
            link for link in self.disease_area_links if link.disease_area in wanted
        ]
        present = {link.disease_area for link in self.disease_area_links}
        self.disease_area_links += [
            EntryDiseaseArea(disease_area=a) for a in DiseaseArea if a in wanted - present
        ]

    @property
    def is_active(self) -> bool:
        """False once the entry has been retired."""
        return self.status == EntryStatus.ACTIVE


class EntryAtmpType(db.Model):
    """An ATMP type of an entry: a row per type, so statistics can count in SQL."""

    __tablename__ = "entry_atmp_type"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), primary_key=True)
    atmp_type: Mapped[AtmpType] = mapped_column(
        enum_column(AtmpType, "atmp_type"), primary_key=True, index=True
    )


class EntryDiseaseArea(db.Model):
    """A disease area of an entry's diseases targeted."""

    __tablename__ = "entry_disease_area"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), primary_key=True)
    disease_area: Mapped[DiseaseArea] = mapped_column(
        enum_column(DiseaseArea, "disease_area"), primary_key=True, index=True
    )


class CurationFlag(db.Model):
    """Something a curator must look at: an unmapped value, a conflict, a likely duplicate.

    Flags are never deleted; a curator resolves them (a later issue adds that page).
    """

    __tablename__ = "curation_flag"
    __table_args__ = (
        CheckConstraint("institution_id IS NOT NULL OR entry_id IS NOT NULL", name="has_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FlagKind] = mapped_column(enum_column(FlagKind, "flag_kind"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id"), index=True)
    field: Mapped[str | None] = mapped_column(String(64))
    related_entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id"))
    score: Mapped[float | None]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    resolution: Mapped[str | None] = mapped_column(Text)


class RegistryInvariantError(RuntimeError):
    """Code tried to delete an entry or rewrite the text Table 1 printed."""


@event.listens_for(Institution, "before_update")
@event.listens_for(Entry, "before_update")
def _printed_text_is_unchangeable(
    mapper: Any, connection: Any, target: Institution | Entry
) -> None:
    change = inspect(target).attrs.printed.history
    if change.deleted and change.deleted[0] is not None:
        raise RegistryInvariantError(
            f"{type(target).__name__} {target.id}: the printed text of Table 1 is kept as printed"
        )


@event.listens_for(Entry, "before_delete")
def _entries_are_never_deleted(mapper: Any, connection: Any, target: Entry) -> None:
    raise RegistryInvariantError(f"entry {target.id} cannot be deleted; retire it with a reason")
