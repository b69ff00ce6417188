"""Account operations: users and roles, authentication with throttling, sessions, tokens.

Functions flush but never commit and raise :class:`AuthError` subclasses; the view or
command that calls them commits once, audit events included.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select

from surveyapp.auth.models import ApiToken, LoginAttempt, User, UserRole
from surveyapp.auth.passwords import (
    check_password_policy,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
    waste_time_like_a_verification,
)
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.vocabulary import Role

TOKEN_PREFIX = "sat_"  # noqa: S105  # nosec B105 - a prefix, not a secret


class AuthError(Exception):
    """An account operation cannot be done; the message is fit to show to staff."""


class LoginFailed(AuthError):
    """Wrong email or password, a deactivated account, or too many attempts.

    The person logging in is only ever told the generic message; ``reason`` goes to the
    audit log.
    """

    MESSAGE = "Email or password is incorrect, or the account is locked for a while."

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGE)
        self.reason = reason


def normalise_email(email: str) -> str:
    """Lower-cased, syntax-checked address; raises AuthError when it is not one."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AuthError(
            _l("%(email)s is not a valid email address: %(reason)s", email=repr(email), reason=exc)
        ) from exc


def find_user(email: str) -> User | None:
    """The user with this email (case-insensitive), or None."""
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


@dataclass
class NewUser:
    """A created user and the password to hand over once (None when one was given)."""

    user: User
    generated_password: str | None


def create_user(
    email: str, roles: list[Role], *, actor: str, password: str | None = None
) -> NewUser:
    """Create a staff user; a password is generated unless one is given."""
    address = normalise_email(email)
    if find_user(address) is not None:
        raise AuthError(_l("A user with the email %(address)s already exists.", address=address))
    if not roles:
        raise AuthError(_l("Give the user at least one role."))
    generated = None
    if password is None:
        password = generated = generate_password()
    check_password_policy(password, address)
    user = User(
        email=address,
        password_hash=hash_password(password),
        role_links=[UserRole(role=r) for r in dict.fromkeys(roles)],
    )
    db.session.add(user)
    db.session.flush()
    audit(
        "user.create",
        actor,
        target_type="user",
        target_id=user.id,
        email=address,
        roles=[r.value for r in user.roles],
    )
    return NewUser(user, generated)


def _active_admins() -> int:
    return (
        db.session.scalar(
            select(func.count(User.id))
            .join(UserRole)
            .where(User.active, UserRole.role == Role.ADMIN)
        )
        or 0
    )


def set_roles(user: User, roles: list[Role], *, actor: User) -> None:
    """Replace a user's roles; the last active admin keeps the admin role."""
    if not roles:
        raise AuthError(_l("A user needs at least one role; deactivate the account instead."))
    old = [r.value for r in user.roles]
    wanted = list(dict.fromkeys(roles))
    if (
        Role.ADMIN in user.roles
        and Role.ADMIN not in wanted
        and user.active
        and _active_admins() <= 1
    ):
        raise AuthError(_l("At least one active admin must remain."))
    user.role_links = [link for link in user.role_links if link.role in wanted] + [
        UserRole(role=r) for r in wanted if r not in user.roles
    ]
    db.session.flush()
    new = [r.value for r in user.roles]
    if new != old:
        audit(
            "user.roles",
            actor.email,
            target_type="user",
            target_id=user.id,
            email=user.email,
            old=old,
            new=new,
        )


def end_sessions(user: User) -> None:
    """End every session of the user, in every server process, at its next request."""
    user.session_version += 1


def set_active(user: User, active: bool, *, actor: User) -> None:
    """Deactivate (ending sessions and token use) or reactivate an account."""
    if user.active == active:
        return
    if not active and Role.ADMIN in user.roles and _active_admins() <= 1:
        raise AuthError(_l("At least one active admin must remain."))
    user.active = active
    end_sessions(user)
    audit(
        "user.activate" if active else "user.deactivate",
        actor.email,
        target_type="user",
        target_id=user.id,
        email=user.email,
    )


def reset_password(user: User, *, actor: User) -> str:
    """Give the user a new generated password (shown once) and end their sessions."""
    password = generate_password()
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_sessions(user)
    audit(
        "user.password_reset", actor.email, target_type="user", target_id=user.id, email=user.email
    )
    return password


def change_password(user: User, current: str, new: str) -> None:
    """Change one's own password; every other session of the user ends."""
    if not verify_password(user.password_hash, current):
        raise AuthError(_l("The current password is not correct."))
    check_password_policy(new, user.email)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    end_sessions(user)
    audit("user.password_change", user.email, target_type="user", target_id=user.id)


