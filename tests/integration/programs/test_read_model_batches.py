"""Facts applied as one batch leave the read models exactly as applying them one by one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, select

from services.programs.migrations import upgrade_to_head
from services.programs.orm import READ_MODEL_TABLES, AgreementViewRow, InmateViewRow, ItemViewRow
from services.programs.read_models import EventPair, apply_event, apply_events
from shared.events import EventPayload, build_event
from shared.events import agreements as facts
from shared.events import identity as people
from shared.persistence.engine import make_engine

FACILITY = "rutan-barabai"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    upgrade_to_head(db)
    try:
        yield db
    finally:
        db.dispose()


def agreement(agreement_id: str, status: facts.AgreementStatus) -> facts.AgreementState:
    return facts.AgreementState(
        agreement_id=agreement_id,
        partner_id="partner-dinkes",
        partner_code="dinkes",
        facility_number=f"W.18-{agreement_id}",
        partner_number=f"P-{agreement_id}",
        title="Cooperation",
        programme_kinds=["drug_counselling"],
        start_date=date(2024, 1, 1),
        end_date=date(2025, 12, 31),
        status=status,
    )


def item(item_id: str, realised: int) -> facts.ActionPlanItemState:
    return facts.ActionPlanItemState(
        item_id=item_id,
        programme_kind="drug_counselling",
        description="Group counselling",
        target_quantity=100,
        unit="participants",
        period_start=date(2024, 1, 1),
        period_end=date(2024, 12, 31),
        responsible="partner",
        realised_quantity=realised,
        milestone="open",
    )


def inmate(person_id: str, nik: people.NikStatus, *periods: people.CustodyPeriod) -> Any:
    return people.InmateState(
        person_id=person_id,
        register_number=f"B.I-{person_id}/2024",
        name=f"WBP {person_id}",
        category="B.I",
        custody_status="convict",
        admission_date=date(2024, 1, 10),
        custody_periods=list(periods),
        nik_status=nik,
    )


def fact(payload: EventPayload, subject: str, sequence: int) -> EventPair:
    event = build_event(payload, subject=subject, facility=FACILITY, sequence=sequence)
    return event, payload


def a_history() -> list[EventPair]:
    """Several versions of the same aggregates, some out of order, some stale."""
    here = people.CustodyPeriod(facility=FACILITY, since=date(2024, 1, 10))
    left = here.model_copy(update={"until": date(2024, 3, 1)})
    there = people.CustodyPeriod(facility="lapas-banjarmasin", since=date(2024, 3, 1))
    return [
        fact(facts.AgreementDrafted(agreement=agreement("a-1", "draft")), "a-1", 1),
        fact(facts.AgreementActivated(agreement=agreement("a-1", "active")), "a-1", 2),
        fact(facts.ActionPlanItemAdded(agreement=agreement("a-1", "active"), item=item("i-1", 0)),
             "a-1", 3),
        fact(facts.RealisationUpdated(agreement=agreement("a-1", "active"), item=item("i-1", 40),
                                      session_id="s-1"), "a-1", 4),
        fact(facts.AgreementDrafted(agreement=agreement("a-1", "draft")), "a-1", 1),  # stale
        fact(facts.AgreementActivated(agreement=agreement("a-2", "active")), "a-2", 2),
        fact(facts.AgreementTerminated(agreement=agreement("a-2", "terminated"), reason="closed",
                                       terminated_on=date(2024, 4, 1)), "a-2", 4),
        # older than the termination, arriving after it: changes nothing
        fact(facts.AgreementActivated(agreement=agreement("a-2", "active")), "a-2", 3),
        fact(people.InmateAdmitted(inmate=inmate("p-1", "missing", here)), "p-1", 1),
        fact(people.NikStatusChanged(inmate=inmate("p-1", "validated", here),
                                     previous_status="missing"), "p-1", 3),
        fact(people.NikStatusChanged(inmate=inmate("p-1", "matched", here),
                                     previous_status="missing"), "p-1", 2),  # out of order
        fact(people.InmateTransferred(inmate=inmate("p-2", "unverified", left, there),
                                      from_facility=FACILITY, to_facility="lapas-banjarmasin",
                                      transferred_on=date(2024, 3, 1)), "p-2", 2),
        fact(people.InmateAdmitted(inmate=inmate("p-2", "missing", here)), "p-2", 1),  # stale
    ]  # fmt: skip


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with Session(engine) as session:
        return {
            table.__tablename__: sorted(
                (row.model_dump() for row in session.exec(select(table))), key=repr
            )
            for table in READ_MODEL_TABLES
        }


def clear(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for table in READ_MODEL_TABLES:
            session.execute(delete(table))


def test_a_batch_of_facts_ends_where_applying_them_one_by_one_ends(engine: Engine) -> None:
    history = a_history()
    with Session(engine) as session, session.begin():
        one_by_one = [apply_event(session, event, payload) for event, payload in history]
    expected = rows(engine)

    for size in (len(history), 3, 1):
        clear(engine)
        with Session(engine) as session, session.begin():
            applied = sum(
                apply_events(session, history[start : start + size])
                for start in range(0, len(history), size)
            )
        assert rows(engine) == expected, f"batches of {size}"
        assert applied == sum(one_by_one)


def test_a_batch_keeps_the_newest_state_and_the_termination_date(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        applied = apply_events(session, a_history())

    with Session(engine) as session:
        first = session.get(AgreementViewRow, "a-1")
        terminated = session.get(AgreementViewRow, "a-2")
        realised = session.get(ItemViewRow, "i-1")
        validated = session.get(InmateViewRow, "p-1")
        moved = session.get(InmateViewRow, "p-2")
    assert first is not None and (first.status, first.sequence) == ("active", 4)
    assert terminated is not None and terminated.status == "terminated"
    assert terminated.terminated_on == date(2024, 4, 1) and terminated.sequence == 4
    assert realised is not None and (realised.agreement_id, realised.sequence) == ("a-1", 4)
    assert validated is not None and (validated.nik_status, validated.sequence) == ("validated", 3)
    assert moved is not None and [p["facility"] for p in moved.custody_periods] == [
        FACILITY,
        "lapas-banjarmasin",
    ]
    assert applied == 9  # the stale and out-of-order facts change nothing


def test_a_batch_updates_rows_written_by_earlier_batches(engine: Engine) -> None:
    history = a_history()
    with Session(engine) as session, session.begin():
        apply_events(session, history[:4])
    with Session(engine) as session, session.begin():
        apply_events(session, history[4:])
    batched = rows(engine)
    clear(engine)
    with Session(engine) as session, session.begin():
        apply_events(session, history)

    assert batched == rows(engine)
    assert len(batched["agreement_view"]) == 2 and len(batched["inmate_view"]) == 2
