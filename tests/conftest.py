"""Fixtures shared by the integration and e2e tiers (the unit tier needs none)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.infra import RedisProcess, postgres_available, postgres_database, redis_for_tests

TEST_DB_INDEX = 9


@pytest.fixture(scope="session")
def redis_base_url() -> Iterator[str]:
    with redis_for_tests() as url:
        yield url


@pytest.fixture
def redis_url(redis_base_url: str) -> str:
    """An emptied Redis database for this test, on the run's own server (see tests/infra.py)."""
    url = redis_base_url.rsplit("/", 1)[0] + f"/{TEST_DB_INDEX}"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A redis-server this test may stop and restart (outages)."""
    server = RedisProcess().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable in CI (set SINERGI_TEST_POSTGRES_URL)")
        pytest.skip("PostgreSQL is not reachable (set SINERGI_TEST_POSTGRES_URL)")
    with postgres_database() as url:
        yield url
