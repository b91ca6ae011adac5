"""Retention trims old entries, never one that some group has not read or still has pending."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from shared.messaging.groups import ensure_group
from shared.messaging.retention import safe_trim_bound, trim_stream
from tests.integration.messaging.readmodel import entries

STREAM = "sinergi.retention"


@pytest.mark.parametrize(
    ("cutoff", "groups", "bound"),
    [
        pytest.param("5000-0", [], "5000-0", id="no-group-trims-by-age"),
        pytest.param("5000-0", [("9000-0", None)], "5000-0", id="group-ahead-of-cutoff"),
        pytest.param("5000-0", [("3000-0", None)], "3000-1", id="keeps-first-unread"),
        pytest.param("5000-0", [("3000-7", None)], "3000-8", id="unread-in-same-ms"),
        pytest.param("5000-0", [("4000-0", "2000-3")], "2000-3", id="pending-counts-unread"),
        pytest.param("5000-0", [("0-0", None)], "0-1", id="group-that-read-nothing"),
        pytest.param(
            "5000-0", [("9000-0", None), ("4000-0", "3500-0")], "3500-0", id="slowest-group"
        ),
        pytest.param("1500-0", [("4000-0", "2000-0")], "1500-0", id="age-is-stricter"),
    ],
)
def test_safe_trim_bound(cutoff: str, groups: list[tuple[str, str | None]], bound: str) -> None:
    assert safe_trim_bound(cutoff, groups) == bound


async def _ids(redis: aioredis.Redis) -> list[str]:
    return [entry_id for entry_id, _ in await entries(redis, STREAM)]


async def test_trim_removes_old_entries_every_group_has_read_but_not_what_a_lagging_one_needs(
    redis: aioredis.Redis,
) -> None:
    ids = [f"{ms}-0" for ms in range(1000, 11_000, 1000)]  # ten entries, one per second
    for entry_id in ids:
        await redis.xadd(STREAM, {"__data__": b"{}"}, id=entry_id)
    await ensure_group(redis, STREAM, "fast")
    await ensure_group(redis, STREAM, "slow")
    await redis.xreadgroup("fast", "f", {STREAM: ">"})
    await redis.xack(STREAM, "fast", *ids)
    await redis.xreadgroup("slow", "s", {STREAM: ">"}, count=5)  # read 1000..5000
    await redis.xack(STREAM, "slow", *(i for i in ids[:5] if i != "3000-0"))  # 3000 pending

    everything_old = {"retention_ms": 1000, "now_ms": 60_000}
    assert await trim_stream(redis, STREAM, **everything_old) == 2
    assert await _ids(redis) == ids[2:]  # 3000-0 is pending for "slow": kept

    await redis.xack(STREAM, "slow", "3000-0")
    assert await trim_stream(redis, STREAM, **everything_old) == 3
    assert await _ids(redis) == ids[5:]  # 6000.. are unread by "slow": kept

    await redis.xreadgroup("slow", "s", {STREAM: ">"})
    await redis.xack(STREAM, "slow", *ids[5:])
    # Everyone has read everything now; only age limits the trim.
    assert await trim_stream(redis, STREAM, retention_ms=2500, now_ms=10_000) == 2
    assert await _ids(redis) == ids[7:]
    assert await trim_stream(redis, STREAM, retention_ms=2500, now_ms=10_000) == 0


async def test_trim_keeps_everything_for_a_group_that_has_read_nothing(
    redis: aioredis.Redis,
) -> None:
    for ms in (1000, 2000, 3000):
        await redis.xadd(STREAM, {"__data__": b"{}"}, id=f"{ms}-0")
    await ensure_group(redis, STREAM, "new")

    assert await trim_stream(redis, STREAM, retention_ms=1, now_ms=60_000) == 0
    assert await redis.xlen(STREAM) == 3
