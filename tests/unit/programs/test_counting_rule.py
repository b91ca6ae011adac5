"""What a held session adds to its action-plan item (decision 0010), without I/O."""

from __future__ import annotations

from datetime import date

import pytest

from services.programs.domain import (
    AgreementTerms,
    Custody,
    ItemTerms,
    Person,
    ProgrammeKind,
    ProgrammeSession,
    QuantityError,
    QuantityRule,
)

FACILITY = "rutan-barabai"
TODAY = date(2024, 6, 1)
HELD_ON = date(2024, 3, 6)
CLASS = ProgrammeKind(
    "equivalency_class", "Kejar paket", "Equivalency class", "participants",
    QuantityRule.PARTICIPANTS, True, None,
)  # fmt: skip
AGREEMENT = AgreementTerms(
    "agr-1", FACILITY, "disdik", "W.18-PK-1", ("equivalency_class",),
    date(2024, 1, 1), date(2024, 12, 31), "active",
)  # fmt: skip


def item(counts: QuantityRule | None) -> ItemTerms:
    return ItemTerms(
        "item-1", "agr-1", "equivalency_class", date(2024, 1, 1), date(2024, 12, 31), counts
    )


def people(count: int) -> list[Person]:
    return [
        Person(f"p{n}", f"AI.{n}/2024", (Custody(FACILITY, date(2024, 1, 1)),), "validated")
        for n in range(count)
    ]


def held(
    counts: QuantityRule | None, attendance: int, reported: int | None = None
) -> ProgrammeSession:
    terms = item(counts)
    session = ProgrammeSession.schedule("s1", AGREEMENT, CLASS, HELD_ON, terms)
    session.hold(
        HELD_ON, people(attendance), reported,
        agreement=AGREEMENT, kind=CLASS, item=terms, today=TODAY,
    )  # fmt: skip
    return session


def test_a_sessions_item_counts_one_per_held_session_whatever_the_attendance() -> None:
    session = held(QuantityRule.SESSIONS, attendance=21)
    assert session.delivered_quantity == 1
    assert session.snapshot().participant_count == 21
    assert session.unit == "sessions"


def test_a_participants_item_counts_the_attendance() -> None:
    session = held(QuantityRule.PARTICIPANTS, attendance=21)
    assert (session.delivered_quantity, session.unit) == (21, "participants")


def test_an_item_without_a_rule_counts_as_its_kind() -> None:
    session = held(None, attendance=3)
    assert (session.delivered_quantity, session.unit) == (3, "participants")


def test_a_reported_item_counts_the_quantity_reported_with_the_session() -> None:
    session = held(QuantityRule.REPORTED, attendance=2, reported=45)
    assert session.delivered_quantity == 45
    assert session.unit == "participants"  # the kind's own unit: nothing better is known


def test_a_reported_item_refuses_a_session_without_its_quantity() -> None:
    with pytest.raises(QuantityError) as refused:
        held(QuantityRule.REPORTED, attendance=2)
    assert refused.value.code == "delivered_quantity_required"


def test_a_counted_item_refuses_a_reported_quantity() -> None:
    with pytest.raises(QuantityError) as refused:
        held(QuantityRule.SESSIONS, attendance=2, reported=5)
    assert refused.value.code == "quantity_not_reported"
    assert "counts sessions" in refused.value.message


def test_attending_twice_counts_once() -> None:
    terms = item(QuantityRule.PARTICIPANTS)
    session = ProgrammeSession.schedule("s1", AGREEMENT, CLASS, HELD_ON, terms)
    twice = [*people(2), *people(2)]
    session.hold(HELD_ON, twice, None, agreement=AGREEMENT, kind=CLASS, item=terms, today=TODAY)
    assert session.delivered_quantity == 2


def test_the_rule_of_a_session_without_an_item_is_its_kinds() -> None:
    assert CLASS.delivered_quantity(4, None) == 4
    assert CLASS.delivered_quantity(4, None, QuantityRule.SESSIONS) == 1
    assert CLASS.unit_by(None) == CLASS.unit_by(QuantityRule.PARTICIPANTS) == "participants"
