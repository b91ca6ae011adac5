"""The programs part of the demo, planned without I/O: who records what, with whom attending."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from services.cli import checks, summary
from services.cli.identity_client import CustodyPeriod, Inmate
from services.cli.loading import LoadedIds
from services.cli.programs_client import (
    ProductTotal,
    RealisationReport,
    ReportItem,
    ReportMonth,
    SalesReport,
)
from services.cli.programs_demo import (
    ScenarioMismatch,
    SessionCall,
    counting_rules,
    expected_months,
    expected_sales,
    plan_sessions,
)
from services.cli.roster import build_roster
from services.cli.scenario import Scenario, expected_realisation, load_scenario

FACILITY = "rutan-barabai"
KINDS_FILE = Path(__file__).resolve().parents[3] / "services" / "programs" / "kinds.json"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario()


@pytest.fixture(scope="module")
def ids(scenario: Scenario) -> LoadedIds:
    loaded = LoadedIds()
    for agreement in scenario.all_agreements:
        loaded.agreements[agreement.key] = f"id-{agreement.key}"
        for item in agreement.action_plan:
            loaded.items[(agreement.key, item.key)] = f"id-{item.key}"
    return loaded


@pytest.fixture(scope="module")
def kind_rules() -> dict[str, str]:
    return {k["code"]: k["quantity_rule"] for k in json.loads(KINDS_FILE.read_text())}


def person(n: int, since: date = date(2023, 1, 2), facility: str = FACILITY) -> Inmate:
    return Inmate(
        id=f"p{n}",
        register_number=f"AI.{n:04d}/2023",
        nik_status="matched",
        custody_periods=[CustodyPeriod(facility=facility, since=since)],
    )


def calls_of(calls: list[SessionCall], session_id: str) -> list[SessionCall]:
    return [c for c in calls if c.activity.session_id == session_id]


def test_items_count_by_their_own_rule_else_by_their_kind(
    scenario: Scenario, kind_rules: dict[str, str]
) -> None:
    rules = counting_rules(scenario, kind_rules)
    assert rules[("pks-2023-pendidikan", "kejar-paket")] == "sessions"  # kind: participants
    assert rules[("pks-2023-tenaga-kerja", "sesi-pelatihan")] == "sessions"
    assert rules[("pks-2023-tenaga-kerja", "peserta-pelatihan")] == "participants"
    assert rules[("pks-2023-damkar", "simulasi-kebakaran")] == "sessions"
    assert rules[("pks-2023-kesehatan", "pusling")] == "sessions"  # from the kind
    assert rules[("pks-2023-perpustakaan", "pinjam-buku")] == "reported"


def test_every_reported_quantity_is_what_its_items_rule_makes_of_the_session(
    scenario: Scenario, kind_rules: dict[str, str]
) -> None:
    assert checks.counting_differences(scenario, counting_rules(scenario, kind_rules)) == []


def test_a_kejar_paket_session_counted_by_its_kind_would_be_caught(
    scenario: Scenario, kind_rules: dict[str, str]
) -> None:
    rules = counting_rules(scenario, kind_rules)
    rules[("pks-2023-pendidikan", "kejar-paket")] = "participants"
    differences = checks.counting_differences(scenario, rules)
    assert len(differences) == 12
    assert "ses-kejar-paket-2023-01" in differences[0]


def test_partners_record_their_sessions_and_staff_the_facilitys_own(
    scenario: Scenario, ids: LoadedIds, kind_rules: dict[str, str]
) -> None:
    people = [person(n) for n in range(200)]
    calls = plan_sessions(scenario, ids, counting_rules(scenario, kind_rules), people)
    assert len(calls) == len(scenario.activities)
    [pusling] = calls_of(calls, "ses-pusling-2023-01")
    assert (pusling.recorder, pusling.action) == ("dinkes-hst", "hold")
    assert "delivered_quantity" not in pusling.body
    assert len(pusling.body["attendance"]) == 48
    [books] = calls_of(calls, "ses-pinjam-buku-2023-01")
    assert books.recorder is None  # the facility's own item: staff
    assert books.body["delivered_quantity"] == 45


def test_a_correction_and_a_cancellation_follow_the_first_report(
    scenario: Scenario, ids: LoadedIds, kind_rules: dict[str, str]
) -> None:
    people = [person(n) for n in range(200)]
    calls = plan_sessions(scenario, ids, counting_rules(scenario, kind_rules), people)
    first, correction = calls_of(calls, "ses-konseling-2023-02")
    assert (first.action, correction.action) == ("hold", "correct")
    assert calls.index(first) < calls.index(correction)
    assert len(correction.body["attendance"]) == 12
    assert "agreement_id" not in correction.body
    held, cancelled = calls_of(calls, "ses-pameran-2023-02")
    assert (held.action, cancelled.action) == ("hold", "cancel")
    assert cancelled.body == {"reason": "Bazar dibatalkan oleh penyelenggara"}


def test_attendance_is_people_in_custody_at_the_facility_on_the_day(
    scenario: Scenario, ids: LoadedIds, kind_rules: dict[str, str]
) -> None:
    late = [person(n, since=date(2023, 7, 1)) for n in range(100)]
    elsewhere = [person(100 + n, facility="lapas-banjarmasin") for n in range(100)]
    present = [person(200 + n) for n in range(95)]
    calls = plan_sessions(
        scenario, ids, counting_rules(scenario, kind_rules), [*late, *elsewhere, *present]
    )
    allowed = {p.id for p in present}
    for call in calls:
        assert set(call.body.get("attendance", [])) <= allowed
        assert len(set(call.body.get("attendance", []))) == len(call.body.get("attendance", []))


def test_a_session_with_more_participants_than_people_in_custody_is_refused(
    scenario: Scenario, ids: LoadedIds, kind_rules: dict[str, str]
) -> None:
    with pytest.raises(ScenarioMismatch, match="only 10 people"):
        plan_sessions(
            scenario, ids, counting_rules(scenario, kind_rules), [person(n) for n in range(10)]
        )


def test_the_demo_roster_has_enough_people_for_every_session(
    scenario: Scenario, ids: LoadedIds, kind_rules: dict[str, str]
) -> None:
    roster = [
        Inmate(
            id=entry.register_number,
            register_number=entry.register_number,
            nik_status=entry.intended,
            custody_periods=[CustodyPeriod(facility=FACILITY, since=entry.admission_date)],
        )
        for entry in build_roster()
    ]
    calls = plan_sessions(scenario, ids, counting_rules(scenario, kind_rules), roster)
    attended = sum(len(c.body.get("attendance", [])) for c in calls)
    assert attended == sum(a.participant_count for a in scenario.activities)


def expected_report(scenario: Scenario, ids: LoadedIds) -> RealisationReport:
    realised, months = expected_realisation(scenario), expected_months(scenario)
    items = []
    for agreement in scenario.all_agreements:
        for item in agreement.action_plan:
            key = (agreement.key, item.key)
            items.append(
                ReportItem(
                    partner_code=agreement.partner,
                    agreement_id=ids.agreements[agreement.key],
                    facility_number=agreement.facility_number,
                    item_id=ids.items[key],
                    programme_kind=item.programme_kind,
                    description=item.description,
                    unit=item.unit,
                    target=item.target_quantity,
                    realised=realised[key],
                    percent=None,
                    months=[
                        ReportMonth(month=m, realised=q) for m, q in months.get(key, {}).items()
                    ],
                )
            )
    return RealisationReport(month=None, items=items)


def test_the_programs_report_is_checked_item_by_item_and_month_by_month(
    scenario: Scenario, ids: LoadedIds
) -> None:
    report = expected_report(scenario, ids)
    assert checks.programs_report_differences(scenario, ids, report) == []
    kejar = next(i for i in report.items if i.item_id == "id-kejar-paket")
    assert kejar.realised == 12
    assert {m.month: m.realised for m in kejar.months} == {
        "2023-04": 4,
        "2023-05": 4,
        "2023-06": 4,
    }

    wrong = report.model_copy(
        update={
            "items": [
                i.model_copy(update={"realised": 252}) if i.item_id == "id-kejar-paket" else i
                for i in report.items[1:]
            ]
        }
    )
    differences = checks.programs_report_differences(scenario, ids, wrong)
    assert any("kejar-paket: expected 12, got 252" in d for d in differences)
    assert any(d.endswith(": missing") for d in differences)


def test_tables_speak_bahasa_indonesia_unless_english_is_asked_for(
    scenario: Scenario, ids: LoadedIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(summary.LANGUAGE_VARIABLE, raising=False)
    assert summary.language() == "id"
    assert summary.language("EN") == "en"
    monkeypatch.setenv(summary.LANGUAGE_VARIABLE, "en")
    assert summary.language() == "en"
    assert summary.language("id") == "id"  # the option wins over the setting
    with pytest.raises(ValueError, match="choose one of id, en"):
        summary.language("fr")

    report = expected_report(scenario, ids)
    rules = {"id-kejar-paket": "sessions"}
    for lang, words in (
        ("id", ("Laporan realisasi per bulan", "Mei 2023", "per sesi", "satuan")),
        ("en", ("Realisation report by month", "May 2023", "sessions", "unit")),
    ):
        console = Console(width=200, record=True)
        console.print(summary.programs_report_table(report, rules, lang))  # type: ignore[arg-type]
        rendered = console.export_text()
        assert all(word in rendered for word in words), rendered


def test_the_pieces_sold_each_month_are_the_sales_sessions_reported(scenario: Scenario) -> None:
    sold = {month: s.quantity for month, s in expected_sales(scenario).items()}
    reported = expected_months(scenario)[("pks-2023-perdagangan", "penjualan")]
    assert sold == reported == {"2023-04": 20, "2023-05": 35, "2023-06": 28}


def test_each_months_sales_are_checked_by_count_pieces_and_rupiah(scenario: Scenario) -> None:
    def report(month: str, sales: int, pieces: int, total: int) -> SalesReport:
        line = ProductTotal(product="Tas", unit="buah", quantity=pieces, total_idr=total)
        return SalesReport(period=month, sales=sales, total_idr=total, by_product=[line])

    right = {
        month: report(month, s.sales, s.quantity, s.total_idr)
        for month, s in expected_sales(scenario).items()
    }
    assert checks.sales_differences(scenario, right) == []
    wrong = {**right, "2023-05": report("2023-05", 1, 35, 2_300_000)}
    del wrong["2023-06"]
    differences = checks.sales_differences(scenario, wrong)
    assert [d.split(":")[0] for d in differences] == ["sales of 2023-05", "sales of 2023-06"]
    assert summary.rupiah(2_350_000, "id") == "2.350.000"
    assert summary.rupiah(2_350_000, "en") == "2,350,000"
