"""The registry never hands over population data: no response carries a person's fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from services.civil_registry.population import Person, Population
from tests.integration.civil_registry.conftest import (
    ADMIN,
    AUTH,
    Registry,
    callback_receiver,
    full_verify,
    item,
    search_body,
)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from strings(inner)


def personal_values(person: Person) -> set[str]:
    d = person.birth_date
    return {
        person.name,
        person.mother_name,
        person.birth_place,
        d.isoformat(),
        d.strftime("%d-%m-%Y"),
        d.strftime("%d/%m/%Y"),
    }


async def test_no_response_body_contains_population_fields(
    registry: Registry, population: Population
) -> None:
    bodies: list[str] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        bodies.append(response.text)

    people = [population.person(i) for i in range(60)]
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=registry.app),
        base_url="http://registry",
        event_hooks={"response": [keep]},
    )
    async with http, callback_receiver() as receiver:
        right = [item(f"ok-{i}", p.nik, **full_verify(p)) for i, p in enumerate(people[:30])]
        wrong = [
            item(
                f"no-{i}",
                p.nik,
                name="NAMA SALAH",
                mother_name="IBU SALAH",
                birth_date="1999-09-09",
            )
            for i, p in enumerate(people[30:])
        ]
        bare = [item(f"bare-{i}", p.nik) for i, p in enumerate(people[:10])]
        sync = search_body(right[:50] + bare[:10])
        await http.post("/registry/sync/search", json=sync, headers=AUTH)
        await http.post("/registry/sync/search", json=sync, headers=AUTH)  # 409
        async_body = search_body(right + wrong + bare, callback_url=receiver.url)
        await http.post("/registry/async/search", json=async_body, headers=AUTH)
        await receiver.wait(1)
        await http.post(
            "/registry/txn/status",
            json={"transaction_id": async_body["message"]["transaction_id"]},
            headers=AUTH,
        )
        for p in people[:3]:
            await http.post("/admin/changes", json={"nik": p.nik, "change": "death"}, headers=ADMIN)
        await http.post(
            "/admin/changes",
            json={
                "nik": people[3].nik,
                "change": "correction",
                "fields": ["name", "birth_place"],
                "new_values": {"name": "NAMA BARU", "birth_place": "TEMPAT BARU"},
            },
            headers=ADMIN,
        )
        await http.get("/registry/changes", headers=AUTH)
        await http.get("/admin/usage", headers=ADMIN)
        await http.post("/registry/sync/search", json=sync, headers={})  # 401
        bad = search_body([item("x", people[0].nik, surname=people[0].name)])
        await http.post("/registry/sync/search", json=bad, headers=AUTH)  # 422
        await registry.faults(rate_limit_per_s=0.1)
        for _ in range(3):
            await http.post("/registry/sync/search", json=search_body(right[:5]), headers=AUTH)
    bodies.extend(json.dumps(b) for b in receiver.received)

    assert len(bodies) > 15
    assert any("TIDAK SESUAI" in text for text in bodies)
    assert any('"status":"rjct"' in text or "429" in text for text in bodies)
    values = set().union(*(personal_values(p) for p in people)) | {
        "NAMA SALAH",
        "IBU SALAH",
        "NAMA BARU",
        "TEMPAT BARU",
    }
    for text in bodies:
        try:
            found = set(strings(json.loads(text)))
        except json.JSONDecodeError:
            found = {text}
        assert not (found & values), found & values
        for value in values:
            if len(value) >= 8:
                assert value not in text
