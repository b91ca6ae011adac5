"""Fixtures of the delivery-plumbing tests: a Redis client, a read-model database, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine

from shared.messaging.connection import connect
from shared.observability.metrics import Metrics
from tests.integration.messaging.readmodel import create_database


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The read model on SQLite and on PostgreSQL."""
    db = create_database(database_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """The read model on a file SQLite database only, for tests about Redis behaviour."""
    db = create_database(f"sqlite:///{tmp_path / 'readmodel.db'}")
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics("plumbing-test")
