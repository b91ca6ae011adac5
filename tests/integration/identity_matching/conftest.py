"""Fixtures of the matching tests: the stand-in as a process, an identity app on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from services.civil_registry.population import Population
from services.identity.bootstrap import create_app
from services.identity.config import IdentitySettings
from services.identity.protection import generate_key
from tests.integration.identity_matching.support import (
    CLIENT_TOKEN,
    FACILITY,
    POPULATION,
    SEED,
    TODAY,
    StandIn,
    api_key_entries,
    stand_in,
)


@pytest.fixture(scope="session")
def population() -> Population:
    return Population(POPULATION, SEED)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[StandIn]:
    with stand_in(tmp_path / "civil-registry.log") as running:
        yield running


@pytest.fixture
def streams(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


def matching_settings(
    database_url: str, redis_url: str, registry_url: str, **overrides: Any
) -> IdentitySettings:
    """A fast-ticking identity instance talking to the stand-in, with small batches."""
    values: dict[str, Any] = {
        "environment": "test",
        "facility": FACILITY,
        "identity_database_url": database_url,
        "redis_url": redis_url,
        "identity_api_keys": api_key_entries(),
        "identity_nik_key": generate_key(),
        "identity_lookup_key": generate_key(),
        "today": TODAY,
        "block_ms": 50,
        "relay_poll_interval_s": 0.1,
        "monitor_interval_s": 0.2,
        "consumer_name": "identity-matching-test",
        "registry_url": registry_url,
        "registry_token": CLIENT_TOKEN,
        "registry_batch_size": 10,
        "registry_concurrency": 3,
        "registry_timeout_s": 1.0,
        "registry_max_attempts": 4,
        "registry_breaker_failures": 3,
        "registry_breaker_reset_s": 1.0,
        "registry_poll_interval_s": 0.05,
        "registry_resync_enabled": False,
        "matching_stop_timeout_s": 2.0,
    }
    values.update(overrides)
    return IdentitySettings(**values)


@pytest.fixture
def settings(database_url: str, redis_url: str, registry: StandIn) -> IdentitySettings:
    return matching_settings(database_url, redis_url, registry.url)


@pytest.fixture
def client(settings: IdentitySettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client
