"""Auth, duplicate rejection, rate limits and injected faults."""

from __future__ import annotations

import time
from typing import Any

from services.civil_registry.population import Population
from tests.integration.civil_registry.conftest import (
    ADMIN,
    AUTH,
    OTHER_AUTH,
    Registry,
    item,
    running_registry,
    search_body,
)


def one(population: Population, **header: Any) -> dict[str, Any]:
    return search_body([item("r", population.person(0).nik)], **header)


async def test_missing_or_invalid_tokens_get_401_problems(
    registry: Registry, population: Population
) -> None:
    body = one(population)
    cases = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic ZGV2LXRva2Vu"},
        {"Authorization": "Bearer "},
        ADMIN,  # the admin token is no client token
    ]
    for headers in cases:
        response = await registry.http.post("/registry/sync/search", json=body, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["code"] == "unauthorized"
    for path in ("/admin/faults", "/admin/usage"):
        assert (await registry.http.get(path, headers=AUTH)).status_code == 401
        assert (await registry.http.get(path)).status_code == 401
    assert (await registry.http.get("/registry/changes")).status_code == 401


async def test_admin_api_is_disabled_without_an_admin_token() -> None:
    async with running_registry(registry_admin_token=None) as registry:
        response = await registry.http.get("/admin/faults", headers=ADMIN)
        assert response.status_code == 401
        assert response.json()["detail"] == "admin API disabled"


async def test_reused_message_or_transaction_ids_are_rejected(
    registry: Registry, population: Population
) -> None:
    first = one(population)
    post = registry.http.post
    assert (await post("/registry/sync/search", json=first, headers=AUTH)).status_code == 200

    again = await post("/registry/sync/search", json=first, headers=AUTH)
    assert again.status_code == 409
    assert again.json()["code"] == "rjct.duplicate"
    assert again.json()["duplicate"] == "message_id"

    same_txn = one(population, transaction_id=first["message"]["transaction_id"])
    response = await post("/registry/async/search", json=same_txn, headers=AUTH)
    assert response.status_code == 409
    assert response.json()["duplicate"] == "transaction_id"

    fresh = one(population)
    assert (await post("/registry/async/search", json=fresh, headers=AUTH)).status_code == 202
    assert (await post("/registry/async/search", json=fresh, headers=AUTH)).status_code == 409
    # Ids are remembered per client.
    mine = one(population, message_id=first["header"]["message_id"], sender_id="lapas-martapura")
    assert (await post("/registry/sync/search", json=mine, headers=OTHER_AUTH)).status_code == 200


async def test_rejected_requests_do_not_consume_their_ids(
    registry: Registry, population: Population
) -> None:
    body = one(population)
    await registry.faults(error_rate=1.0)
    failed = await registry.http.post("/registry/sync/search", json=body, headers=AUTH)
    assert failed.status_code == 503
    await registry.faults()
    retried = await registry.http.post("/registry/sync/search", json=body, headers=AUTH)
    assert retried.status_code == 200


async def test_rate_limit_answers_429_with_retry_after(
    registry: Registry, population: Population
) -> None:
    view = (await registry.faults(rate_limit_per_s=0.5)).json()
    assert view["effective_rate_limit_per_s"] == 0.5
    assert view["effective_rate_burst"] == 1.0
    post = registry.http.post
    assert (
        await post("/registry/sync/search", json=one(population), headers=AUTH)
    ).status_code == 200
    limited = await post("/registry/sync/search", json=one(population), headers=AUTH)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.json()["code"] == "rjct.rate_limited"
    # Another client has its own bucket.
    other = one(population, sender_id="lapas-martapura")
    assert (await post("/registry/sync/search", json=other, headers=OTHER_AUTH)).status_code == 200


async def test_default_rate_limit_is_20_per_second_with_a_burst_of_40(
    registry: Registry,
) -> None:
    view = (await registry.http.get("/admin/faults", headers=ADMIN)).json()
    assert view["effective_rate_limit_per_s"] == 20
    assert view["effective_rate_burst"] == 40
    statuses = [
        (await registry.http.get("/registry/changes", headers=AUTH)).status_code for _ in range(45)
    ]
    assert statuses[:40] == [200] * 40
    assert 429 in statuses[40:]


async def test_injected_errors_are_503_problems_and_reproducible(
    registry: Registry, population: Population
) -> None:
    async def run() -> list[int]:
        await registry.faults(error_rate=0.5)
        return [
            (await registry.http.get("/registry/changes", headers=AUTH)).status_code
            for _ in range(30)
        ]

    first = await run()
    assert set(first) == {200, 503}
    assert await run() == first
    await registry.faults(error_rate=1.0)
    response = await registry.http.post("/registry/sync/search", json=one(population), headers=AUTH)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unavailable"


async def test_injected_latency_and_hang(registry: Registry, population: Population) -> None:
    await registry.faults(latency_ms=200)
    started = time.perf_counter()
    response = await registry.http.post("/registry/sync/search", json=one(population), headers=AUTH)
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.2

    await registry.faults(timeout_rate=1.0, hang_s=0.4)
    started = time.perf_counter()
    response = await registry.http.post("/registry/sync/search", json=one(population), headers=AUTH)
    assert response.status_code == 200  # the answer comes, too late for a patient-less caller
    assert time.perf_counter() - started >= 0.4


async def test_outage_until_cleared_while_health_and_admin_answer(
    registry: Registry, population: Population
) -> None:
    await registry.faults(outage=True)
    for _ in range(3):
        response = await registry.http.post(
            "/registry/sync/search", json=one(population), headers=AUTH
        )
        assert response.status_code == 503
        assert response.headers["retry-after"]
    assert (await registry.http.get("/registry/changes", headers=AUTH)).status_code == 503
    assert (await registry.http.get("/health/live")).status_code == 200
    assert (await registry.http.get("/admin/faults", headers=ADMIN)).json()["outage"] is True
    await registry.faults(outage=False)
    response = await registry.http.post("/registry/sync/search", json=one(population), headers=AUTH)
    assert response.status_code == 200


async def test_faults_default_from_the_environment(population: Population) -> None:
    async with running_registry(registry_fault_error_rate=1.0, registry_fault_latency_ms=5) as r:
        view = (await r.http.get("/admin/faults", headers=ADMIN)).json()
        assert view["error_rate"] == 1.0
        assert view["latency_ms"] == 5
        response = await r.http.post("/registry/sync/search", json=one(population), headers=AUTH)
        assert response.status_code == 503
        # PUT replaces the whole configuration; omitted fields fall back to the env defaults.
        view = (await r.faults(latency_ms=0)).json()
        assert view["error_rate"] == 1.0
        assert view["latency_ms"] == 0
        bad = await r.http.put("/admin/faults", json={"error_rate": 2}, headers=ADMIN)
        assert bad.status_code == 422
