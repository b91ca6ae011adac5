"""Plays the programs service's part: the scenario's sessions as events on `sinergi.programs`."""

from __future__ import annotations

from datetime import UTC, datetime, time

import redis

from services.cli.loading import LoadedIds
from services.cli.scenario import Activity, Scenario
from shared.events import build_event
from shared.events.envelope import CloudEvent, EventPayload
from shared.events.programs import SessionCancelled, SessionHeld, SessionState
from shared.messaging.streams import DEADLETTER_STREAM, ENTRY_FIELD, stream_of

PROGRAMS_STREAM = stream_of("programs")


def session_event(scenario: Scenario, ids: LoadedIds, activity: Activity) -> CloudEvent:
    agreement = scenario.agreement(activity.agreement)
    item = agreement.item(activity.item)
    held = activity.status == "held"
    state = SessionState(
        session_id=activity.session_id,
        agreement_id=ids.agreements[agreement.key],
        action_plan_item_id=ids.items[(agreement.key, item.key)],
        partner_code=agreement.partner,
        programme_kind=item.programme_kind,
        status=activity.status,
        scheduled_on=activity.held_on,
        held_on=activity.held_on if held else None,
        delivered_quantity=activity.counted_quantity,
        unit=item.unit,
        participant_count=activity.participant_count if held else 0,
    )
    payload: EventPayload = (
        SessionHeld(session=state)
        if held
        else SessionCancelled(session=state, reason=activity.reason or "dibatalkan")
    )
    return build_event(
        payload,
        subject=activity.session_id,
        facility=scenario.facility.code,
        sequence=activity.sequence,
        # Noon in the facility's day is close enough for when the report was made.
        time=datetime.combine(activity.held_on, time(4, 0), tzinfo=UTC),
    )


def publish_activities(redis_url: str, scenario: Scenario, ids: LoadedIds) -> int:
    """XADD every report; their order does not matter, the sequence decides which one counts."""
    client = redis.Redis.from_url(redis_url)
    try:
        with client.pipeline(transaction=False) as pipe:
            for activity in scenario.activities:
                event = session_event(scenario, ids, activity)
                pipe.xadd(PROGRAMS_STREAM, {ENTRY_FIELD: event.to_json()})
            pipe.execute()
    finally:
        client.close()
    return len(scenario.activities)


def last_dead_letter_id(redis_url: str) -> str:
    """Where the dead-letter stream ends now ("0" when empty), to count what comes after."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        last = client.xrevrange(DEADLETTER_STREAM, count=1)
        return str(last[0][0]) if last else "0"
    finally:
        client.close()


def dead_letters_after(redis_url: str, start_id: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return len(client.xrange(DEADLETTER_STREAM, min=f"({start_id}") or [])
    finally:
        client.close()
