"""Consumer groups: created explicitly from the start of the stream, and measured."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from shared.messaging.streams import text


async def ensure_group(redis: aioredis.Redis, stream: str, group: str) -> None:
    """Create the group at id 0 so entries written before it existed are delivered too."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


@dataclass(frozen=True)
class GroupState:
    stream: str
    group: str
    lag: int
    pending: int
    last_delivered_id: str
    oldest_pending_id: str | None


async def group_states(
    redis: aioredis.Redis, stream: str, lag_limit: int = 100_000
) -> list[GroupState]:
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return []  # no such stream yet
    states = []
    for info in groups:
        name = text(info["name"])
        last = text(info["last-delivered-id"])
        pending = int(info["pending"])
        oldest = None
        if pending:
            summary = await redis.xpending(stream, name)
            oldest = text(summary["min"]) if summary.get("min") else None
        lag = info.get("lag")
        if lag is None:
            # Redis < 7 (or a lag Redis cannot compute): count what follows the last delivery.
            after = await redis.xrange(stream, min=f"({last}", count=lag_limit)
            lag = len(after or [])
        states.append(GroupState(stream, name, int(lag), pending, last, oldest))
    return states
