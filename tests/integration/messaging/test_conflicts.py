"""A handler that loses a race to another replica's transaction is applied again, not failed.

Found by the kill -9 trials (tests/chaos): with two agreements replicas, session facts of one
agreement raced for its version, each lost race counted as a failure, and after
`max_deliveries` of them real events were dead-lettered and their realisation lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from shared.messaging import DEADLETTER_STREAM, Delivery
from shared.messaging.consumer import CONFLICT_ATTEMPTS
from shared.messaging.groups import ensure_group
from shared.observability.metrics import Metrics
from shared.persistence.unit_of_work import ConcurrencyError
from tests.integration.messaging.readmodel import (
    GROUP,
    STREAM,
    group_consumer,
    pending_count,
    session_event,
    xadd_events,
)


class LosesRaces:
    """Raises ConcurrencyError on its first ``losses`` calls, then applies."""

    def __init__(self, losses: int) -> None:
        self.losses = losses
        self.calls = 0
        self.applied: list[str] = []

    def __call__(self, deliveries: Sequence[Delivery]) -> None:
        self.calls += 1
        if self.calls <= self.losses:
            raise ConcurrencyError("agreement a-1 changed since version 7")
        self.applied += [d.event.id for d in deliveries]


async def _read(redis: aioredis.Redis) -> list[tuple[bytes, dict[bytes, bytes]]]:
    reply: list[Any] = await redis.xreadgroup(  # type: ignore[assignment]
        GROUP, "replica-1", {STREAM: ">"}, count=10
    )
    return list(reply[0][1])


async def test_an_event_whose_transaction_lost_races_is_applied_and_acked_without_a_failure(
    redis: aioredis.Redis, metrics: Metrics
) -> None:
    handler = LosesRaces(losses=6)  # more than max_deliveries
    consumer = group_consumer(redis, handler, metrics, max_deliveries=5)
    await ensure_group(redis, STREAM, GROUP)
    event = session_event("session-1", 1)
    await xadd_events(redis, [event])

    await consumer.handle(await _read(redis))

    assert handler.applied == [event.id]
    assert await pending_count(redis) == 0
    assert not await redis.exists(f"{DEADLETTER_STREAM}.failures.{GROUP}")
    assert not await redis.exists(DEADLETTER_STREAM)


async def test_an_event_that_always_conflicts_counts_one_failure_and_stays_pending(
    redis: aioredis.Redis, metrics: Metrics
) -> None:
    handler = LosesRaces(losses=10 * CONFLICT_ATTEMPTS)
    consumer = group_consumer(redis, handler, metrics, max_deliveries=5)
    await ensure_group(redis, STREAM, GROUP)
    await xadd_events(redis, [session_event("session-1", 1)])

    await consumer.handle(await _read(redis))

    assert handler.calls == CONFLICT_ATTEMPTS
    assert await pending_count(redis) == 1
    failures = await redis.hgetall(f"{DEADLETTER_STREAM}.failures.{GROUP}")
    assert [int(v) for v in failures.values()] == [1]
