"""The reclaimer never takes entries its own reader is still handling.

Found by the poison suite (tests/e2e/test_poison_entries.py): a batch that took longer than
``claim_idle_ms`` to handle was claimed again by the same consumer's reclaimer while the
reader still had it, so its poison entries were dead-lettered twice and its events applied
twice over (the inbox kept the effects single, not the work).
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from sqlalchemy import Engine

from shared.messaging import DEADLETTER_STREAM, ENTRY_FIELD
from shared.observability.metrics import Metrics
from tests.integration.messaging.readmodel import (
    HandlerLog,
    make_handler,
    messaging_runtime,
    pending_count,
    runtime_running,
    session_event,
    wait_until,
    xadd_events,
    xadd_raw,
)


async def test_a_batch_slower_than_the_claim_idle_time_is_handled_and_dead_lettered_once(
    sqlite_engine: Engine, redis: aioredis.Redis, metrics: Metrics
) -> None:
    log = HandlerLog()
    handler = make_handler(sqlite_engine, delay_s=1.5, log=log)  # slower than claim_idle_ms
    await xadd_raw(redis, {ENTRY_FIELD: b"{not json"})
    await xadd_events(redis, [session_event("slow", 1)])
    runtime = messaging_runtime(
        redis, sqlite_engine, metrics, handler, claim_idle_ms=200, claim_interval_s=0.05
    )

    async with runtime_running(runtime):
        await wait_until(lambda: _settled(redis), timeout_s=10, what="both entries acked")
        await asyncio.sleep(0.5)  # a second, overlapping handling would finish by now

    assert await redis.xlen(DEADLETTER_STREAM) == 1
    assert log.attempts("slow") == 1


async def _settled(redis: aioredis.Redis) -> bool:
    try:
        idle = await pending_count(redis) == 0
    except ResponseError:  # the group is not created yet
        return False
    return idle and int(await redis.xlen(DEADLETTER_STREAM)) >= 1
