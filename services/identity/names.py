"""Indonesian personal names: one canonical spelling, and a similarity score between two names.

Used to compare the name we hold for a person with a name from another source before asking
the civil registry. A high score is a hint, never proof of identity.

The spelling tables are data: add a variant to :data:`NAME_VARIANTS` or a title to
:data:`PREFIX_TITLES` / :data:`DEGREE_TITLES`, not a branch in the code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from rapidfuzz import fuzz

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEGREE_TITLES",
    "NAME_VARIANTS",
    "PREFIX_TITLES",
    "canonical_name",
    "name_similarity",
    "same_person_name",
]

DEFAULT_THRESHOLD: Final = 92.0

_MUHAMMAD = "MUHAMMAD"

#: Spelling variant (one token, letters only) -> canonical spelling.
NAME_VARIANTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(
            (
                "M",
                "MD",
                "MHD",
                "MUH",
                "MUHD",
                "MOH",
                "MOHD",
                "MOCH",
                "MOCHAMAD",
                "MOCHAMMAD",
                "MOHAMAD",
                "MOHAMMAD",
                "MOHAMMED",
                "MUHAMAD",
                "MUHAMMED",
                "MUHAMMAD",
            ),
            _MUHAMMAD,
        ),
        "ABD": "ABDUL",
        "SITTI": "SITI",
        # NOOR is another spelling of NUR; NURUL (NUR + AL) is a different name part, kept.
        "NOOR": "NUR",
    }
)

#: Honorific and academic titles written before a name, dropped while they lead the name.
PREFIX_TITLES: Final = frozenset(
    {"H", "HJ", "KH", "DR", "DRS", "DRA", "IR", "PROF", "USTADZ", "UST", "HABIB"}
)

#: Academic degrees written after a name, dropped anywhere after the first name part.
DEGREE_TITLES: Final = frozenset(
    {
        "AMD",
        "AMDKEB",
        "AMDKEP",
        "AMDKES",
        "BSC",
        "LLM",
        "MAG",
        "MAP",
        "MH",
        "MHUM",
        "MKES",
        "MKOM",
        "MM",
        "MPD",
        "MPDI",
        "MSC",
        "MSI",
        "MT",
        "PHD",
        "SAG",
        "SE",
        "SFARM",
        "SH",
        "SHI",
        "SIKOM",
        "SIP",
        "SKEB",
        "SKED",
        "SKEP",
        "SKM",
        "SKOM",
        "SPD",
        "SPDI",
        "SPSI",
        "SSI",
        "SSOS",
        "SST",
        "SSTP",
        "ST",
        "STP",
    }
)

# Apostrophes (MA'RUF, MA`RUF, typographic ones) are entered inconsistently, so they are
# dropped and the letters joined; every other non-letter, hyphen included, separates parts.
_APOSTROPHES: Final = re.compile(r"['`\u00b4\u2018\u2019\u02bc]")
_RAW_SEPARATORS: Final = re.compile(r"[\s,;/]+")
_NON_LETTERS: Final = re.compile(r"[^A-Z]+")


def _ascii_upper(raw: str) -> str:
    if raw.isascii():
        return raw.upper()
    decomposed = unicodedata.normalize("NFKD", raw)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def _name_parts(raw: str) -> list[str]:
    parts: list[str] = []
    for chunk in _RAW_SEPARATORS.split(_APOSTROPHES.sub("", _ascii_upper(raw))):
        if chunk.isascii() and chunk.isalpha():  # the common case: one plain part
            parts.append(chunk)
            continue
        letters = _NON_LETTERS.sub("", chunk)
        # A dotted chunk such as "S.PD." or "M.SI" is a degree; "M." or "M.RIZKY" is not.
        if parts and "." in chunk and letters in DEGREE_TITLES:
            continue
        parts.extend(p for p in _NON_LETTERS.split(chunk) if p)
    return parts


def _without_titles(parts: list[str]) -> list[str]:
    start = 0
    while start < len(parts) - 1 and parts[start] in PREFIX_TITLES:
        start += 1
    named = parts[start:]
    return named[:1] + [p for p in named[1:] if p not in DEGREE_TITLES]


def canonical_name(raw: str) -> str:
    """One spelling for one name: ``"Moch. Rizky, S.Pd."`` -> ``"MUHAMMAD RIZKY"``.

    Uppercase ASCII letters; accents and apostrophes dropped; other punctuation (hyphens too)
    separates parts; leading honorifics (H., HJ., DRS., ...) and trailing degrees (S.PD., S.E.,
    ...) dropped; spelling variants mapped through :data:`NAME_VARIANTS`. BIN and BINTI are
    kept: the father's name is part of the person's name.
    """
    parts = _without_titles(_name_parts(raw))
    return " ".join(NAME_VARIANTS.get(p, p) for p in parts)


def name_similarity(a: str, b: str) -> float:
    """Similarity of two names, 0 to 100, on their canonical forms.

    ``fuzz.token_sort_ratio``: parts are sorted before an edit-distance ratio, so order does
    not matter (``FAUZI AHMAD`` = ``AHMAD FAUZI``) while typos cost little (``NURHALIZAH`` /
    ``NURHALIZA`` about 97). Unlike ``token_set_ratio`` or ``WRatio`` it does not score a name
    that is contained in another as a near match (``SITI`` vs ``SITI AMINAH`` is about 53, not
    90-100): with common given names such as SITI or MUHAMMAD, subset matches would pair
    different people. An empty name is similar to nothing.
    """
    ca, cb = canonical_name(a), canonical_name(b)
    if not ca or not cb:
        return 0.0
    return float(fuzz.token_sort_ratio(ca, cb))


def same_person_name(a: str, b: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when the names score at least ``threshold`` (0-100) by :func:`name_similarity`."""
    if not 0.0 <= threshold <= 100.0:
        raise ValueError("threshold must be between 0 and 100")
    return name_similarity(a, b) >= threshold
