"""Building the dashboard's pages from read-model facts (no I/O)."""

from __future__ import annotations

from datetime import date, timedelta

from services.dashboard import views
from services.dashboard.views import Agreement, DeadLetterFact, GroupFact, Item, NikCount

TODAY = date(2024, 6, 1)
NAMES = {"dinkes": "Dinas Kesehatan", "disnaker": "Dinas Tenaga Kerja"}


def agreement(
    key: str, *, partner: str = "dinkes", status: str = "active", ends_in: int = 400
) -> Agreement:
    return Agreement(
        agreement_id=key,
        facility="rutan-barabai",
        partner_code=partner,
        facility_number=f"W.18-{key}",
        title=f"Kerja sama {key}",
        start_date=date(2024, 1, 1),
        end_date=TODAY + timedelta(days=ends_in),
        status=status,
    )


def item(
    key: str, agreement_id: str, *, realised: int, target: int = 10, partner: str = "dinkes"
) -> Item:
    return Item(
        item_id=key,
        agreement_id=agreement_id,
        partner_code=partner,
        programme_kind="penyuluhan_kesehatan",
        description=f"item {key}",
        target_quantity=target,
        realised_quantity=realised,
        unit="kegiatan",
        period_end=date(2024, 12, 31),
        milestone="open",
    )


def page(agreements: list[Agreement], partner: str | None = None) -> views.AgreementsPage:
    return views.agreements_page(
        agreements,
        today=TODAY,
        horizon_days=90,
        partner=partner,
        partner_names=NAMES,
        sessions_held={"a": 3},
    )


def test_agreements_are_counted_by_status_with_every_status_listed() -> None:
    built = page([agreement("a"), agreement("b"), agreement("c", status="expired", ends_in=-5)])

    counts = {c.status: c.count for c in built.status_counts}
    assert counts["active"] == 2
    assert counts["expired"] == 1
    assert counts["draft"] == 0
    assert [c.status for c in built.status_counts] == list(views.AGREEMENT_STATUSES)
    assert built.total == 3


def test_only_agreements_in_force_ending_within_90_days_are_expiring() -> None:
    built = page(
        [
            agreement("today", ends_in=0),
            agreement("edge", ends_in=90),
            agreement("later", ends_in=91),
            agreement("past", ends_in=-1),
            agreement("gone", status="terminated", ends_in=30),
            agreement("flagged", status="expiring", ends_in=45),
        ]
    )

    assert [line.agreement.agreement_id for line in built.expiring] == ["today", "flagged", "edge"]
    assert [line.days_left for line in built.expiring] == [0, 45, 90]


def test_a_partner_page_holds_only_that_partners_agreements() -> None:
    built = page(
        [agreement("own"), agreement("other", partner="disnaker", ends_in=10)], partner="dinkes"
    )

    assert [line.agreement.agreement_id for line in built.agreements] == ["own"]
    assert built.expiring == []
    assert built.total == 1


def test_lines_carry_the_partners_name_and_the_sessions_held() -> None:
    built = page([agreement("a"), agreement("b", partner="unknown")])

    by_id = {line.agreement.agreement_id: line for line in built.agreements}
    assert by_id["a"].partner_name == "Dinas Kesehatan"
    assert by_id["a"].sessions_held == 3
    assert by_id["b"].partner_name == "unknown"
    assert by_id["b"].sessions_held == 0


def test_a_progress_bar_is_capped_at_100_percent_and_marks_an_exceeded_target() -> None:
    assert views.progress(3, 10) == 30
    assert views.progress(2, 3) == 66
    assert views.progress(0, 10) == 0
    assert views.progress(15, 10) == 100
    assert views.progress_bar(item("i", "a", realised=15)).exceeded
    assert not views.progress_bar(item("i", "a", realised=10)).exceeded


def test_an_action_plan_counts_each_item_only_up_to_its_target() -> None:
    plans = views.action_plans(
        [agreement("a"), agreement("no-items")],
        [item("i1", "a", realised=20, target=10), item("i2", "a", realised=0, target=10)],
        today=TODAY,
        partner=None,
        partner_names=NAMES,
        sessions_held={},
    )

    assert len(plans) == 1
    assert plans[0].percent == 50
    assert [bar.percent for bar in plans[0].bars] == [100, 0]


def test_a_partner_sees_only_its_own_action_plans() -> None:
    plans = views.action_plans(
        [agreement("own"), agreement("other", partner="disnaker")],
        [
            item("i1", "own", realised=1),
            item("i2", "other", realised=5, partner="disnaker"),
        ],
        today=TODAY,
        partner="dinkes",
        partner_names=NAMES,
        sessions_held={},
    )

    assert [plan.line.agreement.agreement_id for plan in plans] == ["own"]


def test_nik_counts_are_tabled_per_facility_with_totals_and_the_validated_share() -> None:
    built = views.nik_page(
        [
            NikCount("rutan-barabai", "validated", 3),
            NikCount("rutan-barabai", "missing", 1),
            NikCount("lapas-banjarmasin", "not_found", 2),
        ]
    )

    assert [f.facility for f in built.facilities] == ["lapas-banjarmasin", "rutan-barabai"]
    barabai = built.facilities[1]
    assert barabai.counts["validated"] == 3
    assert barabai.counts["rejected"] == 0
    assert barabai.total == 4
    assert barabai.validated_percent == 75
    assert built.totals["not_found"] == 2
    assert built.total == 6


def test_operations_flag_groups_behind_the_threshold_and_group_reasons() -> None:
    letters = [
        DeadLetterFact("2-0", "sinergi.programs", "dashboard", "dashboard", "invalid_payload",
                       "x", "2024-06-01T00:00:00+00:00"),
        DeadLetterFact("1-0", "sinergi.programs", "dashboard", "dashboard", "invalid_payload",
                       "y", "2024-06-01T00:00:00+00:00"),
        DeadLetterFact("0-1", "sinergi.identity", "programs", "programs", "unknown_type",
                       "z", "2024-06-01T00:00:00+00:00"),
    ]  # fmt: skip
    built = views.operations_page(
        7,
        letters,
        [
            GroupFact("sinergi.programs", "dashboard", 11, 0),
            GroupFact("sinergi.agreements", "x", 3, 1),
        ],
        lag_threshold=10,
    )

    assert built.dead_letter_count == 7
    assert built.dead_letters_by_reason == [("invalid_payload", 2), ("unknown_type", 1)]
    assert [(g.stream, g.behind) for g in built.groups] == [
        ("sinergi.agreements", False),
        ("sinergi.programs", True),
    ]
