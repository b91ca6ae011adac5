"""The session reports the demo publishes are valid programs events, as the consumer reads them."""

from __future__ import annotations

from services.cli.loading import LoadedIds
from services.cli.programs_feed import session_event
from services.cli.scenario import Scenario, load_scenario
from shared.events import parse_event
from shared.events.programs import SessionCancelled, SessionHeld


def _ids(scenario: Scenario) -> LoadedIds:
    ids = LoadedIds()
    for agreement in scenario.all_agreements:
        ids.agreements[agreement.key] = f"id-{agreement.key}"
        for item in agreement.action_plan:
            ids.items[(agreement.key, item.key)] = f"id-{agreement.key}-{item.key}"
    return ids


def test_every_report_is_a_valid_event() -> None:
    scenario = load_scenario()
    ids = _ids(scenario)
    for activity in scenario.activities:
        event, payload = parse_event(session_event(scenario, ids, activity).to_json())
        assert isinstance(payload, SessionHeld | SessionCancelled)
        assert event.source == "sinergi/programs"
        assert event.subject == activity.session_id
        assert event.facility == "rutan-barabai"
        assert event.sequence == activity.sequence
        session = payload.session
        assert session.agreement_id == ids.agreements[activity.agreement]
        assert session.action_plan_item_id == ids.items[(activity.agreement, activity.item)]
        assert session.status == activity.status


def test_a_cancelled_report_carries_no_quantity_and_a_reason() -> None:
    scenario = load_scenario()
    cancelled = next(a for a in scenario.activities if a.status == "cancelled")
    _, payload = parse_event(session_event(scenario, _ids(scenario), cancelled).to_json())
    assert isinstance(payload, SessionCancelled)
    assert payload.session.delivered_quantity == 0
    assert payload.session.held_on is None
    assert payload.reason == cancelled.reason
