"""A benchmark page says the machine was shared only when other work was running."""

from __future__ import annotations

from bench.sections import machine_note, was_shared


def test_a_run_started_on_a_quiet_machine_is_not_reported_as_shared() -> None:
    assert not was_shared("0.43 0.15 0.05")
    assert "Nothing else ran" in machine_note("0.43 0.15 0.05")


def test_a_run_started_while_other_work_held_a_core_is_reported_as_shared() -> None:
    assert was_shared("14.13 16.12 15.48")
    assert "shared with other work" in machine_note("1.00 0.50 0.20")


def test_an_unreadable_load_average_never_claims_a_quiet_machine() -> None:
    assert was_shared("")
    assert was_shared("n/a")
