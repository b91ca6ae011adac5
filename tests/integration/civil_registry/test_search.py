"""Synchronous search: SESUAI / TIDAK SESUAI, unknown and invalid NIKs, envelope rules."""

from __future__ import annotations

from typing import Any

from services.civil_registry.population import Population
from tests.integration.civil_registry.conftest import (
    AUTH,
    CLIENT,
    OTHER_AUTH,
    Registry,
    full_verify,
    item,
    search_body,
)

UNKNOWN_NIK = "6307061203900999"  # structurally valid, not in a 2000-people registry


def answers(response_body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["reference_id"]: a for a in response_body["message"]["search_response"]}


async def test_sync_search_answers_each_item_by_reference(
    registry: Registry, population: Population
) -> None:
    alice, bob = population.person(0), population.person(1)
    wrong = full_verify(bob) | {"mother_name": "SITI NURHALIZA BINTI X", "birth_place": "ZZZ"}
    body = search_body(
        [
            item("r-match", alice.nik, **full_verify(alice)),
            item("r-wrong", bob.nik, **wrong),
            item("r-unknown", UNKNOWN_NIK, name="SIAPA SAJA"),
            item("r-invalid", "12345", name="X"),
            item("r-letters", "63070612039000A1"),
        ]
    )
    response = await registry.http.post("/registry/sync/search", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    result = response.json()
    header = result["header"]
    assert header["action"] == "on-search"
    assert header["status"] == "succ"
    assert header["total_count"] == 5
    assert header["receiver_id"] == CLIENT
    assert result["message"]["transaction_id"] == body["message"]["transaction_id"]
    assert result["message"]["correlation_id"]
    by_ref = answers(result)
    assert list(by_ref) == ["r-match", "r-wrong", "r-unknown", "r-invalid", "r-letters"]

    match = by_ref["r-match"]
    assert match["status"] == "succ"
    assert match["data"] == {
        "nik_found": True,
        "alive": alice.alive,
        "verification": {
            "name": "SESUAI",
            "birth_place": "SESUAI",
            "birth_date": "SESUAI",
            "mother_name": "SESUAI",
            "sex": "SESUAI",
        },
    }
    assert by_ref["r-wrong"]["data"]["verification"] == {
        "name": "SESUAI",
        "birth_place": "TIDAK SESUAI",
        "birth_date": "SESUAI",
        "mother_name": "TIDAK SESUAI",
        "sex": "SESUAI",
    }
    assert by_ref["r-unknown"] == {
        "reference_id": "r-unknown",
        "timestamp": by_ref["r-unknown"]["timestamp"],
        "status": "succ",
        "data": {"nik_found": False},
    }
    for ref in ("r-invalid", "r-letters"):
        assert by_ref[ref]["status"] == "rjct"
        assert by_ref[ref]["status_reason_code"] == "rjct.nik.invalid"
        assert "data" not in by_ref[ref]


async def test_only_submitted_elements_are_answered_and_normalisation_is_trivial(
    registry: Registry, population: Population
) -> None:
    p = population.person(5)
    sloppy_name = "  " + p.name.lower().replace(" ", "   ") + ". "
    body = search_body(
        [
            item("a", p.nik, name=sloppy_name),
            item("b", p.nik),
            item("c", p.nik, birth_date="01-01-1990"),
            item("d", p.nik, name="M. " + p.name),
        ]
    )
    response = await registry.http.post("/registry/sync/search", json=body, headers=AUTH)
    by_ref = answers(response.json())
    assert by_ref["a"]["data"]["verification"] == {"name": "SESUAI"}
    assert "verification" not in by_ref["b"]["data"]
    assert by_ref["b"]["data"]["nik_found"] is True
    assert by_ref["c"]["status_reason_code"] == "rjct.search_criteria.invalid"
    assert by_ref["d"]["data"]["verification"] == {"name": "TIDAK SESUAI"}


async def test_dead_people_are_found_and_not_alive(
    registry: Registry, population: Population
) -> None:
    dead = next(p for p in population.people() if not p.alive)
    body = search_body([item("dead", dead.nik, name=dead.name)])
    response = await registry.http.post("/registry/sync/search", json=body, headers=AUTH)
    data = response.json()["message"]["search_response"][0]["data"]
    assert data == {"nik_found": True, "alive": False, "verification": {"name": "SESUAI"}}


async def test_unsupported_queries_and_repeated_references_are_rejected_per_item(
    registry: Registry, population: Population
) -> None:
    nik = population.person(2).nik
    body = search_body(
        [
            item("x", nik, query_type="expression"),
            item("y", nik, id_type="KK"),
            item("z", nik),
            item("z", nik),
        ]
    )
    response = await registry.http.post("/registry/sync/search", json=body, headers=AUTH)
    codes = [a.get("status_reason_code") for a in response.json()["message"]["search_response"]]
    assert codes == [
        "rjct.search_criteria.invalid",
        "rjct.search_criteria.invalid",
        None,
        "rjct.reference_id.duplicate",
    ]


async def test_envelope_rules(registry: Registry, population: Population) -> None:
    nik = population.person(3).nik
    post = registry.http.post

    too_many = search_body([item(f"r{i}", nik) for i in range(101)])
    response = await post("/registry/sync/search", json=too_many, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["code"] == "rjct.search_request.too_large"

    miscounted = search_body([item("r", nik)])
    miscounted["header"]["total_count"] = 2
    response = await post("/registry/sync/search", json=miscounted, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["code"] == "rjct.total_count.invalid"

    response = await post(
        "/registry/sync/search", json=search_body([item("r", nik)]), headers=OTHER_AUTH
    )
    assert response.status_code == 403
    assert response.json()["code"] == "rjct.sender_id.invalid"

    unknown_element = search_body([item("r", nik, nickname="UDIN")])
    response = await post("/registry/sync/search", json=unknown_element, headers=AUTH)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "UDIN" not in response.text  # validation errors never echo input

    response = await post(
        "/registry/sync/search",
        content=b"{not json",
        headers=AUTH | {"content-type": "application/json"},
    )
    assert response.status_code == 422

    empty = search_body([])
    response = await post("/registry/sync/search", json=empty, headers=AUTH)
    assert response.status_code == 422


async def test_sync_accepts_100_items(registry: Registry, population: Population) -> None:
    people = [population.person(i) for i in range(100)]
    body = search_body([item(f"r{i}", p.nik, name=p.name) for i, p in enumerate(people)])
    response = await registry.http.post("/registry/sync/search", json=body, headers=AUTH)
    assert response.status_code == 200
    results = response.json()["message"]["search_response"]
    assert len(results) == 100
    assert all(r["data"]["verification"] == {"name": "SESUAI"} for r in results)
