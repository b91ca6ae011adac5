"""The inmate repository on each database: many people loaded at once, saved in one go, with
the optimistic-concurrency check kept for every one of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from services.identity import domain
from services.identity.handlers import protect
from services.identity.migrations import upgrade_to_head
from services.identity.protection import NikVault, generate_key
from services.identity.repository import ConcurrencyError
from services.identity.unit_of_work import STREAM, UnitOfWork
from shared.persistence.engine import make_engine

FACILITY = "rutan-barabai"
PEOPLE = 1200  # more than one IN list's worth
MATCHED = domain.MatchOutcome(domain.MatchKind.MATCHED, job_id="job-1")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    upgrade_to_head(db)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def people(engine: Engine) -> list[str]:
    vault = NikVault(generate_key(), generate_key())
    ids = [f"person-{n:05}" for n in range(PEOPLE)]
    with UnitOfWork(engine, STREAM) as uow:
        for n, person_id in enumerate(ids):
            personal = domain.PersonalData(
                name=f"Muh. Rizky {n}",
                sex=domain.Sex.MALE,
                birth_place="Barabai",
                birth_date=date(1985, 3, 12),
                mother_name="Siti Aminah",
            )
            nik = protect(vault, f"630706120385{n + 1:04}", personal)
            uow.inmates.add(
                domain.Inmate.admit(
                    person_id,
                    FACILITY,
                    f"AI-{n:05}/2024",
                    domain.Category.A_I,
                    personal,
                    date(2024, 1, 10),
                    nik,
                )
            )
        uow.commit()
    return ids


def _rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def test_get_many_loads_the_people_asked_for_and_leaves_out_unknown_ids(
    engine: Engine, people: list[str]
) -> None:
    with UnitOfWork(engine, STREAM) as uow:
        found = uow.inmates.get_many([*people, "nobody", people[0]])

        assert set(found) == set(people)
        first = found[people[0]]
        assert first.personal.name == "Muh. Rizky 0"
        assert first.nik is not None and first.nik.masked.startswith("63.07")
        assert first.nik_status is domain.NikStatus.UNVERIFIED
        assert uow.inmates.get(people[0]) is first  # the same object, not a second copy


def test_a_batch_of_changed_people_is_saved_with_new_versions_and_one_fact_each(
    engine: Engine, people: list[str]
) -> None:
    with UnitOfWork(engine, STREAM) as uow:
        for inmate in uow.inmates.get_many(people).values():
            inmate.record_match(MATCHED)
        uow.commit()

    statuses = _rows(engine, "SELECT nik_status, version, count(*) FROM inmate GROUP BY 1, 2")
    assert statuses == [("matched", 2, PEOPLE)]
    facts = _rows(
        engine, "SELECT count(*) FROM outbox WHERE event_type = 'sinergi.inmate.nik_status_changed'"
    )
    assert facts[0][0] == PEOPLE
    canonical = _rows(engine, "SELECT canonical_name FROM inmate WHERE id = 'person-00007'")
    assert canonical[0][0] == "MUHAMMAD RIZKY"  # derived columns kept as they were


def test_a_renamed_person_saved_among_others_gets_the_new_canonical_name(
    engine: Engine, people: list[str]
) -> None:
    with UnitOfWork(engine, STREAM) as uow:
        loaded = uow.inmates.get_many(people[:3])
        loaded[people[0]].record_match(MATCHED)
        renamed = loaded[people[1]]
        renamed.personal = domain.PersonalData(
            name="Ahmad Fauzi, S.Pd.",
            sex=renamed.personal.sex,
            birth_place=renamed.personal.birth_place,
            birth_date=renamed.personal.birth_date,
            mother_name=renamed.personal.mother_name,
        )
        renamed.version += 1
        uow.commit()

    rows = _rows(
        engine,
        "SELECT id, name, canonical_name, nik_status, version FROM inmate"
        " WHERE id IN ('person-00000', 'person-00001', 'person-00002') ORDER BY id",
    )
    assert rows == [
        ("person-00000", "Muh. Rizky 0", "MUHAMMAD RIZKY", "matched", 2),
        ("person-00001", "Ahmad Fauzi, S.Pd.", "AHMAD FAUZI", "unverified", 2),
        ("person-00002", "Muh. Rizky 2", "MUHAMMAD RIZKY", "unverified", 1),
    ]


def _changed_meanwhile(uow: UnitOfWork, person_id: str) -> None:
    """Another writer's update, as the database sees it: the version moves on."""
    uow.session.execute(
        sa.text("UPDATE inmate SET version = version + 1, review_note = 'x' WHERE id = :id"),
        {"id": person_id},
    )


def test_one_person_changed_meanwhile_makes_the_whole_batch_fail_and_nothing_is_saved(
    engine: Engine, people: list[str]
) -> None:
    with UnitOfWork(engine, STREAM) as late:
        batch = late.inmates.get_many(people[:500])
        _changed_meanwhile(late, people[250])
        for inmate in batch.values():
            inmate.record_match(MATCHED)

        with pytest.raises(ConcurrencyError, match="1 of 500 people changed"):
            late.commit()

    statuses = _rows(engine, "SELECT nik_status, count(*) FROM inmate GROUP BY 1")
    assert statuses == [("unverified", PEOPLE)]
    facts = _rows(engine, "SELECT count(*) FROM outbox")
    assert facts[0][0] == PEOPLE  # the admissions only: none of the batch


def test_a_single_stale_person_is_named_in_the_concurrency_error(
    engine: Engine, people: list[str]
) -> None:
    with UnitOfWork(engine, STREAM) as late:
        stale = late.inmates.get(people[3])
        assert stale is not None
        _changed_meanwhile(late, people[3])
        stale.record_match(MATCHED)

        with pytest.raises(ConcurrencyError, match=f"person {people[3]} changed since version 1"):
            late.commit()
