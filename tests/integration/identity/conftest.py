"""Fixtures of the identity integration tests: a running service on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from services.identity.config import IdentitySettings
from tests.integration.identity.support import Api, make_settings, running


@pytest.fixture
def settings(database_url: str, redis_url: str) -> IdentitySettings:
    return make_settings(database_url, redis_url)


@pytest.fixture
def client(settings: IdentitySettings) -> Iterator[TestClient]:
    with running(settings) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def streams(redis_url: str) -> Iterator[redis.Redis]:
    """A plain redis-py client, as any non-Python-service reader would use."""
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()
