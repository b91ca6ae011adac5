"""Aggregates saved and loaded as they were; a stale writer loses with ConcurrencyError."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, func, update
from sqlmodel import select

from services.programs import domain
from services.programs.migrations import upgrade_to_head
from services.programs.orm import SessionRow
from services.programs.repository import ConcurrencyError
from services.programs.unit_of_work import STREAM, UnitOfWork
from shared.messaging.tables import OutboxMessage
from shared.persistence.engine import make_engine

TERMS = domain.AgreementTerms(
    "agr-1", "rutan-barabai", "dinkes", "W.18-PK-1", ("drug_counselling",),
    date(2024, 1, 1), date(2024, 12, 31), "active",
)  # fmt: skip
KIND = domain.ProgrammeKind(
    "drug_counselling", "Konseling", "Counselling", "participants",
    domain.QuantityRule.PARTICIPANTS, False, None,
)  # fmt: skip
PERSON = domain.Person(
    "p-1", "B.I-001/2024", (domain.Custody("rutan-barabai", date(2023, 1, 1)),), "validated"
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    upgrade_to_head(db)
    try:
        yield db
    finally:
        db.dispose()


def test_a_held_session_loads_back_with_its_attendance(engine: Engine) -> None:
    with UnitOfWork(engine, STREAM) as uow:
        session = domain.ProgrammeSession.schedule("s-1", TERMS, KIND, date(2024, 3, 5))
        session.hold(
            date(2024, 3, 5), [PERSON], None, agreement=TERMS, kind=KIND, item=None,
            today=date(2024, 6, 1),
        )  # fmt: skip
        uow.sessions.add(session)
        uow.commit()

    with UnitOfWork(engine, STREAM) as uow:
        loaded = uow.sessions.get("s-1")

    assert loaded == session
    assert loaded is not None and loaded.attendance == ("p-1",)


def test_a_writer_holding_an_older_version_is_refused(engine: Engine) -> None:
    with UnitOfWork(engine, STREAM) as uow:
        uow.sessions.add(domain.ProgrammeSession.schedule("s-1", TERMS, KIND, date(2024, 3, 5)))
        uow.commit()

    with UnitOfWork(engine, STREAM) as uow:
        stale = uow.sessions.get("s-1")
        assert stale is not None
        # another replica's change lands between this load and this commit
        uow.session.execute(update(SessionRow).values(version=2, status="cancelled"))
        stale.cancel("the room was taken")
        with pytest.raises(ConcurrencyError):
            uow.commit()

    with UnitOfWork(engine, STREAM) as uow:
        assert uow.session.exec(select(func.count()).select_from(OutboxMessage)).one() == 1
