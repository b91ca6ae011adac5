"""A service's Redis client after Redis restarts: no command fails on a connection it kept."""

from __future__ import annotations

import asyncio

from shared.messaging.connection import connect
from tests.infra import RedisProcess


async def test_no_command_fails_on_a_pooled_connection_after_redis_restarts(
    own_redis: RedisProcess,
) -> None:
    client = connect(own_redis.url)
    try:
        # Five connections in the pool, as a busy service holds (readers, relay, checks).
        await asyncio.gather(*(client.blpop(["nothing"], timeout=0.2) for _ in range(5)))
        own_redis.stop()
        own_redis.start()

        replies = await asyncio.gather(*(client.ping() for _ in range(5)), return_exceptions=True)
        replies += [await client.ping() for _ in range(5)]
    finally:
        await client.aclose()

    assert replies == [True] * 10
