"""`Idempotency-Key` on POST /sessions and POST /sales: a resent command is recorded once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from fastapi.testclient import TestClient

from tests.integration.programs.support import STAFF, World, auth, published

HELD = {"programme_kind": "book_loan", "held_on": "2024-04-02", "delivered_quantity": 40}


def post(client: TestClient, path: str, body: dict[str, Any], key: str | None, **who: str) -> Any:
    headers = dict(who or STAFF)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json=body, headers=headers)


def sessions_of(client: TestClient, agreement: str) -> list[str]:
    listed = client.get("/sessions", params={"agreement": agreement}, headers=STAFF)
    assert listed.status_code == 200, listed.text
    return [s["id"] for s in listed.json()["data"]]


def test_a_held_session_sent_twice_with_one_key_is_recorded_and_published_once(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    agreement = world.agreement(["book_loan"], partner="dispersip")
    world.settle()
    body = {"agreement_id": agreement, **HELD}

    first = post(client, "/sessions", body, "retry-me-1")
    again = post(client, "/sessions", body, "retry-me-1")

    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert sessions_of(client, agreement) == [first.json()["id"]]
    assert len(published(streams, "sinergi.session.held", first.json()["id"])) == 1


def test_without_a_key_or_with_a_new_key_each_command_is_a_new_record(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["book_loan"], partner="dispersip")
    world.settle()
    body = {"agreement_id": agreement, **HELD}

    ids = {post(client, "/sessions", body, key).json()["id"] for key in (None, None, "a-1", "a-2")}

    assert len(ids) == 4
    assert sorted(sessions_of(client, agreement)) == sorted(ids)


def test_a_key_used_again_with_another_request_is_refused_and_records_nothing(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["book_loan"], partner="dispersip")
    world.settle()
    first = post(client, "/sessions", {"agreement_id": agreement, **HELD}, "reused")

    other = post(
        client,
        "/sessions",
        {"agreement_id": agreement, **HELD, "delivered_quantity": 41},
        "reused",
    )

    assert other.status_code == 422, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["title"] == "Idempotency key reused"
    assert sessions_of(client, agreement) == [first.json()["id"]]


def test_keys_belong_to_the_api_key_that_sent_them(client: TestClient, world: World) -> None:
    agreement = world.agreement(["drug_counselling"], partner="dinkes")
    world.settle()
    body = {"agreement_id": agreement, "programme_kind": "drug_counselling",
            "scheduled_on": "2024-06-10"}  # fmt: skip

    by_staff = post(client, "/sessions", body, "shared-key")
    by_partner = post(client, "/sessions", body, "shared-key", **auth("partner-own"))

    assert (by_staff.status_code, by_partner.status_code) == (201, 201), by_partner.text
    assert by_staff.json()["id"] != by_partner.json()["id"]
    assert "Idempotent-Replayed" not in by_partner.headers


def test_a_malformed_key_is_a_validation_error(client: TestClient, world: World) -> None:
    agreement = world.agreement(["book_loan"], partner="dispersip")
    world.settle()

    for key in ("with space", "x" * 256, ""):
        response = post(client, "/sessions", {"agreement_id": agreement, **HELD}, key)
        assert response.status_code == 422, (key, response.text)
    assert sessions_of(client, agreement) == []


def test_a_sale_sent_twice_with_one_key_is_recorded_once(client: TestClient, world: World) -> None:
    trade = world.agreement(["product_sales"], partner="disdag")
    world.settle()
    body = {
        "agreement_id": trade,
        "sold_on": "2024-03-02",
        "buyer_type": "public",
        "lines": [{"product": "sapu", "quantity": 5, "unit": "pieces", "unit_price_idr": 15_000}],
    }

    first = post(client, "/sales", body, "sale-1")
    again = post(client, "/sales", body, "sale-1")
    changed = post(client, "/sales", {**body, "buyer_type": "government"}, "sale-1")

    assert (first.status_code, again.status_code, changed.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    sales = client.get("/sales", params={"agreement": trade}, headers=STAFF).json()["data"]
    assert [s["id"] for s in sales] == [first.json()["id"]]


def test_twins_sent_at_once_with_one_key_get_one_record_and_the_same_answer(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["book_loan"], partner="dispersip")
    world.settle()
    body = {"agreement_id": agreement, **HELD}

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: post(client, "/sessions", body, "twin"), range(8)))

    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
    assert sessions_of(client, agreement) == [answers[0].json()["id"]]
