"""Sales of inmates' products under the trade agreement, and their monthly totals."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.programs.support import STAFF, World, refusal


def sell(client: TestClient, agreement: str, sold_on: str, buyer: str, *lines: Any) -> Any:
    body = {
        "agreement_id": agreement,
        "sold_on": sold_on,
        "buyer_type": buyer,
        "lines": [
            {"product": p, "quantity": q, "unit": "pieces", "unit_price_idr": price}
            for p, q, price in lines
        ],
    }
    return client.post("/sales", json=body, headers=STAFF)


def test_sales_are_totalled_per_month_buyer_and_product(client: TestClient, world: World) -> None:
    trade = world.agreement(["product_sales"], partner="disdag")
    world.settle()
    for response in (
        sell(client, trade, "2024-03-02", "public", ("tas purun", 2, 85_000), ("sapu", 5, 15_000)),
        sell(client, trade, "2024-03-28", "government", ("tas purun", 10, 80_000)),
        sell(client, trade, "2024-04-01", "public", ("sapu", 1, 15_000)),
    ):
        assert response.status_code == 201, response.text

    report = client.get("/reports/sales", params={"period": "2024-03"}, headers=STAFF).json()

    assert (report["sales"], report["total_idr"]) == (2, 170_000 + 75_000 + 800_000)
    assert {t["key"]: t["total_idr"] for t in report["by_buyer_type"]} == {
        "government": 800_000,
        "public": 245_000,
    }
    assert {p["product"]: p["quantity"] for p in report["by_product"]} == {
        "sapu": 5,
        "tas purun": 12,
    }
    march = client.get("/sales", params={"from": "2024-03-01", "to": "2024-03-31"}, headers=STAFF)
    assert [s["total_idr"] for s in march.json()["data"]] == [245_000, 800_000]
    assert march.json()["data"][0]["lines"][1]["amount_idr"] == 75_000


def test_a_sale_under_an_agreement_without_product_sales_is_refused(
    client: TestClient, world: World
) -> None:
    library = world.agreement(["mobile_library"], partner="dispersip")
    world.settle()

    response = sell(client, library, "2024-03-02", "public", ("tas purun", 1, 85_000))

    assert refusal(response) == "kind_not_covered"


def test_a_period_that_is_not_a_month_is_a_validation_error(client: TestClient) -> None:
    response = client.get("/reports/sales", params={"period": "2024-13"}, headers=STAFF)

    assert response.status_code == 422
