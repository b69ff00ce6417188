"""Reading text into controlled values, and rendering values back into text.

Every registry field has a controlled value (what filters, statistics and the API use) and
a shown text. Text arrives from Table 1, from imported files and from forms; :func:`read`
turns it into a value using the reviewable mapping in ``data/table1_mapping.toml`` and
reports a problem instead of guessing. :func:`render` turns a value into the text shown once
a change has replaced the printed one. ``read(render(v))`` gives ``v`` back, so an export
re-imports without changes.

Values are plain JSON-able Python, one shape per field type:

========================  ==========================================================
field type                value
========================  ==========================================================
text, url, email          ``str`` or ``None``
country                   ISO 3166-1 alpha-2 ``str`` or ``None``
atmp_types                ``{"types": [AtmpType values], "other": str | None}``
patient_count             ``{"estimate": int | None, "qualifier": str | None}``
term_list                 ``list[str]``
answer                    an :class:`~surveyapp.vocabulary.Answer` value or ``None``
========================  ==========================================================
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pycountry
from email_validator import EmailNotValidError, validate_email

from surveyapp.definitions import FieldDefinition
from surveyapp.paths import PACKAGE_DATA_DIR
from surveyapp.vocabulary import (
    Answer,
    AtmpType,
    DiseaseArea,
    PatientsQualifier,
    country_name,
    is_country_code,
)

MAPPING_FILE = PACKAGE_DATA_DIR / "table1_mapping.toml"


@cache
def mapping() -> dict[str, Any]:
    """The reviewable text-to-value mapping, read once per process."""
    with MAPPING_FILE.open("rb") as handle:
        return tomllib.load(handle)


@dataclass(frozen=True)
class Reading:
    """The value read from a text, and why the text could not be (fully) mapped, if so."""

    value: Any
    problem: str | None = None


def _clean(text: str | None) -> str:
    """Trimmed text without NUL characters (which PostgreSQL text cannot hold)."""
    return (text or "").replace("\x00", "").strip()


def split_terms(text: str) -> list[str]:
    """Split a printed list at commas and semicolons outside parentheses."""
    terms, current, depth = [], [], 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char in ",;" and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [t.strip() for t in terms if t.strip()]


def read_country(text: str) -> Reading:
    """A country name or code as printed, to its ISO 3166-1 alpha-2 code."""
    if not text:
        return Reading(None)
    aliases = {k.lower(): v for k, v in mapping()["countries"].items()}
    if text.lower() in aliases:
        return Reading(aliases[text.lower()])
    if len(text) == 2 and is_country_code(text):
        return Reading(text.upper())
    try:
        return Reading(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return Reading(None, f"no country is named {text!r}")


# One label of a host name: letters and digits of any script, hyphens inside.
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
# A bare host name (two labels at least, an optional port), then nothing or a path.
_BARE_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+\.?(?::\d{{1,5}})?(?=[/?#]|\Z)")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
LINKED_SCHEMES = ("http", "https")
WEBSITE_RULE = "only an http:// or https:// address or a host name such as www.example.org"


def website_problem(text: str) -> str | None:
    """Why a text cannot be a website, or None when it is one.

    A website is an http:// or https:// address with a host, or a bare host name
    (``www.example.org``, ``example.org/path``), which pages link as https. This is the
    one rule every entry point (questionnaire, suggestion, nomination, imports, a
    curator's edit) and every link applies: anything else (``javascript:``, ``data:``,
    ``//host``, spaces or control characters a browser would silently drop) would be
    published as a link that runs a script or leaves for an unnamed place.
    """
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in text):
        return f"website {text!r} contains spaces or control characters"
    if _BARE_HOST.match(text):
        return None
    scheme = _SCHEME.match(text)
    if scheme is None:
        return f"website {text!r} is not a web address: {WEBSITE_RULE} is allowed"
    if scheme.group(1).lower() not in LINKED_SCHEMES:
        return f"website {text!r} starts with {scheme.group(0)!r}: {WEBSITE_RULE} is allowed"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (reading it checks the port)
    except ValueError:
        parts = None
    if parts is None or not text[scheme.end() :].startswith("//") or not parts.hostname:
        return f"website {text!r} names no host after {scheme.group(0)}//"
    return None


def website_link(text: str | None) -> str | None:
    """Where a link to a stored website points: an http(s) address as it is, a bare host
    name as https, and nothing for a value that fails :func:`website_problem`."""
    if not text or website_problem(text):
        return None
    return f"https://{text}" if _BARE_HOST.match(text) else text


def read_website(text: str) -> Reading:
    """A website as printed: one failing :func:`website_problem` is not kept (the problem
    says why); addresses that look cut off are kept but flagged."""
    if not text:
        return Reading(None)
    if problem := website_problem(text):
        return Reading(None, problem)
    if text.endswith(("-", "?")):
        return Reading(text, f"website {text!r} looks cut off")
    return Reading(text)


def website_domain(url: str | None) -> str | None:
    """The host of a website without 'www.', lower-case: how duplicates are spotted."""
    if not url:
        return None
    parts = urlsplit(url if "//" in url else f"//{url}")
    host = (parts.hostname or "").lower()
    host = host.removeprefix("www.")
    return host or None


def read_contact_person(text: str) -> Reading:
    """A contact's name; a bare dash means none was given."""
    if not text:
        return Reading(None)
    if set(text) <= {"-", "\u2013", "\u2014", " "}:
        return Reading(None, f"contact person given as {text!r}")
    return Reading(text)


def read_email(text: str) -> Reading:
    """An email address, syntax-checked (deliverability is not checked on import)."""
    if not text:
        return Reading(None)
    try:
        return Reading(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        return Reading(None, f"{text!r} is not a valid email address: {exc}")


def read_atmp_types(text: str) -> Reading:
    """ATMP types named in a printed text; segments naming none are 'other activities'."""
    if not text:
        return Reading({"types": [], "other": None})
    rules = mapping()["atmp_types"]
    whole = {k.lower(): v for k, v in rules.get("whole_text", {}).items()}
    if text.lower() in whole:
        named = {AtmpType(v) for v in whole[text.lower()]}
        return Reading({"types": [t.value for t in AtmpType if t in named], "other": None})
    prefix = rules["other_prefix"].lower()
    found: set[AtmpType] = set()
    other: list[str] = []
    for segment in split_terms(text):
        lowered = segment.lower()
        hits = {t for t in AtmpType if any(k in lowered for k in rules[t.value])}
        if hits:
            found |= hits
        else:
            other.append(segment[len(prefix) :].strip() if lowered.startswith(prefix) else segment)
    value = {"types": [t.value for t in AtmpType if t in found], "other": "; ".join(other) or None}
    if not found:
        return Reading(value, f"no ATMP type recognised in {text!r}")
    return Reading(value)


# Words a text naming ATMP types may hold besides the types' own names and stems.
_TYPE_WORDS = frozenset({"and", "atmp", "atmps", "medicinal", "product", "products", "therapy"})


def names_only_atmp_types(text: str) -> bool:
    """Whether a printed ATMP text only names types ("Somatic cell therapy, tissue
    engineering"), with no words of its own ("Gene therapy (CAR-T)", "Other activities:
    ..."), so that the types' labels can stand for it in another language."""
    reading = read_atmp_types(text)
    if reading.problem or not reading.value["types"] or reading.value["other"]:
        return False
    rules = mapping()["atmp_types"]
    for segment in split_terms(text):
        lowered = segment.lower()
        named = [t for t in AtmpType if any(k in lowered for k in rules[t.value])]
        stems = {
            word
            for t in named
            for word in re.findall(r"[a-z]+", " ".join([*rules[t.value], t.label.lower()]))
            if len(word) >= 4
        }
        for word in re.findall(r"[a-z0-9]+", lowered):
            if word not in _TYPE_WORDS and not any(word.startswith(s) for s in stems):
                return False
    return True


_NUMBER = re.compile(r"^\d{1,3}(?:[ ,.]\d{3})+$|^\d+$")


def _to_int(text: str) -> int | None:
    text = text.strip()
    return int(re.sub(r"[ ,.]", "", text)) if _NUMBER.match(text) else None


def read_patient_count(text: str) -> Reading:
    """'114', 'at least 100', '~50', '100+', 'unknown' to an estimate and a qualifier."""
    empty = {"estimate": None, "qualifier": None}
    if not text:
        return Reading(empty)
    rules = mapping()["patients"]
    lowered = text.lower()
    if lowered in rules["unknown"]:
        return Reading({"estimate": None, "qualifier": PatientsQualifier.UNKNOWN.value})
    if (number := _to_int(text)) is not None:
        return Reading({"estimate": number, "qualifier": PatientsQualifier.EXACT.value})
    if lowered.endswith("+") and (number := _to_int(text[:-1])) is not None:
        return Reading({"estimate": number, "qualifier": PatientsQualifier.AT_LEAST.value})
    for qualifier, prefixes in (
        (PatientsQualifier.AT_LEAST, rules["at_least_prefixes"]),
        (PatientsQualifier.APPROXIMATE, rules["approximate_prefixes"]),
    ):
        for prefix in prefixes:
            if lowered.startswith(prefix) and (number := _to_int(text[len(prefix) :])) is not None:
                return Reading({"estimate": number, "qualifier": qualifier.value})
    return Reading(empty, f"cannot read a number of patients from {text!r}")


def read_term_list(text: str) -> Reading:
    """A printed list of diseases; a bare answer word ('Planned', 'Yes') is flagged."""
    if not text:
        return Reading([])
    if text.lower() in mapping()["term_lists"]["answer_words"]:
        return Reading([], f"{text!r} is an answer, not a list of diseases")
    return Reading(split_terms(text))


def read_answer(text: str) -> Reading:
    """Yes / No / Possible / Planned / Clinical trials only / Unknown, as printed."""
    if not text:
        return Reading(None)
    lowered = text.lower()
    known = {a.value: a.value for a in Answer} | {a.label.lower(): a.value for a in Answer}
    known |= {k.lower(): Answer(v).value for k, v in mapping()["answers"].items()}
    if lowered in known:
        return Reading(known[lowered])
    return Reading(None, f"{text!r} is not one of {', '.join(a.label for a in Answer)}")


def read_text(text: str) -> Reading:
    """Free text, kept as given."""
    return Reading(text or None)


READERS = {
    "text": read_text,
    "url": read_website,
    "email": read_email,
    "country": read_country,
    "atmp_types": read_atmp_types,
    "patient_count": read_patient_count,
    "term_list": read_term_list,
    "answer": read_answer,
}


def read(field: FieldDefinition, text: str | None) -> Reading:
    """Read a field's text into its controlled value."""
    text = _clean(text)
    if field.key == "contact_person":
        return read_contact_person(text)
    return READERS[field.type](text)


def render(field: FieldDefinition, value: Any) -> str:
    """The text shown for a controlled value (the inverse of :func:`read`)."""
    if value is None:
        return ""
    match field.type:
        case "country":
            return country_name(value)
        case "atmp_types":
            labels = [AtmpType(t).label for t in value.get("types", [])]
            if value.get("other"):
                labels.append(f"{mapping()['atmp_types']['other_prefix']} {value['other']}")
            return ", ".join(labels)
        case "patient_count":
            estimate, qualifier = value.get("estimate"), value.get("qualifier")
            if qualifier == PatientsQualifier.UNKNOWN.value:
                return PatientsQualifier.UNKNOWN.label
            if estimate is None:
                return ""
            if qualifier in (None, PatientsQualifier.EXACT.value):
                return str(estimate)
            return f"{PatientsQualifier(qualifier).label} {estimate}"
        case "term_list":
            return "; ".join(value)
        case "answer":
            return Answer(value).label
        case _:
            return str(value)


def disease_areas(terms: list[str]) -> list[DiseaseArea]:
    """Disease areas of a list of disease terms; a term matching no area counts as other."""
    rules = mapping()["disease_areas"]
    areas: set[DiseaseArea] = set()
    for term in terms:
        lowered = term.lower()
        hits = {a for a in DiseaseArea if any(k in lowered for k in rules.get(a.value, []))}
        areas |= hits or {DiseaseArea.OTHER}
    return [a for a in DiseaseArea if a in areas]


def source_defects() -> dict[int, list[tuple[str, str]]]:
    """Known defects of Table 1 by source row: (field, reason) pairs."""
    defects: dict[int, list[tuple[str, str]]] = {}
    for defect in mapping().get("source_defects", []):
        defects.setdefault(defect["source_row"], []).append((defect["field"], defect["reason"]))
    return defects
