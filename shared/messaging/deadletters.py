"""The dead-letter stream: entries that cannot be applied, with why, kept for a replay."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from shared.messaging.streams import DEADLETTER_STREAM, ENTRY_FIELD, MAX_ENTRY_BYTES, text
from shared.observability.redaction import redact

MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class DeadLetter:
    id: str
    stream: str
    group: str
    entry_id: str
    reason_code: str
    reason: str
    deliveries: int
    service: str
    dead_lettered_at: str
    body: bytes


def dead_letter_fields(
    *,
    stream: str,
    group: str,
    entry_id: str,
    body: bytes | None,
    reason_code: str,
    reason: str,
    deliveries: int,
    service: str,
) -> dict[str, bytes | str | int]:
    """The dead letter's fields; an oversized body is not copied (each group on the stream
    would copy it again): its size and SHA-256 name it, and it stays at `entry_id`."""
    oversized: dict[str, bytes | str | int] = {}
    if body is not None and len(body) > MAX_ENTRY_BYTES:
        oversized = {"body_bytes": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}
        body = None
    return {
        **oversized,
        ENTRY_FIELD: body or b"",
        "stream": stream,
        "group": group,
        "entry_id": entry_id,
        "reason_code": reason_code,
        "reason": redact(reason)[:MAX_REASON_CHARS],
        "deliveries": deliveries,
        "service": service,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }


async def list_dead_letters(
    redis: aioredis.Redis, *, count: int = 100, stream: str | None = None
) -> list[DeadLetter]:
    entries: list[Any] = await redis.xrange(  # type: ignore[assignment]
        DEADLETTER_STREAM, count=count if stream is None else None
    )
    letters = [_parse(entry_id, fields) for entry_id, fields in entries]
    if stream is not None:
        letters = [letter for letter in letters if letter.stream == stream][:count]
    return letters


async def replay(redis: aioredis.Redis, dead_letter_id: str) -> str:
    """Put the original entry back on its stream (a new id) and drop the dead letter.

    Every group on that stream sees it again; groups that had applied it skip it by its
    event id (inbox), so a replay only changes the group that had failed.
    """
    entries: list[Any] = await redis.xrange(  # type: ignore[assignment]
        DEADLETTER_STREAM, min=dead_letter_id, max=dead_letter_id
    )
    if not entries:
        raise KeyError(dead_letter_id)
    letter = _parse(*entries[0])
    if not letter.body:
        raise ValueError(f"dead letter {dead_letter_id} holds no entry body to replay")
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(letter.stream, {ENTRY_FIELD: letter.body})
        pipe.xdel(DEADLETTER_STREAM, dead_letter_id)
        new_id, _ = await pipe.execute()
    return text(new_id)


def _parse(entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetter:
    def field(name: str) -> str:
        return text(fields.get(name.encode(), b""))

    return DeadLetter(
        id=text(entry_id),
        stream=field("stream"),
        group=field("group"),
        entry_id=field("entry_id"),
        reason_code=field("reason_code"),
        reason=field("reason"),
        deliveries=int(field("deliveries") or 0),
        service=field("service"),
        dead_lettered_at=field("dead_lettered_at"),
        body=fields.get(ENTRY_FIELD.encode(), b""),
    )
