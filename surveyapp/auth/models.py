"""Staff users with roles, their API tokens, second factors, and login attempts kept for
throttling.

A user's second factor is a TOTP secret (RFC 6238) plus single-use recovery codes; the last
accepted time step is kept so that a code seen once (over a shoulder, in a proxy log) cannot
log in again. A user's ``session_version`` is part of the id stored in their session cookie:
raising it (logout, password change, deactivation) ends every session of that user on the
next request, in every server process. Login attempts live in the database so throttling holds
across several app servers without another service.
"""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.database import enum_column, utcnow
from surveyapp.extensions import db
from surveyapp.vocabulary import Role


class User(UserMixin, db.Model):
    """A staff member: admin, coordinator and/or curator."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Curators who opt in get one email a day listing submissions waiting for review.
    review_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_sent_at: Mapped[datetime | None]
    # Two-factor login: the base32 TOTP secret once confirmed, when it was confirmed, and the
    # last accepted time step (codes of that step or earlier are refused as replays).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]

    role_links: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", order_by="UserRole.role", lazy="selectin"
    )
    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", order_by="ApiToken.id.desc()"
    )

    @property
    def roles(self) -> list[Role]:
        """The user's roles in vocabulary order."""
        held = {link.role for link in self.role_links}
        return [role for role in Role if role in held]

    @property
    def has_two_factor(self) -> bool:
        """True once the user has confirmed a TOTP authenticator."""
        return self.totp_enabled_at is not None and self.totp_secret is not None

    def has_role(self, *roles: Role) -> bool:
        """True when the user holds any of the given roles."""
        return any(link.role in roles for link in self.role_links)

    @property
    def is_active(self) -> bool:  # read by Flask-Login
        return self.active

    def get_id(self) -> str:
        """The id kept in the session: user id and session version."""
        return f"{self.id}:{self.session_version}"


class UserRole(db.Model):
    """One role held by one user."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), primary_key=True)


class ApiToken(db.Model):
    """A personal token for scripts; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def is_revoked(self) -> bool:
        """True once the token has been revoked."""
        return self.revoked_at is not None


class RecoveryCode(db.Model):
    """A single-use code that stands in for a TOTP code when the authenticator is lost.

    Only a salted SHA-256 of the code is stored: the codes are random (60 bits), so a fast
    hash is as safe as argon2 here, and checking a login against ten of them stays cheap.
    """

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class LoginAttempt(db.Model):
    """One login attempt, counted per account and per address for throttling."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_lookup", "scope", "key", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(320))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
