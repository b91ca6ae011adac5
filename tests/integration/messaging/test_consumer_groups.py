"""Consumer groups: created at 0, batches applied then acked, duplicates and stale events ignored,
entries of a dead replica reclaimed."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from sqlalchemy import Engine, update

from shared.messaging import DEADLETTER_STREAM
from shared.messaging.connection import connect
from shared.messaging.groups import ensure_group, group_states
from shared.observability.metrics import Metrics
from tests.infra import RedisProcess
from tests.integration.messaging.readmodel import (
    GROUP,
    STREAM,
    HandlerLog,
    count,
    entries,
    expected_final,
    group_consumer,
    inbox,
    make_handler,
    pending_count,
    rows,
    running,
    session_event,
    session_view,
    wait_until,
    xadd_events,
)


async def test_a_group_is_created_at_id_0_so_entries_written_before_it_are_delivered(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    engine = sqlite_engine
    await xadd_events(redis, [session_event(f"early-{i}", 1) for i in range(5)])
    await ensure_group(redis, STREAM, GROUP)
    await ensure_group(redis, STREAM, GROUP)  # a second call (another replica) is harmless

    [state] = await group_states(redis, STREAM)
    assert (state.group, state.last_delivered_id, state.lag, state.pending) == (GROUP, "0-0", 5, 0)

    async with running(group_consumer(redis, make_handler(engine), metrics)):
        await wait_until(lambda: count(engine, inbox) == 5, what="the early entries")
    assert [row[0] for row in rows(engine)] == [f"early-{i}" for i in range(5)]


async def test_the_consumer_applies_batches_and_acks_them(
    engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    events = [session_event(f"session-{i:03}", seq) for seq in (1, 2) for i in range(120)]
    ids = await xadd_events(redis, events)
    log = HandlerLog()
    consumer = group_consumer(redis, make_handler(engine, log=log), metrics, batch_size=40)

    async with running(consumer):
        await wait_until(lambda: count(engine, inbox) == 240, what="every event applied")
        await wait_until(lambda: _pending_is(redis, 0), timeout_s=2, what="the acks")

    assert rows(engine) == [expected_final(f"session-{i:03}", 2) for i in range(120)]
    assert max(len(call) for call in log.calls) == 40
    assert len(log.applied) == 240
    [state] = await group_states(redis, STREAM)
    assert (state.last_delivered_id, state.lag, state.pending) == (ids[-1], 0, 0)


async def test_events_of_a_skipped_type_are_acked_without_the_handler_or_an_inbox_row(
    engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    scheduled = [session_event(f"session-{i}", 1, status="scheduled") for i in range(3)]
    held = [session_event(f"session-{i}", 2) for i in range(3)]
    await xadd_events(
        redis, [event for pair in zip(scheduled, held, strict=True) for event in pair]
    )
    await ensure_group(redis, STREAM, GROUP)
    log = HandlerLog()
    consumer = group_consumer(
        redis, make_handler(engine, log=log), metrics, skip=frozenset({held[0].type})
    )

    async with running(consumer):
        await wait_until(lambda: _pending_is(redis, 0), what="every entry acked")
        await wait_until(lambda: _lag_is(redis, 0), what="every entry read")

    assert sorted(subject for call in log.calls for subject in call) == [
        f"session-{i}" for i in range(3)
    ]
    with engine.connect() as connection:
        applied = set(
            connection.execute(inbox.select().with_only_columns(inbox.c.event_id)).scalars()
        )
    assert applied == {event.id for event in scheduled}
    assert [row[1] for row in rows(engine)] == ["scheduled"] * 3


async def _lag_is(redis: aioredis.Redis, lag: int) -> bool:
    [state] = await group_states(redis, STREAM)
    return state.lag == lag


async def test_a_duplicate_delivery_changes_nothing_and_both_entries_are_acked(
    engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    first = session_event("session-1", 1)
    log = HandlerLog()
    consumer = group_consumer(redis, make_handler(engine, log=log), metrics)
    # The same event twice in one batch (a relay that crashed before marking it published).
    await xadd_events(redis, [first, first])
    async with running(consumer):
        await wait_until(lambda: count(engine, inbox) == 1 and len(log.calls) >= 1)
        await wait_until(lambda: _pending_is(redis, 0), timeout_s=2, what="both acks")
        assert log.applied == [first.id]
        assert rows(engine) == [expected_final("session-1", 1)]

        # Tamper with the row so a second application of `first` would show.
        with engine.begin() as connection:
            connection.execute(update(session_view).values(status="scheduled", sequence=0))
        ids = await xadd_events(redis, [first])  # the same event again, later, new entry id
        await wait_until(lambda: len(log.calls) >= 2, what="the late duplicate")
        await wait_until(lambda: _pending_is(redis, 0), timeout_s=2, what="its ack")

    assert log.applied == [first.id]
    assert rows(engine) == [("session-1", "scheduled", 10, 0)]
    assert count(engine, inbox) == 1
    [state] = await group_states(redis, STREAM)
    assert state.last_delivered_id == ids[0]


async def test_the_read_model_ignores_an_event_older_than_its_row(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    engine = sqlite_engine
    log = HandlerLog()
    consumer = group_consumer(redis, make_handler(engine, log=log), metrics)
    # session-a: 3 then 2 in one batch; session-b: 3 applied, then 2 arrives on its own.
    await xadd_events(redis, [session_event("session-a", 3), session_event("session-a", 2)])
    await xadd_events(redis, [session_event("session-b", 3)])
    async with running(consumer):
        await wait_until(lambda: count(engine, inbox) == 3, what="the first events")
        await xadd_events(redis, [session_event("session-b", 2)])
        await wait_until(lambda: count(engine, inbox) == 4, what="the stale event")
        await wait_until(lambda: _pending_is(redis, 0), timeout_s=2, what="the acks")

    assert rows(engine) == [expected_final("session-a", 3), expected_final("session-b", 3)]
    assert len(log.applied) == 4  # the stale ones were processed (inboxed) but moved nothing


async def test_a_live_replica_reclaims_the_entries_a_dead_one_read_and_never_acked(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    engine = sqlite_engine
    events = [session_event(f"session-{i:02}", 1) for i in range(25)]
    await xadd_events(redis, events)
    await ensure_group(redis, STREAM, GROUP)
    await redis.xreadgroup(GROUP, "dead-replica", {STREAM: ">"}, count=25)
    assert await pending_count(redis) == 25
    survivor = group_consumer(
        redis, make_handler(engine), metrics, name="replica-b", claim_idle_ms=100, batch_size=10
    )

    assert await survivor.reclaim_once() == 0  # not idle long enough yet: still the owner's
    await asyncio.sleep(0.15)
    assert await survivor.reclaim_once() == 25

    assert rows(engine) == [expected_final(f"session-{i:02}", 1) for i in range(25)]
    assert await pending_count(redis) == 0
    consumers = {c["name"]: c["pending"] for c in await redis.xinfo_consumers(STREAM, GROUP)}
    assert consumers == {b"dead-replica": 0, b"replica-b": 0}


async def _pending_is(redis: aioredis.Redis, n: int) -> bool:
    return await pending_count(redis) == n


async def test_a_reclaimed_entry_keeps_its_delivery_count_with_the_reclaimers_own_batch_in_between(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    engine = sqlite_engine
    log = HandlerLog()
    fail = lambda d, _: RuntimeError("boom") if d.event.subject == "boom" else None  # noqa: E731
    events = [session_event(f"session-{i}", 1) for i in range(9)] + [session_event("boom", 1)]
    ids = await xadd_events(redis, events)
    await ensure_group(redis, STREAM, GROUP)
    await redis.xreadgroup(GROUP, "dead-replica", {STREAM: ">"}, count=1)  # ids[0]
    await redis.xreadgroup(GROUP, "replica-1", {STREAM: ">"}, count=8)  # ids[1..8], in flight
    await redis.xreadgroup(GROUP, "dead-replica", {STREAM: ">"}, count=1)  # ids[9]
    await redis.xreadgroup(GROUP, "dead-replica", {STREAM: ids[8]})  # ids[9] delivered twice
    survivor = group_consumer(
        redis,
        make_handler(engine, fail=fail, log=log),
        metrics,
        name="replica-1",
        claim_idle_ms=300,
        max_deliveries=2,
    )
    await asyncio.sleep(0.35)
    # The survivor's own batch is busy (not idle), between the dead replica's two entries.
    busy: list[bytes | str | int | memoryview] = [*ids[1:9]]
    await redis.xclaim(STREAM, GROUP, "replica-1", min_idle_time=0, message_ids=busy)
    # The dead replica had failed ids[9] on both of its deliveries before it died.
    await redis.hset(f"{DEADLETTER_STREAM}.failures.{GROUP}", ids[9], 2)

    assert await survivor.reclaim_once() == 2

    # ids[9] has failed max_deliveries=2 times: dead-lettered unhandled, with its true
    # delivery count (3) although the survivor's own batch lies between the two entries.
    [(_, fields)] = await entries(redis, DEADLETTER_STREAM)
    assert (fields[b"entry_id"].decode(), fields[b"reason_code"]) == (ids[9], b"max_deliveries")
    assert fields[b"deliveries"] == b"3"
    assert log.attempts("boom") == 0
    assert rows(engine) == [expected_final("session-0", 1)]
    consumers = {c["name"]: c["pending"] for c in await redis.xinfo_consumers(STREAM, GROUP)}
    assert consumers == {b"dead-replica": 0, b"replica-1": 8}


async def test_the_reader_comes_back_after_each_of_several_redis_restarts(
    sqlite_engine: Engine, own_redis: RedisProcess, metrics: Metrics
) -> None:
    engine = sqlite_engine
    redis = connect(own_redis.url)
    consumer = group_consumer(redis, make_handler(engine), metrics)
    try:
        async with running(consumer):
            for outage in range(4):
                await wait_until(lambda: consumer.reading, timeout_s=5, what="reading")
                own_redis.stop()  # no persistence: the stream and group are gone too
                await wait_until(lambda: not consumer.reading, timeout_s=5, what="the outage")
                await asyncio.sleep(0.3)
                own_redis.start()
                await xadd_events(redis, [session_event(f"after-outage-{outage}", 1)])
                waited = await wait_until(
                    lambda n=outage: count(engine, inbox) == n + 1,  # type: ignore[misc]
                    timeout_s=10,
                    what=f"the event after outage {outage}",
                )
                assert waited < 1.5, f"outage {outage}: reading again only after {waited:.1f}s"
    finally:
        await redis.aclose()
    assert [row[0] for row in rows(engine)] == [f"after-outage-{n}" for n in range(4)]
