"""A database outage pauses the readers; nothing is dead-lettered and nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis.asyncio as aioredis

from shared.messaging import DEADLETTER_STREAM
from shared.messaging.consumer import DatabaseUnavailableError
from shared.observability.metrics import Metrics
from tests.infra import DEFAULT_POSTGRES_URL, postgres_available
from tests.integration.messaging.readmodel import (
    create_database,
    entries,
    group_consumer,
    make_handler,
    pending_count,
    rows,
    running,
    session_event,
    wait_until,
    xadd_events,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def outage_database() -> Iterator[tuple[str, str]]:
    """A PostgreSQL database this test may close to new connections (admin url, name)."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    name = f"sinergi_outage_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(DEFAULT_POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield DEFAULT_POSTGRES_URL, name
    finally:
        with psycopg.connect(DEFAULT_POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _set_reachable(admin_url: str, name: str, reachable: bool) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(reachable).lower()}')
        if not reachable:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


async def test_a_database_outage_pauses_the_reader_and_it_resumes_without_dead_letters(
    outage_database: tuple[str, str], redis: aioredis.Redis, metrics: Metrics
) -> None:
    admin_url, name = outage_database
    engine = create_database(f"{admin_url.rsplit('/', 1)[0]}/{name}")
    consumer = group_consumer(
        redis, make_handler(engine), metrics, claim_idle_ms=100, max_deliveries=2
    )
    try:
        async with running(consumer):
            await xadd_events(redis, [session_event("before", 1)])
            await wait_until(lambda: len(rows(engine)) == 1, timeout_s=10, what="the first event")

            _set_reachable(admin_url, name, False)
            await xadd_events(redis, [session_event(f"during-{i}", 1) for i in range(20)])
            await wait_until(lambda: not consumer.reading, timeout_s=10, what="the pause")
            for _ in range(3):  # reclaim rounds while the database is away count nothing
                await asyncio.sleep(0.15)
                with contextlib.suppress(DatabaseUnavailableError):
                    await consumer.reclaim_once()

            _set_reachable(admin_url, name, True)
            await wait_until(lambda: len(rows(engine)) == 21, timeout_s=20, what="the backlog")
            await wait_until(lambda: consumer.reading, timeout_s=10, what="reading again")
        assert await entries(redis, DEADLETTER_STREAM) == []
        assert await pending_count(redis) == 0
    finally:
        engine.dispose()
