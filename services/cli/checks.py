"""What the demo expects the service to report, compared with what it reports."""

from __future__ import annotations

from collections import Counter
from datetime import date

from services.cli.agreements_client import AgreementView, RealisationRow
from services.cli.identity_demo import IdentityFigures
from services.cli.loading import LoadedIds
from services.cli.scenario import (
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
