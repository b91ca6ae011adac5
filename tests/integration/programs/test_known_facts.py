"""What the programs service knows of people, agreements and kinds, read in few queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, update
from sqlmodel import Session, col

from services.programs import domain
from services.programs.kinds import seed_kinds
from services.programs.migrations import upgrade_to_head
from services.programs.orm import InmateViewRow, ProgrammeKindRow
from services.programs.read_models import apply_events
from services.programs.repository import KindCatalogue
from services.programs.unit_of_work import STREAM, UnitOfWork
from shared.events import build_event
from shared.events import identity as people
from shared.persistence.engine import make_engine
from tests.integration.programs.test_read_model_batches import FACILITY, inmate

KINDS_FILE = Path(domain.__file__).with_name("kinds.json")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    upgrade_to_head(db)
    try:
        yield db
    finally:
        db.dispose()


def admit(engine: Engine, count: int) -> list[str]:
    here = people.CustodyPeriod(facility=FACILITY, since=date(2024, 1, 10))
    gone = people.CustodyPeriod(facility=FACILITY, since=date(2023, 1, 1), until=date(2023, 6, 1))
    ids = [f"p-{n:04d}" for n in range(count)]
    admitted = [people.InmateAdmitted(inmate=inmate(p, "missing", gone, here)) for p in ids]
    with Session(engine) as session, session.begin():
        apply_events(
            session,
            [
                (build_event(a, subject=a.inmate.person_id, facility=FACILITY, sequence=1), a)
                for a in admitted
            ],
        )
    return ids


def count_selects(engine: Engine) -> list[str]:
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*args: object) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    return statements


def test_everyone_attending_is_read_in_one_query_with_their_custody(engine: Engine) -> None:
    ids = admit(engine, 40)
    selects = count_selects(engine)

    with UnitOfWork(engine, STREAM) as uow:
        found = uow.facts.people([*ids, ids[0], "nobody"])

    assert len(selects) == 1
    assert sorted(found) == ids  # the unknown one is left out, the repeated one read once
    person = found[ids[3]]
    assert person.register_number == f"B.I-{ids[3]}/2024"
    assert person.custody_periods == (
        domain.Custody(FACILITY, date(2023, 1, 1), date(2023, 6, 1)),
        domain.Custody(FACILITY, date(2024, 1, 10), None),
    )
    assert person.nik_status == "missing"


def test_more_people_than_one_query_takes_are_read_in_several(engine: Engine) -> None:
    ids = admit(engine, 1201)

    with UnitOfWork(engine, STREAM) as uow:
        found = uow.facts.people(ids)
        one = uow.facts.person(ids[-1])

    assert sorted(found) == ids
    assert one == found[ids[-1]]


def test_people_are_read_as_the_transaction_sees_them(engine: Engine) -> None:
    ids = admit(engine, 2)

    with UnitOfWork(engine, STREAM) as uow:
        uow.session.execute(
            update(InmateViewRow)
            .where(col(InmateViewRow.person_id) == ids[0])
            .values(nik_status="validated")
        )
        assert uow.facts.people(ids)[ids[0]].nik_status == "validated"


def test_a_custody_change_is_seen_at_once_although_parsed_periods_are_kept(
    engine: Engine,
) -> None:
    ids = admit(engine, 2)
    with UnitOfWork(engine, STREAM) as uow:
        before = uow.facts.people(ids)
    released = [
        {"facility": FACILITY, "since": "2024-01-10", "until": "2024-05-01"},
    ]

    with Session(engine) as session, session.begin():
        session.execute(
            update(InmateViewRow)
            .where(col(InmateViewRow.person_id) == ids[0])
            .values(custody_periods=released)
        )
    with UnitOfWork(engine, STREAM) as uow:
        after = uow.facts.people(ids)

    assert after[ids[0]].custody_periods == (
        domain.Custody(FACILITY, date(2024, 1, 10), date(2024, 5, 1)),
    )
    assert after[ids[1]] == before[ids[1]]
    # the same stored periods are parsed once and shared
    assert after[ids[1]].custody_periods is before[ids[1]].custody_periods


def test_programme_kinds_are_read_once_per_process_until_forgotten(engine: Engine) -> None:
    seed_kinds(engine, KINDS_FILE)
    kinds = KindCatalogue()
    with UnitOfWork(engine, STREAM, kinds=kinds) as uow:
        first = uow.facts.kind("drug_counselling")
        assert uow.facts.kind("no_such_kind") is None
    with Session(engine) as session, session.begin():
        session.execute(
            update(ProgrammeKindRow)
            .where(col(ProgrammeKindRow.code) == "drug_counselling")
            .values(label_en="Renamed")
        )
    selects = count_selects(engine)

    with UnitOfWork(engine, STREAM, kinds=kinds) as uow:
        assert uow.facts.kind("drug_counselling") == first
    assert selects == []

    kinds.forget()
    with UnitOfWork(engine, STREAM, kinds=kinds) as uow:
        renamed = uow.facts.kind("drug_counselling")
    assert first is not None and renamed is not None
    assert renamed.label_en == "Renamed" and renamed.code == first.code
