"""The CloudEvents proof: what the relay writes is readable with no Sinergi code at all.

Entries are read with plain redis-py, parsed with the official CloudEvents SDK and validated
against the JSON Schemas checked in under `shared/events/schemas/`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import redis as redis_py
import redis.asyncio as aioredis
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1.http import from_json
from jsonschema import Draft202012Validator
from sqlalchemy import Engine
from sqlmodel import Session

import shared.events
from shared.events import build_event
from shared.events.programs import SessionCancelled, SessionState
from shared.messaging import OutboxRelay, add_to_outbox
from shared.observability.metrics import Metrics
from tests.integration.messaging.readmodel import FACILITY, STREAM, session_event

SCHEMAS = Path(shared.events.__file__).parent / "schemas"


def _schema_for(dataschema: str) -> dict[str, Any]:
    # urn:sinergi:schema:<type>:v<version> -> schemas/<type>.v<version>.json
    event_type, version = dataschema.removeprefix("urn:sinergi:schema:").rsplit(":v", 1)
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{event_type}.v{version}.json").read_text())
    return schema


async def test_published_entries_are_cloudevents_that_match_the_checked_in_schemas(
    sqlite_engine: Engine, redis: aioredis.Redis, redis_url: str, metrics: Metrics
) -> None:
    held = session_event("session-1", 2)
    scheduled = session_event("session-2", 1, status="scheduled")
    cancelled = build_event(
        SessionCancelled(
            session=SessionState(
                session_id="session-3",
                agreement_id="agreement-1",
                partner_code="partner-1",
                programme_kind="vocational",
                status="cancelled",
                scheduled_on=date(2026, 3, 2),
            ),
            reason="flooded road",
        ),
        subject="session-3",
        facility=FACILITY,
        sequence=4,
        causation_id=held.id,
        correlation_id=held.correlationid,
    )
    events = [held, scheduled, cancelled]
    with Session(sqlite_engine) as session:
        session.begin()
        add_to_outbox(session, STREAM, events)
        session.commit()
    assert await OutboxRelay(sqlite_engine, redis, metrics).publish_pending() == 3

    plain = redis_py.Redis.from_url(redis_url)  # no Sinergi code from here on
    try:
        entries: list[Any] = plain.xrange(STREAM)  # type: ignore[assignment]
    finally:
        plain.close()

    assert len(entries) == 3
    for (_, fields), sent in zip(entries, events, strict=True):
        assert list(fields) == [b"__data__"]
        raw = fields[b"__data__"]

        event = JSONFormat().read(None, raw)  # the SDK validates the required attributes
        attributes = event.get_attributes()
        assert attributes["specversion"] == "1.0"
        assert event.get_id() == sent.id
        assert event.get_type() == sent.type
        assert event.get_source() == sent.source
        assert event.get_subject() == sent.subject
        assert event.get_time() == sent.time
        assert event.get_extension("sequence") == sent.sequence
        assert event.get_extension("facility") == FACILITY
        assert event.get_data() == sent.data

        legacy = from_json(raw)  # the SDK's v1 HTTP API reads the same bytes
        assert legacy["id"] == sent.id
        assert legacy.data == sent.data

        document = json.loads(raw)
        schema = _schema_for(str(event.get_dataschema()))
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = [error.message for error in validator.iter_errors(document)]
        assert errors == [], f"{event.get_type()}: {errors}"

    assert json.loads(entries[2][1][b"__data__"])["causationid"] == held.id
    assert "causationid" not in json.loads(entries[0][1][b"__data__"])


def test_the_checked_in_schema_rejects_an_entry_that_breaks_it() -> None:
    """The validation above can fail: a payload missing its session is caught."""
    document = json.loads(session_event("session-1", 1).to_json())
    del document["data"]["session"]["status"]
    document["sequence"] = 0
    schema = _schema_for(document["dataschema"])
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    messages = " ".join(error.message for error in validator.iter_errors(document))
    assert "'status' is a required property" in messages
    assert "less than the minimum" in messages
