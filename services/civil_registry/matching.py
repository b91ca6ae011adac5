"""The registry's comparison rule and the per-item lookup (pure; O(1) per item).

The registry answers only whether a NIK exists and, per submitted element, "SESUAI" or
"TIDAK SESUAI". It compares after a trivial normalisation (uppercase, strip, drop
punctuation, collapse internal whitespace); name variants (M., MUH., MUHAMAD...) are the
caller's business, as with the real service.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from services.civil_registry.population import Person

__all__ = [
    "MATCH",
    "MISMATCH",
    "VERIFIABLE_FIELDS",
    "ItemRejected",
    "is_structurally_valid_nik",
    "normalise",
    "verify",
]

MATCH: Final = "SESUAI"
MISMATCH: Final = "TIDAK SESUAI"
VERIFIABLE_FIELDS: Final = ("name", "birth_place", "birth_date", "mother_name", "sex")

_PUNCTUATION = re.compile(r"[^\w\s]|_")
_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)
_NIK_DIGITS = frozenset("0123456789")


class ItemRejected(Exception):
    """One search item cannot be answered; ``code`` is a DCI-style reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalise(value: str) -> str:
    """Uppercase, drop punctuation, collapse whitespace, strip."""
    if value.isascii():  # the fast path: one translate, one split
        return " ".join(value.upper().translate(_ASCII_PUNCTUATION).split())
    return " ".join(_PUNCTUATION.sub("", value.upper()).split())


def is_structurally_valid_nik(nik: str) -> bool:
    """16 ASCII digits, a plausible province, day (1-31, women 41-71), month, serial > 0.

    Structure only: a valid structure proves nothing about a person.
    """
    if len(nik) != 16 or not _NIK_DIGITS.issuperset(nik):
        return False
    day, month = int(nik[6:8]), int(nik[8:10])
    return (
        nik[0:2] >= "11"
        and (1 <= day <= 31 or 41 <= day <= 71)
        and 1 <= month <= 12
        and nik[12:16] != "0000"
    )


def _compare_date(submitted: str, stored: date) -> str:
    try:
        parsed = date.fromisoformat(submitted.strip())
    except ValueError as exc:
        raise ItemRejected(
            "rjct.search_criteria.invalid", "verify.birth_date must be YYYY-MM-DD"
        ) from exc
    return MATCH if parsed == stored else MISMATCH


def _compare_sex(submitted: str, stored: str) -> str:
    sex = normalise(submitted)
    if sex not in ("L", "P"):
        raise ItemRejected("rjct.search_criteria.invalid", 'verify.sex must be "L" or "P"')
    return MATCH if sex == stored else MISMATCH


def _compare_text(submitted: str, stored: str) -> str:
    return MATCH if normalise(submitted) == normalise(stored) else MISMATCH


def verify(person: Person, submitted: Mapping[str, Any]) -> dict[str, str]:
    """SESUAI / TIDAK SESUAI for each submitted (non-null) element, and for no other."""
    result: dict[str, str] = {}
    for field in VERIFIABLE_FIELDS:
        value = submitted.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ItemRejected("rjct.search_criteria.invalid", f"verify.{field} must be a string")
        if field == "birth_date":
            result[field] = _compare_date(value, person.birth_date)
        elif field == "sex":
            result[field] = _compare_sex(value, person.sex)
        else:
            result[field] = _compare_text(value, getattr(person, field))
    return result
