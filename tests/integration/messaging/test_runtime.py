"""The runtime: a graceful stop strands nothing; lag is measured and gates readiness."""

from __future__ import annotations

import json

import redis.asyncio as aioredis
from sqlalchemy import Engine, select

from shared.messaging import ENTRY_FIELD
from shared.messaging.groups import ensure_group, group_states
from shared.messaging.runtime import MessagingRuntime
from shared.observability.health import CheckResult
from shared.observability.metrics import Metrics
from tests.integration.messaging.readmodel import (
    GROUP,
    STREAM,
    HandlerLog,
    check,
    count,
    entries,
    inbox,
    make_handler,
    messaging_runtime,
    pending_count,
    runtime_running,
    session_event,
    wait_until,
    xadd_events,
)


async def test_a_graceful_stop_applies_and_acks_every_entry_it_read(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    total = 2000
    await xadd_events(redis, [session_event(f"session-{i:04}", 1) for i in range(total)])
    log = HandlerLog()
    handler = make_handler(sqlite_engine, delay_s=0.02, log=log)
    runtime = messaging_runtime(redis, sqlite_engine, metrics, handler, batch_size=50)

    await runtime.start()
    try:
        await wait_until(lambda: count(sqlite_engine, inbox) >= 400, what="a fifth applied")
    finally:
        await runtime.stop(timeout_s=10)

    [state] = await group_states(redis, STREAM)
    delivered = await entries(redis, max=state.last_delivered_id)
    with sqlite_engine.connect() as connection:
        applied = set(connection.execute(select(inbox.c.event_id)).scalars())
    assert 400 <= len(applied) < total, "the stop did not land mid-way"
    assert state.pending == 0
    assert await pending_count(redis) == 0
    assert applied == {json.loads(fields[ENTRY_FIELD.encode()])["id"] for _, fields in delivered}
    assert len(log.applied) == len(applied) == len(delivered)
    assert max(len(call) for call in log.calls) == 50


async def test_group_states_report_lag_pending_and_the_oldest_pending_entry(
    redis: aioredis.Redis,
) -> None:
    ids = await xadd_events(redis, [session_event(f"session-{i}", 1) for i in range(10)])
    await ensure_group(redis, STREAM, GROUP)
    await redis.xreadgroup(GROUP, "replica-x", {STREAM: ">"}, count=3)
    await redis.xack(STREAM, GROUP, ids[0])

    [state] = await group_states(redis, STREAM)
    assert (state.stream, state.group) == (STREAM, GROUP)
    assert (state.lag, state.pending) == (7, 2)
    assert (state.last_delivered_id, state.oldest_pending_id) == (ids[2], ids[1])

    # A deletion after the last delivered entry leaves Redis unable to say the lag: the
    # entries after the last delivered one are counted instead.
    await redis.xdel(STREAM, ids[6])
    info = await redis.xinfo_groups(STREAM)
    assert info[0]["lag"] is None
    [state] = await group_states(redis, STREAM)
    assert state.lag == 6
    assert await group_states(redis, "sinergi.nothing") == []


async def test_readiness_fails_while_lag_is_over_the_threshold_and_recovers_once_consumed(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    await ensure_group(redis, STREAM, GROUP)
    await xadd_events(redis, [session_event(f"session-{i}", 1) for i in range(10)])
    runtime = messaging_runtime(
        redis, sqlite_engine, metrics, make_handler(sqlite_engine), lag_threshold=5
    )

    await runtime.measure()
    behind = await check(runtime, "consumer_lag")
    assert not behind.ok
    assert behind.detail == f"lag over 5: {GROUP} on {STREAM}: 10"

    async with runtime_running(runtime):
        await wait_until(lambda: count(sqlite_engine, inbox) == 10, what="the backlog")
        await runtime.measure()
        caught_up = await check(runtime, "consumer_lag")
        assert caught_up.ok, caught_up.detail
        assert runtime.group_states[(STREAM, GROUP)].lag == 0


async def test_the_subscribers_check_is_ok_only_while_the_readers_run(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    runtime = messaging_runtime(redis, sqlite_engine, metrics, make_handler(sqlite_engine))
    assert await check(runtime, "subscribers") == CheckResult(False, "not started")

    async with runtime_running(runtime):
        await wait_until(lambda: _ok(runtime), timeout_s=5, what="the reader")
        assert (await check(runtime, "outbox_relay")).ok

    stopped = await check(runtime, "subscribers")
    assert stopped == CheckResult(False, f"not reading: {GROUP}<-{STREAM}")


async def _ok(runtime: MessagingRuntime) -> bool:
    return (await check(runtime, "subscribers")).ok
