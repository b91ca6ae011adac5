"""Redis connections: one client (and pool) per service process."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def connect(url: str) -> aioredis.Redis:
    # One retry on a fresh connection: after Redis restarts, every connection the pool kept
    # fails once ("Connection closed by server"). Without it, the reader or check that drew
    # one paused again seconds after recovering (readiness flapped). A command retried after
    # an unanswered XADD may publish an event twice; the consumers' inboxes absorb that.
    return aioredis.from_url(
        url,
        socket_connect_timeout=5,
        health_check_interval=30,
        decode_responses=False,
        retry=Retry(NoBackoff(), retries=1),
    )
