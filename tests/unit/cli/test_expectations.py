"""What the demo expects: the ledger rules (last sequence wins, cancelled = 0), the calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.cli.scenario import (
    ActionPlanItem,
    Scenario,
    expected_milestone,
    expected_realisation,
    expected_status_counts,
    load_scenario,
)


def _scenario(activities: list[dict[str, Any]]) -> Scenario:
    base = load_scenario().model_dump(mode="json")
    return Scenario.model_validate(base | {"activities": activities})


def _report(session: str, quantity: int, sequence: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "session_id": session,
        "agreement": "pks-2023-kesehatan",
        "item": "konseling-narkoba",
        "held_on": "2023-05-10",
        "delivered_quantity": quantity,
        "sequence": sequence,
        **extra,
    }


KEY = ("pks-2023-kesehatan", "konseling-narkoba")


def test_a_correction_replaces_the_earlier_report() -> None:
    scenario = _scenario([_report("s1", 10), _report("s1", 12, 2), _report("s2", 5)])
    assert expected_realisation(scenario)[KEY] == 17


def test_the_highest_sequence_wins_whatever_the_order() -> None:
    scenario = _scenario([_report("s1", 12, 2), _report("s1", 10, 1)])
    assert expected_realisation(scenario)[KEY] == 12


def test_a_cancelled_session_counts_nothing() -> None:
    cancelled = _report("s1", 0, 2, status="cancelled", reason="hujan")
    scenario = _scenario([_report("s1", 10), cancelled, _report("s2", 4)])
    assert expected_realisation(scenario)[KEY] == 4


def test_items_without_sessions_appear_with_zero() -> None:
    realisation = expected_realisation(_scenario([]))
    assert len(realisation) == 16
    assert set(realisation.values()) == {0}


def test_the_barabai_quarter() -> None:
    realisation = expected_realisation(load_scenario())
    # 8 + 12 (10 corrected to 12) + 9 + 7
    assert realisation[KEY] == 36
    # two bazaars reported, the second one cancelled afterwards
    assert realisation[("pks-2023-perdagangan", "pameran")] == 1
    assert sum(realisation.values()) > 0


def test_status_counts_on_the_report_day() -> None:
    scenario = load_scenario()
    assert expected_status_counts(scenario, date(2023, 3, 13)) == {"active": 8, "renewed": 3}
    # one-year agreements end 2024-03-12: within the 90-day notice on 2024-01-15
    assert expected_status_counts(scenario, date(2024, 1, 15)) == {
        "active": 5,
        "expiring": 3,
        "renewed": 3,
    }


@pytest.mark.parametrize(
    ("realised", "today", "milestone"),
    [
        (40, date(2023, 6, 30), "open"),
        (40, date(2023, 7, 1), "met"),
        (39, date(2023, 7, 1), "partially_met"),
        (0, date(2023, 7, 1), "not_met"),
    ],
)
def test_milestones_are_assessed_after_the_item_period(
    realised: int, today: date, milestone: str
) -> None:
    item = ActionPlanItem(
        key="k",
        programme_kind="drug_counselling",
        description="d",
        target_quantity=40,
        unit="orang",
        period_start=date(2023, 4, 1),
        period_end=date(2023, 6, 30),
        responsible="both",
    )
    assert expected_milestone(item, realised, today) == milestone
