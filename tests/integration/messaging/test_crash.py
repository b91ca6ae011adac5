"""SIGKILL mid-batch: a consumer process dies holding a batch; nothing is lost or applied twice.

The batch it held stays pending in the group. A restart under the same consumer name drains
its own backlog; a replica under a new name claims the entries once they are idle.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine, select

from shared.persistence.engine import make_engine
from tests.infra import postgres_available, postgres_database
from tests.integration.messaging.readmodel import (
    GROUP,
    STREAM,
    count,
    create_database,
    expected_final,
    inbox,
    pending_count,
    rows,
    session_event,
    wait_until,
    xadd_events,
)

REPO = Path(__file__).resolve().parents[3]
SESSIONS = 1000
SEQUENCES = 3
TOTAL = SESSIONS * SEQUENCES


def start_consumer(
    database_url: str, redis_url: str, name: str, log: Path, *options: str
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.integration.messaging.consumer_process"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, database_url, redis_url, name, *options],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def consumer_pending(redis: aioredis.Redis, name: str) -> int:
    for info in await redis.xinfo_consumers(STREAM, GROUP):
        if info["name"] == name.encode():
            return int(info["pending"])
    return 0


@pytest.fixture
def crash_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A file SQLite database, or a fresh PostgreSQL one, with the read model's tables."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'readmodel.db'}"
        create_database(url).dispose()
        yield url
        return
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable in CI (set SINERGI_TEST_POSTGRES_URL)")
        pytest.skip("PostgreSQL is not reachable (set SINERGI_TEST_POSTGRES_URL)")
    with postgres_database() as url:
        create_database(url).dispose()
        yield url


@pytest.mark.parametrize(
    ("crash_database", "second_name"),
    [
        pytest.param("sqlite", "replica-a", id="sqlite-same-name-drains-its-backlog"),
        pytest.param("sqlite", "replica-b", id="sqlite-new-name-reclaims"),
        pytest.param(
            "postgresql",
            "replica-b",
            id="postgresql-new-name-reclaims",
            marks=pytest.mark.postgres,
        ),
    ],
    indirect=["crash_database"],
)
async def test_a_consumer_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    crash_database: str,
    redis: aioredis.Redis,
    redis_url: str,
    second_name: str,
    tmp_path: Path,
) -> None:
    database_url = crash_database
    engine = make_engine(database_url)
    try:
        await _kill_and_recover(engine, database_url, redis, redis_url, second_name, tmp_path)
    finally:
        engine.dispose()


async def _kill_and_recover(
    engine: Engine,
    database_url: str,
    redis: aioredis.Redis,
    redis_url: str,
    second_name: str,
    tmp_path: Path,
) -> None:
    # Every session's three versions, one sequence after another: a reclaimed batch is
    # older than what the survivor may already have applied.
    events = [
        session_event(f"session-{i:04}", seq)
        for seq in range(1, SEQUENCES + 1)
        for i in range(SESSIONS)
    ]
    await xadd_events(redis, events)
    log = tmp_path / "consumers.log"

    first = start_consumer(
        database_url, redis_url, "replica-a", log, "--delay-s", "0.05", "--batch-size", "50"
    )
    try:
        await wait_until(
            lambda: _quarter_applied_with_a_batch_in_hand(engine, redis),
            timeout_s=90,  # the consumer is a fresh process: slow to start on a loaded CI box
            interval_s=0.01,
            what="a quarter of the events applied and a batch in hand",
        )
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)

    applied_at_kill = count(engine, inbox)
    stranded = await consumer_pending(redis, "replica-a")
    assert applied_at_kill < TOTAL
    assert stranded > 0, "the kill left no batch in hand"

    second_options = ["--batch-size", "100"]
    if second_name != "replica-a":
        second_options += ["--claim-idle-ms", "200", "--claim-interval-s", "0.2"]
    second = start_consumer(database_url, redis_url, second_name, log, *second_options)
    try:
        await wait_until(
            lambda: _done(engine, redis),
            timeout_s=40,
            interval_s=0.05,
            what=f"the rest applied (log: {log})",
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=10) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(timeout=10)

    assert rows(engine) == [expected_final(f"session-{i:04}", SEQUENCES) for i in range(SESSIONS)]
    with engine.connect() as connection:
        inboxed = set(connection.execute(select(inbox.c.event_id)).scalars())
    assert inboxed == {event.id for event in events}
    assert count(engine, inbox) == TOTAL
    assert await pending_count(redis) == 0
    assert await consumer_pending(redis, "replica-a") == 0


async def _quarter_applied_with_a_batch_in_hand(engine: Engine, redis: aioredis.Redis) -> bool:
    return count(engine, inbox) >= TOTAL // 4 and await pending_count(redis) > 0


async def _done(engine: Engine, redis: aioredis.Redis) -> bool:
    await asyncio.sleep(0)
    return count(engine, inbox) == TOTAL and await pending_count(redis) == 0
