"""Operational state read live from Redis: the dead-letter stream and every group's lag."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from services.dashboard.views import DeadLetterFact, GroupFact
from shared.messaging.groups import group_states
from shared.messaging.streams import DEADLETTER_STREAM, stream_of, text

WATCHED_STREAMS = tuple(stream_of(s) for s in ("agreements", "programs", "identity"))


async def dead_letters(redis: aioredis.Redis, latest: int) -> tuple[int, list[DeadLetterFact]]:
    """How many dead letters there are, and the newest `latest` of them (newest first)."""
    count = int(await redis.xlen(DEADLETTER_STREAM))
    entries: list[Any] = await redis.xrevrange(  # type: ignore[assignment]
        DEADLETTER_STREAM, count=latest
    )
    return count, [_letter(entry_id, fields) for entry_id, fields in entries]


def _letter(entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetterFact:
    def field(name: str) -> str:
        return text(fields.get(name.encode(), b""))

    # the reason was redacted when the letter was written; only its fields are shown
    return DeadLetterFact(
        id=text(entry_id),
        stream=field("stream"),
        group=field("group"),
        service=field("service"),
        reason_code=field("reason_code"),
        reason=field("reason"),
        dead_lettered_at=field("dead_lettered_at"),
    )


async def groups(redis: aioredis.Redis, lag_limit: int) -> list[GroupFact]:
    found = []
    for stream in WATCHED_STREAMS:
        for state in await group_states(redis, stream, lag_limit):
            found.append(GroupFact(state.stream, state.group, state.lag, state.pending))
    return found
