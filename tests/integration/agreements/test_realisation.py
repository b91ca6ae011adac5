"""Realisation of action-plan items from the programs stream: held, corrected, cancelled."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

import redis
from fastapi.testclient import TestClient

from shared.events import CloudEvent, EventPayload, build_event
from shared.events.programs import SessionCancelled, SessionHeld, SessionState
from shared.messaging import ENTRY_FIELD
from tests.integration.agreements.support import (
    DEADLETTER_STREAM,
    FACILITY,
    PROGRAMS_STREAM,
    STAFF,
    Api,
    consumed_everything,
    events_of,
    wait_until,
)


def session_event(
    payload_type: type[SessionHeld] | type[SessionCancelled],
    *,
    session_id: str,
    agreement_id: str,
    item_id: str | None,
    sequence: int,
    quantity: int = 0,
    held_on: date = date(2024, 3, 5),
    correlation_id: str | None = None,
) -> CloudEvent:
    held = payload_type is SessionHeld
    state = SessionState(
        session_id=session_id,
        agreement_id=agreement_id,
        action_plan_item_id=item_id,
        partner_code="dinkes",
        programme_kind="mobile_clinic",
        status="held" if held else "cancelled",
        scheduled_on=held_on,
        held_on=held_on if held else None,
        delivered_quantity=quantity,
        unit="visits",
        participant_count=25,
    )
    payload: EventPayload = (
        SessionHeld(session=state)
        if held
        else SessionCancelled(session=state, reason="the clinic van broke down")
    )
    return build_event(
        payload,
        subject=session_id,
        facility=FACILITY,
        sequence=sequence,
        correlation_id=correlation_id,
    )


def publish(streams: redis.Redis, event: CloudEvent) -> None:
    streams.xadd(PROGRAMS_STREAM, {ENTRY_FIELD: event.to_json()})


def realised(client: TestClient, item_id: str) -> int:
    response = client.get("/reports/realisation", headers=STAFF)
    assert response.status_code == 200
    [row] = [r for r in response.json()["rows"] if r["item_id"] == item_id]
    return int(row["realised_quantity"])


def wait_realised(client: TestClient, item_id: str, quantity: int) -> None:
    wait_until(
        lambda: realised(client, item_id) == quantity,
        what=f"item {item_id} to show {quantity} realised",
    )


def dead_letters(streams: redis.Redis) -> list[dict[str, Any]]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], streams.xrange(DEADLETTER_STREAM))
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


def a_world(api: Api) -> tuple[str, str]:
    partner_id = api.register_partner("dinkes")
    agreement_id = api.active_agreement(partner_id, ["mobile_clinic"])
    item_id = api.add_item(agreement_id, "mobile_clinic", "2024-01-01", "2024-12-31", 10)
    return agreement_id, item_id


def test_held_sessions_count_corrections_replace_and_cancellations_count_zero(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    agreement_id, item_id = a_world(api)

    def held(session_id: str, sequence: int, quantity: int) -> CloudEvent:
        return session_event(
            SessionHeld,
            session_id=session_id,
            agreement_id=agreement_id,
            item_id=item_id,
            sequence=sequence,
            quantity=quantity,
        )

    publish(streams, held("s-1", 1, 3))
    publish(streams, held("s-2", 1, 2))
    wait_realised(client, item_id, 5)

    publish(streams, held("s-1", 2, 6))  # a correction
    wait_realised(client, item_id, 8)

    publish(streams, held("s-1", 1, 1))  # an older report arriving late changes nothing
    cancelled = session_event(
        SessionCancelled, session_id="s-2", agreement_id=agreement_id, item_id=item_id, sequence=3
    )
    publish(streams, cancelled)
    wait_realised(client, item_id, 6)
    wait_until(lambda: consumed_everything(streams), what="every session event acknowledged")
    assert realised(client, item_id) == 6

    detail = api.agreement(agreement_id)
    [item] = detail["action_plan"]
    assert (item["realised_quantity"], item["progress_percent"]) == (6, 60.0)


def test_the_same_event_delivered_twice_counts_once(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    agreement_id, item_id = a_world(api)
    event = session_event(
        SessionHeld,
        session_id="s-dup",
        agreement_id=agreement_id,
        item_id=item_id,
        sequence=1,
        quantity=4,
    )

    publish(streams, event)
    publish(streams, event)
    wait_until(lambda: consumed_everything(streams), what="both copies acknowledged")

    assert realised(client, item_id) == 4
    updates = wait_until(
        lambda: events_of(streams, type_="sinergi.action_plan.realisation_updated"),
        what="the realisation_updated event",
    )
    assert len(updates) == 1
    assert dead_letters(streams) == []


def test_a_realisation_update_names_the_session_event_that_caused_it(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    agreement_id, item_id = a_world(api)
    event = session_event(
        SessionHeld,
        session_id="s-42",
        agreement_id=agreement_id,
        item_id=item_id,
        sequence=7,
        quantity=2,
        correlation_id="programs-import-7",
    )

    publish(streams, event)

    [update] = wait_until(
        lambda: events_of(streams, type_="sinergi.action_plan.realisation_updated"),
        what="the realisation_updated event",
    )
    assert update["subject"] == agreement_id
    assert update["causationid"] == event.id
    assert update["correlationid"] == "programs-import-7"
    assert update["data"]["session_id"] == "s-42"
    assert update["data"]["item"]["item_id"] == item_id
    assert update["data"]["item"]["realised_quantity"] == 2
    assert update["sequence"] == api.agreement(agreement_id)["version"]


def test_sessions_that_cannot_count_are_dead_lettered_and_the_service_stays_ready(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    agreement_id, item_id = a_world(api)
    unknown = session_event(
        SessionHeld,
        session_id="s-unknown",
        agreement_id="no-such-agreement",
        item_id=item_id,
        sequence=1,
        quantity=5,
    )
    outside = session_event(
        SessionHeld,
        session_id="s-outside",
        agreement_id=agreement_id,
        item_id=item_id,
        sequence=1,
        quantity=5,
        held_on=date(2025, 2, 1),
    )
    good = session_event(
        SessionHeld,
        session_id="s-good",
        agreement_id=agreement_id,
        item_id=item_id,
        sequence=1,
        quantity=1,
    )

    for event in (unknown, outside, good):
        publish(streams, event)
    streams.xadd(PROGRAMS_STREAM, {ENTRY_FIELD: b'{"not": "an event"}'})

    letters = wait_until(
        lambda: len(dead_letters(streams)) == 3 and dead_letters(streams),
        what="three dead letters",
    )
    by_entry = {letter["entry_id"]: letter for letter in letters}
    assert len(by_entry) == 3
    reasons = sorted(
        (letter["reason_code"], letter["reason"]) for letter in letters if letter["reason"]
    )
    assert len(reasons) == 3
    assert any("no-such-agreement" in reason for _, reason in reasons)
    assert any("outside item" in reason and "s-outside" in reason for _, reason in reasons)
    assert {code for code, _ in reasons} == {"rejected", "invalid_envelope"}
    assert all(letter["stream"] == PROGRAMS_STREAM for letter in letters)
    assert all(letter["group"] == "agreements" for letter in letters)
    wait_until(lambda: consumed_everything(streams), what="every entry acknowledged")
    assert realised(client, item_id) == 1
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.text
