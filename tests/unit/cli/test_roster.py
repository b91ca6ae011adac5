"""The demo's synthetic roster: the intended mix, and each row built to reach its outcome."""

from __future__ import annotations

import csv
from pathlib import Path

from services.civil_registry.population import Population
from services.cli.roster import (
    DEFAULT_MIX,
    POPULATION_SEED,
    POPULATION_SIZE,
    build_roster,
    intended_counts,
    write_csv,
)
from services.identity.nik import Sex, check_nik
from services.identity.roster_import import parse_row, read_rows


def test_the_roster_has_the_intended_mix_and_is_deterministic() -> None:
    roster = build_roster()
    assert intended_counts(roster) == DEFAULT_MIX
    assert len(roster) == 300
    assert roster == build_roster()
    assert len({e.register_number for e in roster}) == len(roster)
    niks = [e.nik for e in roster if e.nik]
    assert len(set(niks)) == len(niks)
    assert {e.category for e in roster} == {
        "A.I", "A.II", "A.III", "A.IV", "A.V", "B.I", "B.IIa", "B.IIb", "B.III"
    }  # fmt: skip
    assert sum(e.name_variant for e in roster) >= 10


def test_rows_are_built_for_what_the_registry_will_answer() -> None:
    registry = Population(POPULATION_SIZE, seed=POPULATION_SEED).build()
    for entry in build_roster():
        assert entry.sex in ("L", "P")
        sex: Sex = "L" if entry.sex == "L" else "P"
        structure = check_nik(entry.nik or None, birth_date=entry.birth_date, sex=sex)
        person = registry.get(entry.nik)
        if entry.intended in ("matched", "partial"):
            assert structure.valid and person is not None and person.alive
            assert (entry.birth_place, entry.birth_date) == (person.birth_place, person.birth_date)
            spelled_out = entry.name.replace("MUH. ", "MUHAMMAD ").replace("M. ", "MUHAMMAD ")
            assert spelled_out == person.name
            assert (entry.mother_name == person.mother_name) == (entry.intended == "matched")
        elif entry.intended == "not_found":
            assert structure.valid and person is None
        elif entry.intended == "invalid":
            assert entry.nik and not structure.valid
        else:
            assert entry.intended == "missing" and entry.nik == ""


def test_the_csv_is_read_by_the_identity_import_as_written(tmp_path: Path) -> None:
    roster = build_roster({"matched": 3, "invalid": 2, "missing": 1})
    path = write_csv(roster, tmp_path / "roster.csv")
    with path.open(encoding="utf-8") as f:
        assert next(csv.reader(f))[:2] == ["no_registrasi", "nama"]
    rows = list(read_rows(path.read_bytes(), path.name))
    assert len(rows) == len(roster)
    for (_, values), entry in zip(rows, roster, strict=True):
        admission = parse_row(values, "rutan-barabai")
        assert admission.register_number == entry.register_number
        assert admission.personal.birth_date == entry.birth_date
        assert admission.admission_date == entry.admission_date
        assert admission.category.value == entry.category
        assert admission.nik == (entry.nik or None)
