"""A job through a misbehaving registry: hangs, 503s, throttling and a full outage."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from services.civil_registry.population import Population
from services.identity.bootstrap import create_app
from tests.integration.identity_matching.conftest import matching_settings
from tests.integration.identity_matching.roster import (
    admit,
    audit_rows,
    finished,
    items,
    progress,
    start_job,
    with_legal_basis,
)
from tests.integration.identity_matching.support import StandIn, inmate_body, wait_until


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'identity.db'}"


def roster(client: TestClient, population: Population, n: int) -> list[str]:
    return [admit(client, inmate_body(population.person(i), f"F-{i}")) for i in range(n)]


def test_a_job_ends_with_one_result_per_person_through_hangs_errors_and_throttling(
    sqlite_url: str,
    redis_url: str,
    streams: redis.Redis,
    registry: StandIn,
    population: Population,
) -> None:
    settings = matching_settings(
        sqlite_url,
        redis_url,
        registry.url,
        registry_batch_size=5,
        registry_breaker_failures=50,
        registry_max_attempts=8,
    )
    with TestClient(create_app(settings)) as client:
        with_legal_basis(client, streams)
        people = roster(client, population, 60)
        registry.faults(
            error_rate=0.3, timeout_rate=0.15, hang_s=2.0, rate_limit_per_s=4, rate_burst=1
        )

        job_id = start_job(client, "pemadanan", people)
        done = finished(client, job_id, timeout=180)

        registry.faults()
        assert done["status"] == "completed"
        assert done["done"] == 60
        assert sum(done["outcomes"].values()) == 60
        per_person = Counter(item["person_id"] for item in items(client, job_id))
        assert set(per_person) == set(people)
        assert set(per_person.values()) == {1}
        assert all(item["state"] == "done" for item in items(client, job_id))
        usage = registry.usage()
        responses = usage["responses"]
        assert responses.get("unavailable", 0) > 0  # the faults did happen
        assert responses.get("throttled", 0) > 0
        # Each person was verified once by the registry, however often we had to ask.
        assert sum(usage["items"].values()) == 60
        assert sum(row["items"] for row in audit_rows(client, "matching_call")) == 60


def test_the_breaker_opens_during_an_outage_fails_fast_and_closes_after_it(
    sqlite_url: str,
    redis_url: str,
    streams: redis.Redis,
    registry: StandIn,
    population: Population,
) -> None:
    settings = matching_settings(
        sqlite_url,
        redis_url,
        registry.url,
        registry_breaker_failures=3,
        registry_breaker_reset_s=1.0,
        registry_max_attempts=3,
    )
    with TestClient(create_app(settings)) as client:
        with_legal_basis(client, streams)
        people = roster(client, population, 30)
        registry.faults(outage=True)

        job_id = start_job(client, "pemadanan", people)
        wait_until(lambda: progress(client, job_id)["breaker"] == "open", what="the breaker")
        metrics = client.get("/metrics").text
        assert 'sinergi_registry_breaker_state{service="identity"} 2.0' in metrics
        assert client.get("/health/ready").status_code == 200  # the roster is still served
        stuck = progress(client, job_id)
        assert stuck["status"] == "running"
        assert stuck["done"] == 0

        registry.faults(outage=False)
        done = finished(client, job_id, timeout=120)

        assert done["status"] == "completed"
        assert done["breaker"] == "closed"
        assert done["done"] == 30
        assert Counter(item["person_id"] for item in items(client, job_id)).total() == 30
        assert (
            'sinergi_registry_breaker_state{service="identity"} 0.0' in client.get("/metrics").text
        )
