"""The comparison rule: trivial normalisation, then exact; only submitted elements."""

from __future__ import annotations

from datetime import date

import pytest

from services.civil_registry.matching import (
    MATCH,
    MISMATCH,
    ItemRejected,
    is_structurally_valid_nik,
    normalise,
    verify,
)
from services.civil_registry.population import Person

PERSON = Person(
    nik="6307061203900001",
    name="MUHAMMAD RIZKY PRATAMA",
    sex="L",
    birth_place="BARABAI",
    birth_date=date(1990, 3, 12),
    mother_name="SITI AMINAH",
    alive=True,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("muhammad rizky pratama", "MUHAMMAD RIZKY PRATAMA"),
        ("  Muhammad   Rizky\tPratama ", "MUHAMMAD RIZKY PRATAMA"),
        ("MA'RUF", "MARUF"),
        ("BAU-BAU", "BAUBAU"),
        ("M. RIZKY", "M RIZKY"),
        ("SITI, AMINAH.", "SITI AMINAH"),
        ("NOR_HASANAH", "NORHASANAH"),
        ("", ""),
        ("ma\u2019ruf", "MARUF"),
        ("siti\u00a0aminah", "SITI AMINAH"),
        ("\u00e9lise", "\u00c9LISE"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_all_elements_match_after_trivial_normalisation() -> None:
    submitted = {
        "name": " muhammad  rizky pratama",
        "birth_place": "Barabai.",
        "birth_date": "1990-03-12",
        "mother_name": "siti aminah",
        "sex": "l",
    }
    assert verify(PERSON, submitted) == dict.fromkeys(submitted, MATCH)


def test_name_variants_are_not_the_registrys_business() -> None:
    assert verify(PERSON, {"name": "M. RIZKY PRATAMA"}) == {"name": MISMATCH}
    assert verify(PERSON, {"name": "MUHAMAD RIZKY PRATAMA"}) == {"name": MISMATCH}


def test_only_submitted_elements_are_answered() -> None:
    assert verify(PERSON, {"mother_name": "SITI AMINAH", "name": None}) == {"mother_name": MATCH}
    assert verify(PERSON, {}) == {}


def test_mismatches() -> None:
    result = verify(
        PERSON,
        {"birth_place": "AMUNTAI", "birth_date": "1990-03-13", "sex": "P", "mother_name": ""},
    )
    assert result == {
        "birth_place": MISMATCH,
        "birth_date": MISMATCH,
        "sex": MISMATCH,
        "mother_name": MISMATCH,
    }


@pytest.mark.parametrize(
    "submitted",
    [{"birth_date": "12-03-1990"}, {"birth_date": "1990-02-30"}, {"sex": "LAKI-LAKI"}],
)
def test_malformed_elements_reject_the_item(submitted: dict[str, str]) -> None:
    with pytest.raises(ItemRejected) as caught:
        verify(PERSON, submitted)
    assert caught.value.code == "rjct.search_criteria.invalid"


@pytest.mark.parametrize(
    ("nik", "valid"),
    [
        ("6307061203900001", True),
        ("6307065203900001", True),  # a woman: day 12 + 40
        ("630706120390000", False),  # 15 digits
        ("63070612039000011", False),
        ("6307061203900000", False),  # serial 0000
        ("6307063203900001", False),  # day 32
        ("6307067203900001", False),  # day 72
        ("6307061213900001", False),  # month 13
        ("0907061203900001", False),  # no province 09
        ("63070612039O0001", False),
        ("\uff16\uff1307061203900001", False),  # full-width digits
    ],
)
def test_structural_nik_check(nik: str, valid: bool) -> None:
    assert is_structurally_valid_nik(nik) is valid
