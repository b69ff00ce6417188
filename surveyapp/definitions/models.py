"""Versions of a vocabulary recorded after it shipped (the EU-authorised ATMPs change
between releases of surveyapp: a product is authorised, another withdrawn).

The shipped version is a file in ``forms/vocabularies/``; each later one is a row here, so
every app server and worker sharing the database sees it. A version is never changed or
deleted, and keeps every code of the one before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from surveyapp.database import utcnow
from surveyapp.extensions import db


class VocabularyVersion(db.Model):
    """One recorded version of a data vocabulary: its terms as the file would hold them."""

    __tablename__ = "vocabulary_version"
    __table_args__ = (UniqueConstraint("vocabulary_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vocabulary_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    # [{"code", "label", "translations", "extra"}], as in a vocabulary file
    terms: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # what the file header holds besides id, version and title (cut_off, source)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
