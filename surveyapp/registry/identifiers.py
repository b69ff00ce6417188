"""Permanent public identifiers of institutions and entries, minted once, never reused.

People cite the registry, so a record needs a name that survives renumbering, exports,
releases and merges. Like ROR's, an identifier is short, not sequential (it reveals
neither order nor size), case-insensitive and checked: seven random Crockford base32
symbols (no I, L, O, U: nothing to misread) and two check digits (ISO 7064 MOD 97-10 over
the symbols' value), nine characters in all, written in lowercase, e.g. ``0k3x9qz42``. A
typing error in any one character, or two neighbours swapped, fails the check.
"""

from __future__ import annotations

import re
import secrets

SYMBOLS = "0123456789abcdefghjkmnpqrstvwxyz"
LENGTH = 9
_RANDOM = 7
_SHAPE = re.compile(rf"^[{SYMBOLS}]{{{_RANDOM}}}[0-9]{{2}}$")
# Crockford's decoding: what a person may type for a symbol.
_READ_AS = str.maketrans({"i": "1", "l": "1", "o": "0"})


def _check_digits(symbols: str) -> str:
    value = 0
    for symbol in symbols:
        value = value * 32 + SYMBOLS.index(symbol)
    return f"{98 - (value * 100) % 97:02d}"


def mint() -> str:
    """A new identifier; uniqueness is the database's to guarantee (a unique column)."""
    symbols = "".join(secrets.choice(SYMBOLS) for _ in range(_RANDOM))
    return symbols + _check_digits(symbols)


def normalise(text: str) -> str | None:
    """The identifier as stored, from what a person typed (any case, I/L read as 1, O as 0,
    hyphens and spaces ignored), or None when it is no valid identifier."""
    candidate = re.sub(r"[\s-]", "", text.strip().lower()).translate(_READ_AS)
    if not _SHAPE.match(candidate):
        return None
    symbols, check = candidate[:_RANDOM], candidate[_RANDOM:]
    return candidate if _check_digits(symbols) == check else None
