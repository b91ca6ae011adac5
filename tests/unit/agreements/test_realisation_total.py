"""An item read with only part of its ledger in hand keeps its total right."""

from __future__ import annotations

from datetime import date

from services.agreements.domain import ActionPlanItem, Party, Period, Realisation

HELD = date(2024, 3, 5)


def an_item(**more: object) -> ActionPlanItem:
    return ActionPlanItem(
        "i-1",
        "mobile_clinic",
        "Mobile clinic visits",
        100,
        "visits",
        Period(date(2024, 1, 1), date(2024, 12, 31)),
        Party.PARTNER,
        **more,  # type: ignore[arg-type]
    )


def test_an_item_built_with_its_whole_ledger_adds_it_up() -> None:
    ledger = {s: Realisation(s, 3, HELD, 1) for s in ("s-1", "s-2")}
    assert an_item(realisations=ledger).realised_quantity == 6


def test_an_item_read_with_its_total_and_no_ledger_counts_the_total() -> None:
    item = an_item(realised_total=40)
    assert item.realised_quantity == 40
    assert item.apply(Realisation("s-9", 2, HELD, 1))
    assert item.realised_quantity == 42


def test_a_correction_of_an_entry_in_hand_moves_the_total_by_the_difference() -> None:
    item = an_item(realisations={"s-1": Realisation("s-1", 5, HELD, 1)}, realised_total=40)
    assert item.apply(Realisation("s-1", 2, HELD, 2))
    assert item.realised_quantity == 37
    assert not item.apply(Realisation("s-1", 9, HELD, 2))
    assert item.realised_quantity == 37


def test_items_with_the_same_total_are_equal_whatever_ledger_is_in_hand() -> None:
    whole = an_item(realisations={"s-1": Realisation("s-1", 5, HELD, 1)})
    assert whole == an_item(realised_total=5)
    assert whole != an_item(realised_total=4)
