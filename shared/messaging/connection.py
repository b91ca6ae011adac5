"""Redis connections: one client (and pool) per service process."""

from __future__ import annotations

import redis.asyncio as aioredis


def connect(url: str) -> aioredis.Redis:
    return aioredis.from_url(
        url,
        socket_connect_timeout=5,
        health_check_interval=30,
        decode_responses=False,
    )
