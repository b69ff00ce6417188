"""A release and its files: what was published, when, by whom, and each file's SHA-256.

The files themselves live in the releases folder (``RELEASES_DIR``, shared storage when
several app servers run); the database keeps their hashes, so ``flask registry
verify-release`` can tell when a file on disk is no longer what was published. Neither a
release nor its files can be changed or deleted once written: the ORM refuses it, as it
does for the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.database import utcnow
from surveyapp.extensions import db


class Release(db.Model):
    """One numbered release of the public registry."""

    __tablename__ = "release"
    __table_args__ = (
        CheckConstraint("entry_count >= 0 AND institution_count >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(320))
    previous_version: Mapped[str | None] = mapped_column(String(32))
    entry_count: Mapped[int]
    institution_count: Mapped[int]
    # Counts of the changelog since the previous release, e.g. {"entries_added": 3, ...}.
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    files: Mapped[list[ReleaseFile]] = relationship(
        back_populates="release", order_by="ReleaseFile.id", lazy="selectin"
    )

    def file(self, name: str) -> ReleaseFile | None:
        """The file of this release with that name, if it has one."""
        return next((f for f in self.files if f.name == name), None)


class ReleaseFile(db.Model):
    """One file of a release, with the hash it was published with."""

    __tablename__ = "release_file"
    __table_args__ = (
        UniqueConstraint("release_id", "name", name="uq_release_file_release_id_name"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
        CheckConstraint("size >= 0", name="size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    release: Mapped[Release] = relationship(back_populates="files")


class ReleasesAreImmutable(RuntimeError):
    """Raised when code tries to change or delete a release or one of its files."""


@event.listens_for(ReleaseFile, "before_insert")
def _refuse_added_file(mapper: Any, connection: Any, target: ReleaseFile) -> None:
    """A published release gains no file: its files are all inserted in the flush that
    publishes it, before any of them is written, so one already written means it is
    published."""
    release_id = target.release_id if target.release_id is not None else target.release.id
    if release_id is None:
        return  # the release itself is new in this flush
    published = connection.execute(
        select(ReleaseFile.id).where(ReleaseFile.release_id == release_id).limit(1)
    ).first()
    if published is not None:
        raise ReleasesAreImmutable(f"release {release_id} is published; it gains no file")


@event.listens_for(Release, "before_update")
@event.listens_for(Release, "before_delete")
@event.listens_for(ReleaseFile, "before_update")
@event.listens_for(ReleaseFile, "before_delete")
def _refuse_release_change(mapper: Any, connection: Any, target: Release | ReleaseFile) -> None:
    raise ReleasesAreImmutable(f"{type(target).__name__} {target.id} cannot be changed or deleted")
