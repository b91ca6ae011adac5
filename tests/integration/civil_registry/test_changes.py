"""The changes feed (deaths, corrections), usage counts and metrics."""

from __future__ import annotations

from services.civil_registry.population import Population
from tests.integration.civil_registry.conftest import (
    ADMIN,
    AUTH,
    CLIENT,
    Registry,
    item,
    search_body,
)


async def verify_mother(registry: Registry, nik: str, mother: str) -> dict[str, object]:
    body = search_body([item("m", nik, mother_name=mother)])
    response = await registry.http.post("/registry/sync/search", json=body, headers=AUTH)
    data: dict[str, object] = response.json()["message"]["search_response"][0]["data"]
    return data


async def test_changes_feed_follows_deaths_and_corrections(
    registry: Registry, population: Population
) -> None:
    alive = next(p for p in population.people() if p.alive)
    other = population.person(1)
    empty = await registry.http.get("/registry/changes", headers=AUTH)
    assert empty.json() == {"changes": [], "next": 0}

    death = await registry.http.post(
        "/admin/changes", json={"nik": alive.nik, "change": "death"}, headers=ADMIN
    )
    assert death.status_code == 201, death.text
    assert death.json()["cursor"] == 1
    correction = await registry.http.post(
        "/admin/changes",
        json={
            "nik": other.nik,
            "change": "correction",
            "fields": ["mother_name"],
            "new_values": {"mother_name": "SITI ZUBAIDAH"},
        },
        headers=ADMIN,
    )
    assert correction.status_code == 201
    assert "SITI ZUBAIDAH" not in correction.text

    feed = (await registry.http.get("/registry/changes?after=0&limit=100", headers=AUTH)).json()
    assert feed["next"] == 2
    assert [(c["cursor"], c["nik"], c["change"], c["fields"]) for c in feed["changes"]] == [
        (1, alive.nik, "death", ["alive"]),
        (2, other.nik, "correction", ["mother_name"]),
    ]
    assert all(c["at"] for c in feed["changes"])
    page = (await registry.http.get("/registry/changes?after=0&limit=1", headers=AUTH)).json()
    assert [c["cursor"] for c in page["changes"]] == [1]
    assert page["next"] == 1
    rest = (await registry.http.get(f"/registry/changes?after={page['next']}", headers=AUTH)).json()
    assert [c["cursor"] for c in rest["changes"]] == [2]
    tail = (await registry.http.get("/registry/changes?after=2", headers=AUTH)).json()
    assert tail == {"changes": [], "next": 2}

    dead = await verify_mother(registry, alive.nik, alive.mother_name)
    assert dead["alive"] is False
    assert (await verify_mother(registry, other.nik, other.mother_name))["verification"] == {
        "mother_name": "TIDAK SESUAI"
    }
    assert (await verify_mother(registry, other.nik, "siti zubaidah"))["verification"] == {
        "mother_name": "SESUAI"
    }


async def test_invalid_changes(registry: Registry, population: Population) -> None:
    post = registry.http.post
    unknown = await post(
        "/admin/changes", json={"nik": "6307061203900999", "change": "death"}, headers=ADMIN
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "rjct.nik.unknown"
    nik = population.person(0).nik
    without_values = await post(
        "/admin/changes",
        json={"nik": nik, "change": "correction", "fields": ["name"]},
        headers=ADMIN,
    )
    assert without_values.status_code == 422
    bad_field = await post(
        "/admin/changes",
        json={"nik": nik, "change": "correction", "fields": ["religion"], "new_values": {}},
        headers=ADMIN,
    )
    assert bad_field.status_code == 422
    assert (
        await post("/admin/changes", json={"nik": nik, "change": "death"}, headers=AUTH)
    ).status_code == 401
    assert (
        await registry.http.get("/registry/changes?limit=5000", headers=AUTH)
    ).status_code == 422


async def test_usage_counts_requests_and_items_per_client_without_niks(
    registry: Registry, population: Population
) -> None:
    people = [population.person(i) for i in range(3)]
    items = [item(f"r{i}", p.nik) for i, p in enumerate(people)]
    items += [item("u", "6307061203900999"), item("bad", "123")]
    await registry.http.post("/registry/sync/search", json=search_body(items), headers=AUTH)
    await registry.http.post("/registry/async/search", json=search_body(items[:2]), headers=AUTH)
    await registry.service.drain()
    await registry.http.get("/registry/changes", headers=AUTH)
    response = await registry.http.get("/admin/usage", headers=ADMIN)
    assert response.status_code == 200
    usage = response.json()["clients"][CLIENT]
    assert usage["requests"] == {"sync_search": 1, "async_search": 1, "changes": 1}
    assert usage["items"] == {"found": 5, "not_found": 1, "rejected": 1}
    for p in people:
        assert p.nik not in response.text

    metrics = (await registry.http.get("/metrics")).text
    assert (
        "sinergi_registry_items_total"
        f'{{client="{CLIENT}",outcome="found",service="civil_registry"}} 5.0' in metrics
    )
    assert 'route="/registry/sync/search"' in metrics


async def test_health(registry: Registry) -> None:
    assert (await registry.http.get("/health/live")).json() == {"status": "live"}
    ready = (await registry.http.get("/health/ready")).json()
    assert ready["status"] == "ready"
    assert ready["checks"]["population"] == {"ok": True, "detail": "2000 people"}


async def test_openapi_documents_the_manually_parsed_bodies(registry: Registry) -> None:
    spec = (await registry.http.get("/openapi.json")).json()
    body = spec["paths"]["/registry/sync/search"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/SearchRequest")
    assert {"SearchRequest", "Verify", "FaultConfig", "ChangeRequest"} <= set(
        spec["components"]["schemas"]
    )
