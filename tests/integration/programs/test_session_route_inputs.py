"""POST /sessions reads its inputs itself (shared/http/direct.py): the same answers as the
other routes, where FastAPI reads them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.programs.support import RAW_KEYS, STAFF, World, auth

HELD = {"programme_kind": "book_loan", "held_on": "2024-04-02", "delivered_quantity": 40}


def error_locations(response: Any) -> list[list[str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return sorted(error["loc"] for error in response.json()["errors"])


def test_a_request_without_a_valid_api_key_is_refused_before_its_body_is_read(
    client: TestClient,
) -> None:
    missing = client.post("/sessions", content=b"not json")
    invalid = client.post("/sessions", json={}, headers={"X-API-Key": "not-a-key"})

    assert (missing.status_code, invalid.status_code) == (401, 401)
    assert missing.headers["www-authenticate"] == 'Bearer realm="sinergi"'


def test_an_auditor_may_not_record_a_session(client: TestClient) -> None:
    response = client.post("/sessions", json={}, headers=auth("auditor"))

    assert response.status_code == 403, response.text


def test_the_api_key_is_also_taken_as_a_bearer_token(client: TestClient, world: World) -> None:
    agreement = world.agreement(["book_loan"], partner="dispersip")
    world.settle()
    bearer = {"Authorization": f"Bearer {RAW_KEYS['staff']}"}

    response = client.post("/sessions", json={"agreement_id": agreement, **HELD}, headers=bearer)

    assert response.status_code == 201, response.text


def test_a_missing_broken_or_undeclared_json_body_is_a_validation_problem(
    client: TestClient,
) -> None:
    empty = client.post("/sessions", headers=STAFF)
    broken = client.post(
        "/sessions", content=b"{not json", headers={**STAFF, "content-type": "application/json"}
    )

    undeclared = client.post("/sessions", content=b'{"agreement_id": "a"}', headers=STAFF)

    assert error_locations(empty) == [["body"]]
    assert error_locations(broken)[0][0] == "body"
    assert error_locations(undeclared) == [["body"]]


def test_a_bad_key_and_a_bad_body_are_reported_together(client: TestClient) -> None:
    response = client.post(
        "/sessions",
        json={"programme_kind": "book_loan", "held_on": "2024-04-02", "attendance": "x"},
        headers={**STAFF, "Idempotency-Key": "with space"},
    )

    assert error_locations(response) == [
        ["body", "agreement_id"],
        ["body", "attendance"],
        ["header", "Idempotency-Key"],
    ]
