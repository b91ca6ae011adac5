"""Fixtures of the dashboard integration tests: a running dashboard on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from services.dashboard.config import DashboardSettings
from tests.infra import RedisProcess
from tests.integration.dashboard.support import World, make_settings, running


@pytest.fixture(scope="session")
def private_redis() -> Iterator[RedisProcess]:
    """A redis-server of this test session's own, apart from other pytest runs on the machine."""
    server = RedisProcess().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_url(private_redis: RedisProcess) -> str:
    redis.Redis.from_url(private_redis.url).flushdb()
    return private_redis.url


@pytest.fixture
def settings(database_url: str, redis_url: str) -> DashboardSettings:
    return make_settings(database_url, redis_url)


@pytest.fixture
def client(settings: DashboardSettings) -> Iterator[TestClient]:
    with running(settings) as test_client:
        yield test_client


@pytest.fixture
def streams(redis_url: str) -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(redis_url)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def world(streams: redis.Redis, client: TestClient) -> World:
    return World(streams)
