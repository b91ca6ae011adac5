"""The regional load's case: a year of sessions per facility reaches every action-plan target."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from bench.regional import TODAY, Command, Facility, plan_commands
from services.cli.scenario import load_scenario


def _plan(months: int, number: int = 1) -> list[Command]:
    scenario = load_scenario()
    agreements = {a.key: f"agreement-{a.key}" for a in scenario.agreements}
    items = {(a.key, i.key): f"item-{i.key}" for a in scenario.agreements for i in a.action_plan}
    people = [(f"person-{n}", date(2023, 1, 2 + n % 20)) for n in range(500)]
    return plan_commands(scenario, Facility(number), agreements, items, people, months)


def test_a_year_of_sessions_reaches_every_target_of_the_action_plans_exactly() -> None:
    scenario = load_scenario()
    counted: dict[tuple[str, str], int] = defaultdict(int)
    for command in _plan(12):
        if command.item is not None:
            counted[command.item[1:]] += command.counted
    targets = {(a.key, i.key): i.target_quantity for a in scenario.agreements
               for i in a.action_plan}  # fmt: skip
    assert dict(counted) == targets


def test_sessions_are_held_within_their_item_period_by_people_already_admitted() -> None:
    scenario = load_scenario()
    admitted = {f"person-{n}": date(2023, 1, 2 + n % 20) for n in range(500)}
    for command in _plan(12):
        assert command.day <= TODAY
        if command.item is None:
            continue
        item = scenario.agreement(command.item[1]).item(command.item[2])
        assert item.period_start <= command.day <= item.period_end
        assert all(admitted[p] <= command.day for p in command.body["attendance"])


def test_a_month_plans_fewer_commands_and_the_plan_is_the_same_every_time() -> None:
    assert 0 < len(_plan(1)) < len(_plan(12))
    assert [c.body for c in _plan(12)] == [c.body for c in _plan(12)]
    assert [c.body for c in _plan(12, 2)] != [c.body for c in _plan(12, 1)]
