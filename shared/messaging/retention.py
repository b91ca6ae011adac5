"""Retention: trim a stream by age, never past an entry some group has not yet read."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from shared.messaging.groups import group_states


def _parse_id(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def _successor(entry_id: str) -> str:
    millis, seq = _parse_id(entry_id)
    return f"{millis}-{seq + 1}"


def safe_trim_bound(cutoff_id: str, groups: list[tuple[str, str | None]]) -> str:
    """The lowest id to keep: the age cutoff, lowered to each group's first unread entry.

    `groups` holds (last delivered id, oldest pending id or None) per group. A pending
    entry was delivered but not acknowledged, so it still counts as unread.
    """
    bound = _parse_id(cutoff_id)
    for last_delivered, oldest_pending in groups:
        first_unread = oldest_pending or _successor(last_delivered)
        bound = min(bound, _parse_id(first_unread))
    return f"{bound[0]}-{bound[1]}"


async def trim_stream(
    redis: aioredis.Redis, stream: str, *, retention_ms: int, now_ms: int | None = None
) -> int:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    states = await group_states(redis, stream)
    bound = safe_trim_bound(
        f"{max(now_ms - retention_ms, 0)}-0",
        [(state.last_delivered_id, state.oldest_pending_id) for state in states],
    )
    return int(await redis.xtrim(stream, minid=bound, approximate=False))
