"""Two-factor login for staff: TOTP codes (RFC 6238), recovery codes, enrolment and reset.

A password alone no longer opens a staff session for an account with a second factor: the
login asks next for a code from the authenticator app, or for one of the recovery codes
handed out at enrolment. Roles listed in ``TWO_FACTOR_ROLES`` (admins by default) must
enrol before they can do anything else. Wrong codes are counted like wrong passwords (per
account, in a scope of their own so that a correct password does not clear them, and per
address together with passwords), and a code is accepted once only: the last accepted time
step is stored and no code of that step or earlier works again.

Functions flush but never commit and raise :class:`TwoFactorError`; every time-dependent
function takes ``now`` so that tests run on a fixed clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, select

from surveyapp.auth.models import LoginAttempt, RecoveryCode, User
from surveyapp.auth.service import AuthError, end_sessions, is_throttled
from surveyapp.database import utcnow
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.i18n import lazy_gettext as _l

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: read aloud, typed again
RECOVERY_CODE_LENGTH = 12  # 60 bits
ACCEPTED_DRIFT_STEPS = 1  # a code of the previous or next 30 s step still works
SCOPE = "two_factor"


class TwoFactorError(AuthError):
    """A code was refused; ``reason`` goes to the audit log, the message to the person."""

    MESSAGE = _l("The code is not correct, or the account is locked for a while.")

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGE)
        self.reason = reason


def required_for(user: User) -> bool:
    """True when one of the user's roles is configured to need a second factor."""
    required = set(current_app.config["TWO_FACTOR_ROLES"])
    return any(role.value in required for role in user.roles)


def must_enrol(user: User) -> bool:
    """True for a user whose role needs a second factor and who has none yet."""
    return not user.has_two_factor and required_for(user)


def pending_secret(user: User) -> str:
    """The secret the user is enrolling with, made on first use and kept until confirmed,
    so that reloading the enrolment page does not invalidate an authenticator already set up.
    """
    if user.has_two_factor:
        raise AuthError(_l("Two-factor login is already set up for this account."))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["TWO_FACTOR_ISSUER"]
    )


def qr_code(uri: str) -> str:
    """The QR code of ``uri`` as an SVG data: URI, drawn here: the secret never leaves the
    server for a QR service, and the page's content security policy allows data: images."""
    return segno.make(uri, error="m").svg_data_uri(scale=4, dark="#000", light="#fff")


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step whose code equals ``code`` within the accepted drift, or None.

    Steps up to ``after`` (the last accepted one) never match: their codes were used.
    """
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - ACCEPTED_DRIFT_STEPS, current + ACCEPTED_DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _recovery_hash(code: str, salt: str | None = None) -> str:
    """A salted SHA-256: the codes carry 60 random bits, so a slow hash adds no safety,
    while argon2 on each of ten codes per login attempt would cost about half a second."""
    salt = salt or secrets.token_hex(8)
    return f"sha256${salt}${hashlib.sha256((salt + code).encode()).hexdigest()}"


def _recovery_matches(stored: str, code: str) -> bool:
    _, salt, _ = stored.split("$", 2)
    return hmac.compare_digest(stored, _recovery_hash(code, salt))


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones; returns them, never stored."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(c)) for c in codes)
    db.session.flush()
    return [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]


def renew_recovery_codes(user: User, code: str, address: str) -> list[str]:
    """New recovery codes in place of the old ones, for a user who proves again to hold the
    authenticator (a current code, or a recovery code), so that a session left open does
    not hand them out; returns the codes, to be shown once."""
    check_code(user, code, address)
    codes = new_recovery_codes(user)
    audit("user.recovery_codes_renew", user.email, target_type="user", target_id=user.id)
    return codes


def remaining_recovery_codes(user: User) -> int:
    """How many of the user's recovery codes are still unused."""
    return len(_unused_recovery_codes(user))


def _unused_recovery_codes(user: User) -> list[RecoveryCode]:
    return list(
        db.session.scalars(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
    )


def confirm_enrolment(user: User, code: str, *, now: datetime | None = None) -> list[str]:
    """Switch two-factor login on once the user proves their authenticator shows the right
    code; returns the recovery codes, to be shown once."""
    now = now or utcnow()
    if user.has_two_factor or not user.totp_secret:
        raise AuthError(_l("Start the set-up again: open the two-factor page."))
    step = _matching_step(user.totp_secret, _normalise(code), now, None)
    if step is None:
        raise AuthError(
            _l("This code does not match. Check the time on your phone and enter a new code.")
        )
    user.totp_enabled_at = now
    user.totp_last_step = step
    # a session opened with the password alone (perhaps a stolen one) ends now; the
    # caller opens this browser's session again
    end_sessions(user)
    codes = new_recovery_codes(user)
    audit("user.two_factor_enable", user.email, target_type="user", target_id=user.id)
    return codes


def _record(user: User, address: str, succeeded: bool) -> None:
    db.session.add(LoginAttempt(scope=SCOPE, key=user.email, succeeded=succeeded))
    db.session.add(LoginAttempt(scope="address", key=address, succeeded=succeeded))


def verify_second_step(user: User, code: str, address: str, *, now: datetime | None = None) -> str:
    """Complete the login of a user who gave the right password, with a TOTP code or an
    unused recovery code; returns which ("totp" or "recovery"), or raises TwoFactorError.
    The login is audited (and its time kept) only now, not at the password."""
    now = now or utcnow()
    method = check_code(user, code, address, now=now)
    user.last_login_at = now
    audit(
        "auth.login",
        user.email,
        remote_addr=address,
        second_factor=method,
        target_type="user",
        target_id=user.id,
    )
    return method


def check_code(user: User, code: str, address: str, *, now: datetime | None = None) -> str:
    """Accept a TOTP code or an unused recovery code of the user (using it up); returns
    which ("totp" or "recovery"), or raises TwoFactorError, audited with its reason.

    The user's row is locked first, so that two requests with one code cannot both pass the
    replay check, nor both be counted before the limit (PostgreSQL; SQLite writes one at a time).
    """
    now = now or utcnow()
    locked = db.session.scalars(
        select(User)
        .where(User.id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    given = _normalise(code)
    method = "totp" if given.isdigit() and len(given) == 6 else "recovery"
    if not locked.has_two_factor or locked.totp_secret is None:
        reason = "not enrolled"
    elif is_throttled(SCOPE, locked.email, address):
        reason = "throttled"
    elif method == "totp":
        step = _matching_step(locked.totp_secret, given, now, locked.totp_last_step)
        if step is not None:
            locked.totp_last_step = step
            reason = ""
        elif _matching_step(locked.totp_secret, given, now, None) is not None:
            reason = "replayed code"
        else:
            reason = "wrong code"
    else:
        match = next(
            (r for r in _unused_recovery_codes(locked) if _recovery_matches(r.code_hash, given)),
            None,
        )
        if match is not None:
            match.used_at = now
            reason = ""
        else:
            reason = "wrong recovery code"
    _record(locked, address, succeeded=not reason)
    if reason:
        audit(
            "auth.two_factor_failed",
            locked.email,
            remote_addr=address,
            reason=reason,
            target_type="user",
            target_id=locked.id,
        )
        raise TwoFactorError(reason)
    return method


def reset(user: User, *, actor: str) -> None:
    """Switch the user's second factor off (lost phone): their sessions end, and a user whose
    role needs one sets up a new authenticator at the next login."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    end_sessions(user)
    audit("user.two_factor_reset", actor, target_type="user", target_id=user.id, email=user.email)
