"""What the demo expects the service to report, compared with what it reports."""

from __future__ import annotations

from collections import Counter
from datetime import date

from services.cli.agreements_client import AgreementView, RealisationRow
from services.cli.identity_demo import IdentityFigures
from services.cli.loading import LoadedIds
from services.cli.programs_client import RealisationReport, SalesReport
from services.cli.programs_demo import MonthSales, expected_months, expected_sales
from services.cli.scenario import (
    ItemKey,
    Scenario,
    expected_milestone,
    expected_realisation,
    expected_status_counts,
)


def realisation_differences(
    scenario: Scenario, ids: LoadedIds, rows: list[RealisationRow]
) -> list[str]:
    reported = {row.item_id: row.realised_quantity for row in rows}
    differences = []
    for key, expected in sorted(expected_realisation(scenario).items()):
        actual = reported.get(ids.items[key])
        if actual != expected:
            differences.append(
                f"realisation of {key[0]}/{key[1]}: expected {expected}, got {actual}"
            )
    return differences


def dashboard_differences(scenario: Scenario, ids: LoadedIds, shown: dict[str, int]) -> list[str]:
    """The dashboard's action plans (built from the streams) show the expected realisation."""
    differences = []
    for key, expected in sorted(expected_realisation(scenario).items()):
        actual = shown.get(ids.items[key])
        if actual != expected:
            differences.append(
                f"dashboard realisation of {key[0]}/{key[1]}: expected {expected}, got {actual}"
            )
    return differences


def dashboard_nik_differences(figures: IdentityFigures, shown: dict[str, int]) -> list[str]:
    """The dashboard's NIK counts (built from the identity events) match the identity report."""
    reported = {k: v for k, v in figures.nik_status.items() if v}
    on_page = {k: v for k, v in shown.items() if v}
    if reported != on_page:
        return [f"dashboard NIK statuses: expected {reported}, got {on_page}"]
    return []


def counting_differences(scenario: Scenario, rules: dict[ItemKey, str]) -> list[str]:
    """Every held report's quantity is what its item's counting rule makes of the session."""
    differences = []
    for activity in scenario.activities:
        if activity.status != "held":
            continue
        rule = rules[(activity.agreement, activity.item)]
        expected = {"sessions": 1, "participants": activity.participant_count}.get(rule)
        if expected is not None and activity.delivered_quantity != expected:
            differences.append(
                f"session {activity.session_id} ({activity.item} counts {rule}): the scenario "
                f"says {activity.delivered_quantity}, the rule makes it {expected}"
            )
    return differences


def programs_report_differences(
    scenario: Scenario, ids: LoadedIds, report: RealisationReport
) -> list[str]:
    """The programs realisation report: every item once, its target, total and months."""
    realised = expected_realisation(scenario)
    months = expected_months(scenario)
    by_id = {}
    differences = []
    for row in report.items:
        if row.item_id in by_id:
            differences.append(f"programs report lists item {row.item_id} twice")
        by_id[row.item_id] = row
    for agreement in scenario.all_agreements:
        for item in agreement.action_plan:
            key = (agreement.key, item.key)
            name = f"programs report, {key[0]}/{key[1]}"
            found = by_id.pop(ids.items[key], None)
            if found is None:
                differences.append(f"{name}: missing")
                continue
            if found.target != item.target_quantity:
                differences.append(
                    f"{name}: target {item.target_quantity} expected, got {found.target}"
                )
            if found.realised != realised[key]:
                differences.append(f"{name}: expected {realised[key]}, got {found.realised}")
            got_months = {m.month: m.realised for m in found.months}
            if got_months != months.get(key, {}):
                differences.append(
                    f"{name}: by month expected {months.get(key, {})}, got {got_months}"
                )
    differences += [f"programs report lists unknown item {item_id}" for item_id in by_id]
    return differences