def _window_start() -> object:
    return utcnow() - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def _recent_failures(scope: str, key: str, reset_on_success: bool) -> int:
    since = _window_start()
    query = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.scope == scope,
        LoginAttempt.key == key,
        LoginAttempt.attempted_at > since,
        LoginAttempt.succeeded.is_(False),
    )
    if reset_on_success:
        last_success = (
            select(func.max(LoginAttempt.attempted_at))
            .where(
                LoginAttempt.scope == scope,
                LoginAttempt.key == key,
                LoginAttempt.succeeded.is_(True),
            )
            .scalar_subquery()
        )
        query = query.where((last_success.is_(None)) | (LoginAttempt.attempted_at > last_success))
    return db.session.scalar(query) or 0


def is_throttled(account_scope: str, key: str, address: str) -> bool:
    """Whether a login step is refused for now: too many failures for the account in this
    scope (passwords, or two-factor codes, counted apart so that a right password does not
    reset the codes' count) since its last success, or from the address, in the window."""
    config = current_app.config
    return (
        _recent_failures(account_scope, key, True) >= config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
        or _recent_failures("address", address, False) >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    )


def _record_attempt(email: str, address: str, succeeded: bool) -> None:
    for scope, key in (("account", email), ("address", address)):
        db.session.add(LoginAttempt(scope=scope, key=key, succeeded=succeeded))
    if not succeeded:
        db.session.execute(
            delete(LoginAttempt).where(LoginAttempt.attempted_at < utcnow() - timedelta(days=1))
        )


def authenticate(email: str, password: str, address: str) -> User:
    """The user for a correct email and password, unless throttled; raises LoginFailed.

    Failures are counted per account and per address in the database, so the limits hold
    across server processes. Every attempt is audited with its real reason. For a user with
    two-factor login the password is only the first step: the login (its audit event and
    time) is recorded once the code is right.
    """
    key = email.strip().lower()[:320]
    # The account's row is locked before its failures are counted, so concurrent guesses
    # at one account are counted one after the other (each sees the failures recorded
    # before it), never all against the same count: seven passwords were checked against
    # a limit of five. SQLite serialises writing transactions already.
    user = db.session.scalar(select(User).where(User.email == key).with_for_update())
    if is_throttled("account", key, address):
        reason = "throttled"
    elif user is None:
        waste_time_like_a_verification(password)
        reason = "unknown email"
    elif not verify_password(user.password_hash, password):
        reason = "wrong password"
    elif not user.active:
        reason = "deactivated"
    else:
        reason = ""
    _record_attempt(key, address, succeeded=not reason)
    if reason:
        audit(
            "auth.login_failed",
            key,
            remote_addr=address,
            reason=reason,
            target_type="user",
            target_id=user.id if user else None,
        )
        raise LoginFailed(reason)
    if user is None:  # narrowed by the branches above; kept explicit for type checkers
        raise LoginFailed(reason)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.has_two_factor:  # logged in only once the code is right (two_factor module)
        audit(
            "auth.password_accepted",
            user.email,
            remote_addr=address,
            target_type="user",
            target_id=user.id,
        )
        return user
    user.last_login_at = utcnow()
    audit("auth.login", user.email, remote_addr=address, target_type="user", target_id=user.id)
    return user


def logout(user: User, address: str | None) -> None:
    """Log out: ends every session of the user on the server side."""
    end_sessions(user)
    audit("auth.logout", user.email, remote_addr=address, target_type="user", target_id=user.id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> str:
    """A new API token for the user; returns the token, which is never stored."""
    name = name.strip()
    if not name:
        raise AuthError(_l("Name the token after the script that will use it."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        user=user,
        name=name[:100],
        token_hash=_token_hash(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
    )
    db.session.add(record)
    db.session.flush()
    audit("token.create", user.email, target_type="api_token", target_id=record.id, name=name)
    return token


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise AuthError(_l("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(
            "token.revoke", user.email, target_type="api_token", target_id=token.id, name=token.name
        )
    return token


def user_for_token(token: str) -> User | None:
    """The active user owning a valid, unrevoked token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    record = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if record is None or record.revoked_at is not None or not record.user.active:
        return None
    return record.user


def list_users() -> list[User]:
    """Every user, by email."""
    return list(db.session.scalars(select(User).order_by(User.email)))
