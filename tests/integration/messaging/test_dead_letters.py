"""Poison entries and failing handlers end in `sinergi.deadletter`; a replay brings them back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine

from shared.messaging import DEADLETTER_STREAM, ENTRY_FIELD, Delivery, PermanentEventError
from shared.messaging.deadletters import DeadLetter, list_dead_letters, replay
from shared.messaging.runtime import MessagingRuntime
from shared.messaging.streams import MAX_ENTRY_BYTES
from shared.observability.metrics import Metrics
from tests.integration.messaging.readmodel import (
    GROUP,
    STREAM,
    HandlerLog,
    check,
    count,
    entries,
    expected_final,
    inbox,
    make_handler,
    messaging_runtime,
    pending_count,
    rows,
    runtime_running,
    session_event,
    wait_until,
    xadd_events,
    xadd_raw,
)

REASONS_KEY = f"{DEADLETTER_STREAM}.reasons.{GROUP}"


async def dead_letters(redis: aioredis.Redis) -> dict[str, DeadLetter]:
    """Dead letters by the id of the entry they came from."""
    return {letter.entry_id: letter for letter in await list_dead_letters(redis, count=1000)}


async def _dead_letter_count_is(redis: aioredis.Redis, n: int) -> bool:
    return int(await redis.xlen(DEADLETTER_STREAM)) == n


async def _settled(redis: aioredis.Redis) -> bool:
    return await pending_count(redis) == 0


async def _ready_to_read(runtime: MessagingRuntime) -> None:
    await wait_until(lambda: _ok(runtime, "subscribers"), timeout_s=5, what="the reader")


async def _ok(runtime: MessagingRuntime, name: str) -> bool:
    return (await check(runtime, name)).ok


async def test_entries_that_are_not_valid_events_go_straight_to_the_dead_letters_and_are_acked(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    good = session_event("session-1", 1)
    unknown = json.loads(session_event("session-2", 1).to_json())
    unknown["type"] = "sinergi.session.teleported"
    unknown["dataschema"] = "urn:sinergi:schema:sinergi.session.teleported:v1"
    invalid_payload = json.loads(session_event("session-3", 1).to_json())
    del invalid_payload["data"]["session"]["agreement_id"]
    poison: dict[str, dict[str, bytes]] = {
        "invalid_envelope": {ENTRY_FIELD: b"{not json"},
        "unknown_type": {ENTRY_FIELD: json.dumps(unknown).encode()},
        "invalid_payload": {ENTRY_FIELD: json.dumps(invalid_payload).encode()},
        "no_event_field": {"payload": b"{}"},
        "too_large": {ENTRY_FIELD: b"x" * (MAX_ENTRY_BYTES + 1)},
    }
    code_of: dict[str, str] = {}
    for code, fields in poison.items():
        code_of[await xadd_raw(redis, fields)] = code
    await xadd_events(redis, [good])
    runtime = messaging_runtime(redis, sqlite_engine, metrics, make_handler(sqlite_engine))

    async with runtime_running(runtime):
        await wait_until(lambda: _dead_letter_count_is(redis, 5), what="five dead letters")
        await wait_until(lambda: _settled(redis), timeout_s=2, what="the acks")
        await wait_until(lambda: count(sqlite_engine, inbox) == 1, timeout_s=2, what="the good")
        subscribers = await check(runtime, "subscribers")
        assert subscribers.ok, subscribers.detail
        assert (await check(runtime, "database")).ok
        assert (await check(runtime, "redis")).ok

    letters = await dead_letters(redis)
    assert {entry_id: letter.reason_code for entry_id, letter in letters.items()} == code_of
    for entry_id, letter in letters.items():
        assert (letter.stream, letter.group, letter.service) == (STREAM, GROUP, "readmodel-test")
        assert letter.reason, f"{code_of[entry_id]} has no reason"
        assert letter.deliveries == 1
        original = poison[code_of[entry_id]].get(ENTRY_FIELD, b"")
        # an oversized body is named by its size and hash, not copied
        assert letter.body == (b"" if code_of[entry_id] == "too_large" else original)
    huge = letters[_id_of(code_of, "too_large")]
    entries: Any = await redis.xrange(DEADLETTER_STREAM, min=huge.id, max=huge.id)
    huge_fields: dict[bytes, bytes] = entries[0][1]
    assert int(huge_fields[b"body_bytes"]) == MAX_ENTRY_BYTES + 1
    digest = hashlib.sha256(b"x" * (MAX_ENTRY_BYTES + 1)).hexdigest()
    assert huge_fields[b"body_sha256"].decode() == digest
    assert "session.agreement_id" in letters[_id_of(code_of, "invalid_payload")].reason
    assert "sinergi.session.teleported" in letters[_id_of(code_of, "unknown_type")].reason
    assert rows(sqlite_engine) == [expected_final("session-1", 1)]
    assert await redis.exists(REASONS_KEY) == 0


def _id_of(code_of: dict[str, str], code: str) -> str:
    return next(entry_id for entry_id, c in code_of.items() if c == code)


def _boom(delivery: Delivery, log: HandlerLog) -> Exception | None:
    if delivery.event.subject != "boom":
        return None
    return RuntimeError(f"boom on attempt {log.attempts('boom', alone=True)}")


async def test_an_event_whose_handler_keeps_failing_is_retried_then_dead_lettered(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    max_deliveries = 3
    log = HandlerLog()
    handler = make_handler(sqlite_engine, fail=_boom, log=log)
    batch = [session_event("session-1", 1), session_event("boom", 1), session_event("session-2", 1)]
    ids = await xadd_events(redis, batch)
    runtime = messaging_runtime(
        redis, sqlite_engine, metrics, handler, claim_idle_ms=50, max_deliveries=max_deliveries
    )
    [consumer] = runtime.consumers

    async with runtime_running(runtime):
        # One bad event does not hold back its batch: the other two are applied at once.
        await wait_until(lambda: count(sqlite_engine, inbox) == 2, what="the good events")
        await wait_until(lambda: _pending_is(redis, 1), timeout_s=2, what="boom pending")
        assert log.calls[0] == ["session-1", "boom", "session-2"]
        assert await redis.hget(REASONS_KEY, ids[1]) == b"RuntimeError: boom on attempt 1"

        deadline = time.monotonic() + 5
        while not await _dead_letter_count_is(redis, 1):
            assert time.monotonic() < deadline, "never dead-lettered"
            await asyncio.sleep(0.06)  # past claim_idle_ms
            await consumer.reclaim_once()

        subscribers = await check(runtime, "subscribers")
        assert subscribers.ok, subscribers.detail

    assert log.attempts("boom", alone=True) == max_deliveries
    [letter] = (await dead_letters(redis)).values()
    assert (letter.entry_id, letter.reason_code) == (ids[1], "max_deliveries")
    assert letter.reason == f"RuntimeError: boom on attempt {max_deliveries}"
    assert letter.deliveries == max_deliveries + 1
    assert letter.body == batch[1].to_json().encode()
    assert await pending_count(redis) == 0
    assert await redis.exists(REASONS_KEY) == 0
    assert rows(sqlite_engine) == [expected_final("session-1", 1), expected_final("session-2", 1)]


def _reject(delivery: Delivery, log: HandlerLog) -> Exception | None:
    if delivery.event.subject != "reject":
        return None
    return PermanentEventError("rejected", "no such agreement here")


async def test_a_permanent_event_error_dead_letters_at_once(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    log = HandlerLog()
    handler = make_handler(sqlite_engine, fail=_reject, log=log)
    events = [session_event("reject", 1), session_event("session-1", 1)]
    ids = await xadd_events(redis, events)
    runtime = messaging_runtime(redis, sqlite_engine, metrics, handler, max_deliveries=5)

    async with runtime_running(runtime):
        await wait_until(lambda: _dead_letter_count_is(redis, 1), what="the dead letter")
        await wait_until(lambda: _settled(redis), timeout_s=2, what="the acks")
        subscribers = await check(runtime, "subscribers")
        assert subscribers.ok, subscribers.detail

    [letter] = (await dead_letters(redis)).values()
    assert (letter.entry_id, letter.reason_code, letter.deliveries) == (ids[0], "rejected", 1)
    assert letter.reason == "no such agreement here"
    assert letter.body == events[0].to_json().encode()
    assert log.attempts("reject", alone=True) == 1
    assert rows(sqlite_engine) == [expected_final("session-1", 1)]


async def test_a_replayed_dead_letter_is_applied_once_after_the_handler_is_fixed(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    broken = True

    def reject_while_broken(delivery: Delivery, log: HandlerLog) -> Exception | None:
        return PermanentEventError("rejected", "handler not deployed yet") if broken else None

    log = HandlerLog()
    handler = make_handler(sqlite_engine, fail=reject_while_broken, log=log)
    event = session_event("session-1", 1)
    [entry_id] = await xadd_events(redis, [event])
    runtime = messaging_runtime(redis, sqlite_engine, metrics, handler)

    async with runtime_running(runtime):
        await wait_until(lambda: _dead_letter_count_is(redis, 1), what="the dead letter")
        [letter] = await list_dead_letters(redis)
        assert (letter.entry_id, letter.stream, letter.group) == (entry_id, STREAM, GROUP)
        assert await list_dead_letters(redis, stream="sinergi.elsewhere") == []
        assert [x.id for x in await list_dead_letters(redis, stream=STREAM)] == [letter.id]
        assert rows(sqlite_engine) == []

        broken = False
        new_id = await replay(redis, letter.id)
        assert _stream_id(new_id) > _stream_id(entry_id)
        assert await list_dead_letters(redis) == []
        await wait_until(lambda: count(sqlite_engine, inbox) == 1, what="the replayed event")
        await wait_until(lambda: _settled(redis), timeout_s=2, what="its ack")

        with pytest.raises(KeyError):
            await replay(redis, letter.id)  # gone: a second replay cannot duplicate it

    [(_, fields)] = await entries(redis, min=new_id, max=new_id)
    assert fields == {ENTRY_FIELD.encode(): event.to_json().encode()}
    assert log.applied == [event.id]
    assert rows(sqlite_engine) == [expected_final("session-1", 1)]


def _stream_id(entry_id: str) -> tuple[int, int]:
    millis, seq = entry_id.split("-")
    return int(millis), int(seq)


async def _pending_is(redis: aioredis.Redis, n: int) -> bool:
    return await pending_count(redis) == n
