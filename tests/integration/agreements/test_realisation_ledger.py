"""The realisation ledger is read by session, not whole: the work per fact stays constant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, event

from services.agreements import commands, domain, handlers
from services.agreements.migrations import alembic_config, upgrade_to_head
from services.agreements.unit_of_work import UnitOfWork
from shared.persistence.engine import make_engine

FACILITY = "rutan-barabai"
HELD = date(2024, 3, 5)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    try:
        yield db
    finally:
        db.dispose()


def an_active_agreement(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        partner = domain.Partner.register(
            "p-1", FACILITY, "dinkes", "Dinas Kesehatan", domain.PartnerKind.HEALTH
        )
        uow.partners.add(partner)
        agreement = domain.Agreement.draft(
            "a-1", FACILITY, partner, "W.18-PK-01", "440/01", "Health services",
            ["mobile_clinic"], domain.Period(date(2024, 1, 1), date(2026, 12, 31)),
        )  # fmt: skip
        agreement.sign(
            date(2023, 12, 20),
            [
                domain.Signatory(domain.Party.FACILITY, "Kepala Rutan", "Head"),
                domain.Signatory(domain.Party.PARTNER, "Kepala Dinas", "Head"),
            ],
            date(2024, 6, 1),
            [],
        )
        agreement.add_action_plan_item(
            "i-1", "mobile_clinic", "Mobile clinic visits", 1000, "visits",
            domain.Period(date(2024, 1, 1), date(2024, 12, 31)), domain.Party.PARTNER,
        )  # fmt: skip
        uow.agreements.add(agreement)
        uow.commit()


def record(engine: Engine, session_id: str, quantity: int, sequence: int) -> None:
    with UnitOfWork(engine) as uow:
        handlers.record_session_realisation(
            commands.RecordSessionRealisation(
                session_id=session_id,
                agreement_id="a-1",
                item_id="i-1",
                quantity=quantity,
                held_on=HELD,
                sequence=sequence,
            ),
            uow,
        )
        uow.commit()


def realised_in_storage(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT realised_quantity FROM action_plan_item WHERE id = 'i-1'")
        ).scalar_one()
        ledger = connection.execute(
            sa.text("SELECT COALESCE(SUM(quantity), 0) FROM realisation")
        ).scalar_one()
    return int(stored), int(ledger)


def test_a_loaded_agreement_carries_the_item_total_without_its_ledger(engine: Engine) -> None:
    upgrade_to_head(engine)
    an_active_agreement(engine)
    for n in range(30):
        record(engine, f"s-{n}", 2, 1)

    with UnitOfWork(engine) as uow:
        agreement = uow.agreements.get("a-1")
        assert agreement is not None
        item = agreement.item("i-1")

    assert item.realised_quantity == 60
    assert item.realisations == {}
    assert realised_in_storage(engine) == (60, 60)


def test_a_correction_reads_only_its_own_session_and_moves_the_total_by_the_difference(
    engine: Engine,
) -> None:
    upgrade_to_head(engine)
    an_active_agreement(engine)
    for n in range(30):
        record(engine, f"s-{n}", 2, 1)
    statements: list[str] = []

    def seen(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("SELECT") and "FROM realisation" in statement:
            statements.append(f"{statement} {parameters}")

    event.listen(engine, "before_cursor_execute", seen)
    try:
        record(engine, "s-7", 5, 2)  # a correction of one session
        record(engine, "s-7", 1, 1)  # stale: ignored
        record(engine, "s-30", 4, 1)  # a new session
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert len(statements) == 3, statements
    assert all("session_id IN" in s for s in statements), statements
    assert realised_in_storage(engine) == (60 + 3 + 4, 60 + 3 + 4)
    with UnitOfWork(engine) as uow:
        agreement = uow.agreements.get("a-1")
        assert agreement is not None
        uow.agreements.with_ledger_of(agreement, ["s-7", "s-30"])
        entries = agreement.item("i-1").realisations
    assert {(s, r.quantity, r.sequence) for s, r in entries.items()} == {
        ("s-7", 5, 2),
        ("s-30", 4, 1),
    }


def test_a_cancellation_in_a_later_transaction_takes_its_quantity_off_the_total(
    engine: Engine,
) -> None:
    upgrade_to_head(engine)
    an_active_agreement(engine)
    record(engine, "s-1", 3, 1)
    record(engine, "s-2", 4, 1)

    record(engine, "s-1", 0, 2)

    assert realised_in_storage(engine) == (4, 4)


def test_the_migration_adds_up_the_ledger_already_stored(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "0002")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO partner (id, facility, code, name, kind, sectors, version) "
                "VALUES ('p-1', :f, 'dinkes', 'Dinas', 'health', '[]', 1)"
            ),
            {"f": FACILITY},
        )
        connection.execute(
            sa.text(
                "INSERT INTO agreement (id, facility, partner_id, partner_code, facility_number,"
                " partner_number, title, programme_kinds, start_date, end_date, status,"
                " signatories, gap_days, version) VALUES ('a-1', :f, 'p-1', 'dinkes', 'W', 'P',"
                " 'T', '[]', '2024-01-01', '2026-12-31', 'active', '[]', 0, 1)"
            ),
            {"f": FACILITY},
        )
        for item in ("i-1", "i-2"):
            connection.execute(
                sa.text(
                    "INSERT INTO action_plan_item (id, agreement_id, position, programme_kind,"
                    " description, target_quantity, unit, period_start, period_end,"
                    " responsible, milestone) VALUES (:i, 'a-1', 0, 'mobile_clinic', 'd', 10,"
                    " 'visits', '2024-01-01', '2024-12-31', 'partner', 'open')"
                ),
                {"i": item},
            )
        for session, quantity in (("s-1", 3), ("s-2", 4)):
            connection.execute(
                sa.text(
                    "INSERT INTO realisation (session_id, item_id, quantity, held_on, sequence)"
                    " VALUES (:s, 'i-1', :q, '2024-03-05', 1)"
                ),
                {"s": session, "q": quantity},
            )

    upgrade_to_head(engine)

    with engine.connect() as connection:
        totals: dict[str, int] = dict(
            connection.execute(sa.text("SELECT id, realised_quantity FROM action_plan_item")).all()
        )
    assert totals == {"i-1": 7, "i-2": 0}
