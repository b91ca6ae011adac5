"""Asynchronous search: acknowledgement, txn/status polling, callback delivery."""

from __future__ import annotations

import httpx

from services.civil_registry.population import Population
from tests.integration.civil_registry.conftest import (
    AUTH,
    OTHER_AUTH,
    Registry,
    callback_receiver,
    eventually,
    full_verify,
    item,
    search_body,
)


async def status(
    registry: Registry, transaction_id: str, headers: dict[str, str] = AUTH
) -> httpx.Response:
    return await registry.http.post(
        "/registry/txn/status", json={"transaction_id": transaction_id}, headers=headers
    )


async def test_async_search_is_acknowledged_then_polled(
    registry: Registry, population: Population
) -> None:
    await registry.faults(async_delay_ms=300)
    people = [population.person(i) for i in range(1000)]
    body = search_body([item(f"ref-{i}", p.nik, **full_verify(p)) for i, p in enumerate(people)])
    txn = body["message"]["transaction_id"]

    ack = await registry.http.post("/registry/async/search", json=body, headers=AUTH)
    assert ack.status_code == 202, ack.text
    message = ack.json()["message"]
    assert message["ack_status"] == "ACK"
    assert message["transaction_id"] == txn
    correlation_id = message["correlation_id"]

    pending = await status(registry, txn)
    assert pending.status_code == 202
    assert pending.json()["status"] == "pending"

    # Another client cannot see this transaction.
    assert (await status(registry, txn, OTHER_AUTH)).status_code == 404

    async def done() -> bool:
        return (await status(registry, txn)).status_code == 200

    await eventually(done)
    result = (await status(registry, txn)).json()
    assert result["header"]["action"] == "on-search"
    assert result["header"]["total_count"] == 1000
    assert result["message"]["transaction_id"] == txn
    assert result["message"]["correlation_id"] == correlation_id
    responses = result["message"]["search_response"]
    assert [r["reference_id"] for r in responses] == [f"ref-{i}" for i in range(1000)]
    assert all(set(r["data"]["verification"].values()) == {"SESUAI"} for r in responses)
    assert [r["data"]["alive"] for r in responses] == [p.alive for p in people]


async def test_async_limits_and_unknown_transactions(
    registry: Registry, population: Population
) -> None:
    nik = population.person(0).nik
    body = search_body([item(f"r{i}", nik) for i in range(1001)])
    response = await registry.http.post("/registry/async/search", json=body, headers=AUTH)
    assert response.status_code == 413
    unknown = await status(registry, "no-such-transaction")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "rjct.transaction_id.unknown"


async def test_result_is_posted_to_the_callback_url(
    registry: Registry, population: Population
) -> None:
    p = population.person(9)
    async with callback_receiver() as receiver:
        body = search_body(
            [item("cb-1", p.nik, mother_name=p.mother_name)], callback_url=receiver.url
        )
        ack = await registry.http.post("/registry/async/search", json=body, headers=AUTH)
        assert ack.status_code == 202
        await receiver.wait(1)
    delivered = receiver.received[0]
    assert delivered["header"]["action"] == "on-search"
    assert delivered["message"]["transaction_id"] == body["message"]["transaction_id"]
    assert delivered["message"]["correlation_id"] == ack.json()["message"]["correlation_id"]
    assert delivered["message"]["search_response"][0]["data"]["verification"] == {
        "mother_name": "SESUAI"
    }
    # The same result stays available by polling.
    polled = await status(registry, body["message"]["transaction_id"])
    assert polled.json() == delivered


async def test_callback_is_retried_until_accepted(
    registry: Registry, population: Population
) -> None:
    p = population.person(10)
    async with callback_receiver(statuses=[500, 503]) as receiver:
        body = search_body([item("cb-2", p.nik)], callback_url=receiver.url)
        ack = await registry.http.post("/registry/async/search", json=body, headers=AUTH)
        assert ack.status_code == 202
        await receiver.wait(1)
        assert receiver.attempts == 3
    assert receiver.received[0]["message"]["search_response"][0]["data"]["nik_found"] is True


async def test_callback_gives_up_after_the_configured_attempts(
    registry: Registry, population: Population
) -> None:
    p = population.person(11)
    async with callback_receiver(statuses=[500] * 10) as receiver:
        body = search_body([item("cb-3", p.nik)], callback_url=receiver.url)
        await registry.http.post("/registry/async/search", json=body, headers=AUTH)
        await registry.service.drain()
        assert receiver.attempts == 4
        assert receiver.received == []
    assert (await status(registry, body["message"]["transaction_id"])).status_code == 200
