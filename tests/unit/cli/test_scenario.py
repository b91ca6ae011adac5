"""The Barabai scenario file: it loads, it is consistent, and it states what the demo expects."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest

from services.agreements.domain import DEFAULT_SECTORS, PartnerKind, Period
from services.cli.scenario import Activity, Agreement, Scenario, load_scenario

SIGNING_DAY = date(2023, 3, 13)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario()


def test_the_case_of_the_report(scenario: Scenario) -> None:
    assert scenario.facility.code == "rutan-barabai"
    assert scenario.facility.timezone == "Asia/Makassar"
    assert "From the news report" in scenario.illustrative
    assert "Invented" in scenario.illustrative
    assert {p.kind for p in scenario.partners} == {
        "health",
        "library",
        "education",
        "environment",
        "trade",
        "civil_police_fire",
        "manpower",
        "civil_registry",
    }
    assert all(p.name.endswith("Kabupaten Hulu Sungai Tengah") for p in scenario.partners)
    assert len(scenario.agreements) == 8
    assert {a.signed_on for a in scenario.agreements} == {SIGNING_DAY}
    assert {a.partner for a in scenario.agreements} == {p.code for p in scenario.partners}


def test_the_three_priors_ran_the_previous_three_years(scenario: Scenario) -> None:
    assert len(scenario.prior_agreements) == 3
    for prior in scenario.prior_agreements:
        assert (prior.start_date, prior.end_date) == (date(2020, 3, 13), date(2023, 3, 12))
        assert prior.signed_on == date(2020, 3, 13)
    kinds = {scenario.partner(p.partner).kind for p in scenario.prior_agreements}
    assert kinds == {"health", "library", "education"}


def test_renewals_continue_their_priors(scenario: Scenario) -> None:
    renewals = [a for a in scenario.agreements if a.renews is not None]
    assert sorted(a.renews or "" for a in renewals) == sorted(
        p.key for p in scenario.prior_agreements
    )
    for renewal in renewals:
        prior = scenario.agreement(renewal.renews or "")
        assert prior.partner == renewal.partner
        assert renewal.start_date > prior.end_date
    assert all(p.renews is None for p in scenario.prior_agreements)


@pytest.mark.parametrize("which", ["prior_agreements", "agreements"])
def test_agreements_keep_the_service_rules(scenario: Scenario, which: str) -> None:
    agreements: tuple[Agreement, ...] = getattr(scenario, which)
    for agreement in agreements:
        Period(agreement.start_date, agreement.end_date).check_agreement_length()
        assert agreement.start_date >= agreement.signed_on
        kind = PartnerKind(scenario.partner(agreement.partner).kind)
        assert set(agreement.programme_kinds) <= set(DEFAULT_SECTORS[kind])
        assert sorted(s.party for s in agreement.signatories) == ["facility", "partner"]
        for item in agreement.action_plan:
            assert item.programme_kind in agreement.programme_kinds
            assert agreement.start_date <= item.period_start <= item.period_end
            assert item.period_end <= agreement.end_date


def test_periods_vary_between_one_and_three_years(scenario: Scenario) -> None:
    years = Counter(Period(a.start_date, a.end_date).years for a in scenario.agreements)
    assert set(years) == {1, 2, 3}


def test_every_new_agreement_has_an_action_plan(scenario: Scenario) -> None:
    for agreement in scenario.agreements:
        assert 1 <= len(agreement.action_plan) <= 3
        keys = [item.key for item in agreement.action_plan]
        assert len(set(keys)) == len(keys)


def test_activities_name_existing_items_within_their_periods(scenario: Scenario) -> None:
    for activity in scenario.activities:
        item = scenario.agreement(activity.agreement).item(activity.item)
        assert item.period_start <= activity.held_on <= item.period_end
        assert date(2023, 4, 1) <= activity.held_on <= date(2023, 6, 30)


def test_sessions_are_reported_consistently(scenario: Scenario) -> None:
    by_session: dict[str, list[Activity]] = defaultdict(list)
    for activity in scenario.activities:
        by_session[activity.session_id].append(activity)
    for reports in by_session.values():
        sequences = [r.sequence for r in reports]
        assert len(set(sequences)) == len(sequences)
        assert len({(r.agreement, r.item, r.held_on) for r in reports}) == 1
    per_item = Counter((r[0].agreement, r[0].item) for r in by_session.values())
    items = [(a.key, i.key) for a in scenario.agreements for i in a.action_plan]
    assert all(2 <= per_item[key] <= 12 for key in items)


def test_one_correction_and_one_cancellation(scenario: Scenario) -> None:
    later = [a for a in scenario.activities if a.sequence > 1]
    assert sorted(a.status for a in later) == ["cancelled", "held"]
    assert all(a.reason for a in scenario.activities if a.status == "cancelled")


def test_loader_refuses_unknown_references(scenario: Scenario) -> None:
    data = scenario.model_dump(mode="json")
    data["activities"][0]["item"] = "no-such-item"
    with pytest.raises(ValueError, match="no action plan item"):
        Scenario.model_validate(data)