def sales_differences(scenario: Scenario, reports: dict[str, SalesReport]) -> list[str]:
    """The programs sales report of every month with sales: count, pieces, rupiah."""
    differences = []
    for month, expected in sorted(expected_sales(scenario).items()):
        report = reports.get(month)
        actual = (
            MonthSales(report.sales, sum(p.quantity for p in report.by_product), report.total_idr)
            if report
            else None
        )
        if actual != expected:
            differences.append(f"sales of {month}: expected {expected}, got {actual}")
    return differences


def milestone_differences(
    scenario: Scenario, ids: LoadedIds, rows: list[RealisationRow], today: date
) -> list[str]:
    realised = expected_realisation(scenario)
    by_item = {row.item_id: row.milestone for row in rows}
    differences = []
    for agreement in scenario.all_agreements:
        for item in agreement.action_plan:
            key = (agreement.key, item.key)
            expected = expected_milestone(item, realised[key], today)
            actual = by_item.get(ids.items[key])
            if actual != expected:
                differences.append(
                    f"milestone of {key[0]}/{key[1]}: expected {expected}, got {actual}"
                )
    return differences


def renewal_differences(
    scenario: Scenario, ids: LoadedIds, agreements: list[AgreementView]
) -> list[str]:
    by_id = {a.id: a for a in agreements}
    differences = []
    for agreement in scenario.all_agreements:
        if agreement.renews is None:
            continue
        renewal = by_id.get(ids.agreements[agreement.key])
        prior = by_id.get(ids.agreements[agreement.renews])
        if renewal is None or prior is None:
            differences.append(f"renewal {agreement.key} or its prior is missing")
            continue
        if renewal.renews != prior.id or prior.renewed_by != renewal.id:
            differences.append(
                f"{agreement.key} should renew {agreement.renews}: renews={renewal.renews}, "
                f"prior renewed_by={prior.renewed_by}"
            )
    return differences


def status_differences(
    scenario: Scenario, agreements: list[AgreementView], today: date
) -> list[str]:
    expected = expected_status_counts(scenario, today)
    actual = dict(Counter(a.status for a in agreements))
    if actual == expected:
        return []
    return [f"agreements by status on {today}: expected {expected}, got {actual}"]


def dead_letter_differences(dead_letters: int) -> list[str]:
    if not dead_letters:
        return []
    return [f"{dead_letters} session reports were dead-lettered (see `sinergi deadletters list`)"]


MATCHED_BY_REGISTRY = ("matched", "partial", "not_found")
NEEDS_RECORDING = ("not_found", "missing")


def identity_differences(figures: IdentityFigures) -> list[str]:
    """Every NIK outcome as the roster generator intended, and the reports agreeing with it."""
    intended = figures.intended
    differences = []
    refused = figures.imported.counts.get("refused", 0)
    if refused:
        differences.append(f"{refused} roster rows were refused by the import")
    statuses = {k: v for k, v in figures.nik_status.items() if v}
    wanted = {k: v for k, v in intended.items() if v}
    if statuses != wanted:
        differences.append(f"NIK statuses: expected {wanted}, got {statuses}")
    sent = {k: intended[k] for k in MATCHED_BY_REGISTRY}
    outcomes = {k: figures.job.outcomes.get(k, 0) for k in MATCHED_BY_REGISTRY}
    if figures.job.status != "completed" or outcomes != sent:
        differences.append(
            f"matching job: expected completed with {sent}, got {figures.job.status} "
            f"with {figures.job.outcomes}"
        )
    needs = sum(intended[k] for k in NEEDS_RECORDING)
    if figures.needs_recording != needs:
        differences.append(f"needs recording: expected {needs}, got {figures.needs_recording}")
    calls = sum(row.items for row in figures.usage if row.action == "matching_call")
    if calls != sum(sent.values()):
        differences.append(
            f"registry usage: expected {sum(sent.values())} items checked, got {calls}"
        )
    return differences
