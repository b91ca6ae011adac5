"""The outbox relay: committed events reach the stream once and in order, even across outages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import Engine, select
from sqlmodel import Session

from shared.events import CloudEvent
from shared.messaging import ENTRY_FIELD, OutboxRelay, add_to_outbox
from shared.messaging.connection import connect
from shared.observability.metrics import Metrics
from tests.infra import RedisProcess
from tests.integration.messaging.readmodel import (
    STREAM,
    entries,
    outbox,
    session_event,
    wait_until,
)


def commit_to_outbox(engine: Engine, events: Sequence[CloudEvent], *, commit: bool = True) -> None:
    with Session(engine) as session:
        session.begin()
        add_to_outbox(session, STREAM, events)
        if commit:
            session.commit()
        else:
            session.rollback()


def outbox_rows(engine: Engine) -> list[tuple[int, str, datetime | None]]:
    with engine.connect() as connection:
        result = connection.execute(
            select(outbox.c.id, outbox.c.event_id, outbox.c.published_at).order_by(outbox.c.id)
        )
        return [(int(r[0]), str(r[1]), r[2]) for r in result]


def unpublished(engine: Engine) -> int:
    return sum(1 for _, _, published_at in outbox_rows(engine) if published_at is None)


async def stream_event_ids(redis: aioredis.Redis) -> list[str]:
    return [json.loads(fields[ENTRY_FIELD.encode()])["id"] for _, fields in await entries(redis)]


async def test_committed_outbox_events_are_published_in_id_order_as_one_cloudevent_field(
    engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    events = [session_event(f"session-{i}", 1) for i in range(7)]
    commit_to_outbox(engine, events[:4])
    commit_to_outbox(engine, events[4:])
    relay = OutboxRelay(engine, redis, metrics, batch_size=5)

    assert await relay.publish_pending() == 5
    assert await relay.publish_pending() == 2
    assert await relay.publish_pending() == 0

    published = await entries(redis)
    assert [set(fields) for _, fields in published] == [{ENTRY_FIELD.encode()}] * 7
    assert [fields[ENTRY_FIELD.encode()].decode() for _, fields in published] == [
        event.to_json() for event in events
    ]
    stored = outbox_rows(engine)
    assert [event_id for _, event_id, _ in stored] == [event.id for event in events]
    assert all(published_at is not None for _, _, published_at in stored)


async def test_a_rolled_back_transaction_publishes_nothing(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    engine = sqlite_engine
    commit_to_outbox(engine, [session_event("rolled-back", 1)], commit=False)
    relay = OutboxRelay(engine, redis, metrics)

    assert await relay.publish_pending() == 0
    assert outbox_rows(engine) == []
    assert await redis.exists(STREAM) == 0


async def test_notify_wakes_the_relay_long_before_its_poll_interval(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    engine = sqlite_engine
    relay = OutboxRelay(engine, redis, metrics, poll_interval_s=30.0)
    stop = asyncio.Event()
    commit_to_outbox(engine, [session_event("first", 1)])
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_until(lambda: _xlen_is(redis, 1), timeout_s=5, what="the first event")
        await asyncio.sleep(0.1)  # the relay is now idle, waiting out its 30 s poll

        late = session_event("second", 1)
        commit_to_outbox(engine, [late])
        relay.notify()
        waited = await wait_until(lambda: _xlen_is(redis, 2), timeout_s=2, what="the notify")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert waited < 1.0
    assert (await stream_event_ids(redis))[-1] == late.id


class _CommitWhilePublishing(OutboxRelay):
    """A relay whose first round overlaps a use case that commits and notifies.

    The commit lands after the relay fetched its rows, as a request handler's would (from a
    worker thread on PostgreSQL, from the loop on SQLite: shared.persistence.calls).
    """

    def __init__(self, engine: Engine, late: CloudEvent, *args: object, **kwargs: object) -> None:
        super().__init__(engine, *args, **kwargs)  # type: ignore[arg-type]
        self._late: CloudEvent | None = late
        self._db = engine

    def _mark_and_fetch(self, ids: Sequence[int]) -> list[Any]:
        next_rows = super()._mark_and_fetch(ids)
        late, self._late = self._late, None
        if late is not None:
            commit_to_outbox(self._db, [late])
            self.notify()
        return next_rows


async def test_a_notify_that_arrives_while_the_relay_is_publishing_is_not_lost(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    engine = sqlite_engine
    late = session_event("committed-mid-round", 1)
    relay = _CommitWhilePublishing(engine, late, redis, metrics, poll_interval_s=30.0)
    stop = asyncio.Event()
    commit_to_outbox(engine, [session_event("first", 1)])
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_until(lambda: _xlen_is(redis, 2), timeout_s=2, what="the late event")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert (await stream_event_ids(redis))[-1] == late.id


async def test_the_outbox_survives_a_redis_outage_and_publishes_every_event_once_in_order(
    engine: Engine, own_redis: RedisProcess, metrics: Metrics
) -> None:
    redis = connect(own_redis.url)
    relay = OutboxRelay(
        engine, redis, metrics, batch_size=7, poll_interval_s=0.05, max_backoff_s=0.2
    )
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        own_redis.stop()
        events = [session_event(f"outage-{i}", 1) for i in range(30)]
        commit_to_outbox(engine, events[:20])
        task = asyncio.create_task(relay.run(stop))
        await wait_until(lambda: not relay.healthy, timeout_s=15, what="relay failure")
        commit_to_outbox(engine, events[20:])
        relay.notify()
        await asyncio.sleep(0.3)  # a few failed rounds with rows waiting
        assert unpublished(engine) == 30

        own_redis.start()
        await wait_until(lambda: unpublished(engine) == 0, timeout_s=15, what="the backlog")
        await wait_until(lambda: relay.healthy, timeout_s=5, what="relay recovery")
        assert await stream_event_ids(redis) == [event.id for event in events]
    finally:
        stop.set()
        if task is not None:
            await asyncio.wait_for(task, timeout=10)
        await redis.aclose()


async def _xlen_is(redis: aioredis.Redis, n: int) -> bool:
    return int(await redis.xlen(STREAM)) == n
