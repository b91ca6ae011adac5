"""The synthetic population: deterministic, structurally valid NIKs, fast to build."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest

from services.civil_registry.matching import is_structurally_valid_nik
from services.civil_registry.population import (
    BIRTH_FIRST,
    BIRTH_LAST,
    REGIONS,
    Person,
    Population,
)

REGION_CODES = {region.code for region in REGIONS}


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return list(Population(20_000, seed=2023).people())


def test_same_seed_same_people() -> None:
    assert Population(3000, seed=7).build() == Population(3000, seed=7).build()


def test_other_seed_other_people() -> None:
    a = Population(500, seed=1).people()
    b = Population(500, seed=2).people()
    assert sum(x == y for x, y in zip(a, b, strict=True)) == 0


def test_person_by_index_needs_no_full_build_and_agrees_with_it() -> None:
    lazy = Population(1000, seed=11)
    picked = lazy.person(42)
    assert picked == Population(1000, seed=11).people()[42]
    assert lazy.build()[picked.nik] == picked
    assert len(lazy.build()) == 1000


def test_person_index_out_of_range() -> None:
    with pytest.raises(IndexError):
        Population(10).person(10)


def test_niks_are_16_digits_unique_and_structurally_valid(people: list[Person]) -> None:
    niks = [p.nik for p in people]
    assert len(set(niks)) == len(niks)
    for p in people:
        assert len(p.nik) == 16
        assert p.nik.isdigit()
        assert is_structurally_valid_nik(p.nik)
        assert p.nik[:6] in REGION_CODES
        assert int(p.nik[12:]) >= 1


def test_nik_carries_the_birth_date_with_40_added_to_the_day_for_women(
    people: list[Person],
) -> None:
    for p in people:
        day = int(p.nik[6:8])
        expected_day = p.birth_date.day + (40 if p.sex == "P" else 0)
        assert day == expected_day
        assert p.nik[8:10] == f"{p.birth_date.month:02d}"
        assert p.nik[10:12] == f"{p.birth_date.year % 100:02d}"
        assert BIRTH_FIRST <= p.birth_date <= BIRTH_LAST


def test_serials_count_up_from_0001_per_region_and_date(people: list[Person]) -> None:
    by_key: dict[tuple[str, date], list[int]] = {}
    for p in people:
        by_key.setdefault((p.nik[:6], p.birth_date), []).append(int(p.nik[12:]))
    for serials in by_key.values():
        assert serials == list(range(1, len(serials) + 1))


def test_shape_of_the_population(people: list[Person]) -> None:
    n = len(people)
    hst = sum(p.nik.startswith("6307") for p in people)
    south_kalimantan = sum(p.nik.startswith("63") for p in people)
    assert 0.45 < hst / n < 0.65
    assert 0.8 < south_kalimantan / n < 0.95
    dead = sum(not p.alive for p in people)
    assert 0.005 < dead / n < 0.016
    sexes = Counter(p.sex for p in people)
    assert set(sexes) == {"L", "P"}
    assert 0.45 < sexes["P"] / n < 0.55
    districts = {p.nik[:6] for p in people if p.nik.startswith("6307")}
    assert districts == {f"6307{d:02d}" for d in range(1, 12)}


def test_names_are_uppercase_registry_style_with_common_prefixes(people: list[Person]) -> None:
    for p in people[:2000]:
        for value in (p.name, p.mother_name, p.birth_place):
            assert value == value.upper()
            assert value == value.strip()
            assert "  " not in value
    men = [p.name for p in people if p.sex == "L"]
    women = [p.name for p in people if p.sex == "P"]
    assert sum(n.startswith("MUHAMMAD ") for n in men) / len(men) > 0.15
    assert sum(n.startswith("SITI ") for n in women) / len(women) > 0.12
    assert any(n.startswith("NUR ") for n in women)
    assert any(n.startswith("NUR ") for n in men)
    assert sum(m.startswith("SITI ") for m in (p.mother_name for p in people)) > 0
    # Shared names are common (the NIK tells people apart), but most names are distinct.
    assert len({p.name for p in people}) > 0.6 * len(people)


def test_builds_200k_people_quickly() -> None:
    started = time.perf_counter()
    built = Population(200_000, seed=99).build()
    elapsed = time.perf_counter() - started
    assert len(built) == 200_000
    assert elapsed < 5.0, f"200k people took {elapsed:.2f} s"
