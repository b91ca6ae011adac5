"""A synthetic Barabai roster for the demo: people the registry stand-in knows, and others.

Everyone is drawn from ``Population(size, seed)``, the same deterministic people the
civil-registry stand-in serves, so the generator knows what the registry will answer:

- ``matched``: written as the registry has them (some names shortened to M. / MUH., which
  the identity service spells out before it asks);
- ``partial``: one field differs from the registry (the mother's name, as often happens);
- ``not_found``: a structurally valid NIK the registry does not have (serial 9xxx);
- ``invalid``: a NIK that fails the structural rules (15 digits, month 13, serial 0000,
  unknown province), never sent;
- ``missing``: no NIK written at all.

The file is what a facility keeps: Indonesian column names, dates as DD-MM-YYYY.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from services.civil_registry.population import Person, Population

POPULATION_SIZE: Final = 20_000
POPULATION_SEED: Final = 2023  # the stand-in's default SINERGI_REGISTRY_SEED
ROSTER_SEED: Final = 1303  # 13 March, the day the agreements were signed

OUTCOMES: Final = ("matched", "partial", "not_found", "invalid", "missing")
DEFAULT_MIX: Final[dict[str, int]] = {
    "matched": 210,
    "partial": 36,
    "not_found": 24,
    "invalid": 18,
    "missing": 12,
}
# Custody registers with rough weights: most people in a rutan are detainees (A) or short
# sentences (B.II); B.I (over a year) are fewer, B.III (fine in lieu) rare.
CATEGORIES: Final[dict[str, int]] = {
    "A.I": 8,
    "A.II": 14,
    "A.III": 22,
    "A.IV": 3,
    "A.V": 2,
    "B.I": 20,
    "B.IIa": 18,
    "B.IIb": 9,
    "B.III": 4,
}
ADULT_BORN_BEFORE: Final = date(2006, 1, 1)  # minors go to an LPKA, not a rutan
FIRST_ADMISSION: Final = date(2023, 1, 2)
LAST_ADMISSION: Final = date(2024, 1, 12)
HEADER: Final = (
    "no_registrasi",
    "nama",
    "jenis_kelamin",
    "tempat_lahir",
    "tanggal_lahir",
    "nama_ibu_kandung",
    "nik",
    "kategori",
    "tanggal_masuk",
)
MUHAMMAD_SHORT: Final = ("M.", "MUH.")


@dataclass(frozen=True)
class RosterEntry:
    register_number: str
    name: str
    sex: str
    birth_place: str
    birth_date: date
    mother_name: str
    nik: str
    category: str
    admission_date: date
    intended: str  # the NIK status the roster generator means this row to end in

    @property
    def name_variant(self) -> bool:
        return self.name.startswith(MUHAMMAD_SHORT)

    def csv_row(self) -> tuple[str, ...]:
        return (
            self.register_number,
            self.name,
            self.sex,
            self.birth_place,
            self.birth_date.strftime("%d-%m-%Y"),
            self.mother_name,
            self.nik,
            self.category,
            self.admission_date.strftime("%d-%m-%Y"),
        )


def build_roster(
    mix: dict[str, int] | None = None,
    *,
    population_size: int = POPULATION_SIZE,
    population_seed: int = POPULATION_SEED,
    seed: int = ROSTER_SEED,
) -> list[RosterEntry]:
    """The roster, always the same for the same arguments."""
    mix = dict(DEFAULT_MIX if mix is None else mix)
    unknown = set(mix) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"unknown outcomes: {sorted(unknown)}")
    rng = random.Random(seed)
    intents = [outcome for outcome in OUTCOMES for _ in range(mix.get(outcome, 0))]
    rng.shuffle(intents)
    population = Population(population_size, seed=population_seed)
    people = _eligible(population, len(intents))
    entries: list[RosterEntry] = []
    counters: Counter[str] = Counter()
    for number, (intent, person) in enumerate(zip(intents, people, strict=True), start=1):
        counters[intent] += 1
        entries.append(_entry(number, intent, person, counters[intent], people, rng))
    return entries


def intended_counts(entries: list[RosterEntry]) -> dict[str, int]:
    counts = Counter(entry.intended for entry in entries)
    return {outcome: counts[outcome] for outcome in OUTCOMES}


def write_csv(entries: list[RosterEntry], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(entry.csv_row() for entry in entries)
    return path


def _eligible(population: Population, count: int) -> list[Person]:
    """The first ``count`` living adults of the population, in index order."""
    people: list[Person] = []
    index = 0
    while len(people) < count:
        if index >= population.size:
            raise ValueError(f"the population has fewer than {count} living adults")
        person = population.person(index)
        if person.alive and person.birth_date < ADULT_BORN_BEFORE:
            people.append(person)
        index += 1
    return people


def _entry(
    number: int,
    intent: str,
    person: Person,
    nth: int,
    people: list[Person],
    rng: random.Random,
) -> RosterEntry:
    category = rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]
    admission = FIRST_ADMISSION + timedelta(
        days=rng.randrange((LAST_ADMISSION - FIRST_ADMISSION).days + 1)
    )
    name, mother, nik = person.name, person.mother_name, person.nik
    if intent == "matched" and name.startswith("MUHAMMAD "):
        name = MUHAMMAD_SHORT[nth % 2] + name.removeprefix("MUHAMMAD")
    elif intent == "partial":
        mother = _other_mother(person, people, number)
    elif intent == "not_found":
        nik = unknown_nik(person, nth)
    elif intent == "invalid":
        nik = invalid_nik(person, nth)
    elif intent == "missing":
        nik = ""
    return RosterEntry(
        register_number=f"{category.replace('.', '')}.{number:04d}/{admission.year}",
        name=name,
        sex=str(person.sex),
        birth_place=person.birth_place,
        birth_date=person.birth_date,
        mother_name=mother,
        nik=nik,
        category=category,
        admission_date=admission,
        intended=intent,
    )


def unknown_nik(person: Person, nth: int) -> str:
    """Region and birth date of the person, a serial the registry never issues this high."""
    return f"{person.nik[:12]}{9000 + nth:04d}"


def invalid_nik(person: Person, nth: int) -> str:
    """The person's NIK broken in one of the ways roster clerks break them."""
    nik = person.nik
    kind = nth % 4
    if kind == 0:
        return nik[:15]  # a digit lost: 15 digits
    if kind == 1:
        return f"{nik[:8]}13{nik[10:]}"  # month 13
    if kind == 2:
        return f"{nik[:12]}0000"  # serial 0000
    return f"00{nik[2:]}"  # province 00


def _other_mother(person: Person, people: list[Person], number: int) -> str:
    """Another person's mother's name: what a wrong or careless entry looks like."""
    for offset in range(1, len(people)):
        other = people[(number + len(people) // 2 + offset) % len(people)].mother_name
        if other != person.mother_name:
            return other
    raise ValueError("everyone has the same mother")
