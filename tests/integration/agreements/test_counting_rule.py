"""An action-plan item says what a held session adds to it; the rule travels in its facts."""

from __future__ import annotations

import redis
from fastapi.testclient import TestClient

from tests.integration.agreements.support import STAFF, Api, events_of, wait_until


def add_item(client: TestClient, agreement_id: str, **extra: str) -> str:
    response = client.post(
        f"/agreements/{agreement_id}/action-plan/items",
        json={
            "programme_kind": "equivalency_class",
            "description": "Kejar paket A, B dan C",
            "target_quantity": 96,
            "unit": "sesi",
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "responsible": "both",
            **extra,
        },
        headers=STAFF,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_an_item_carries_its_counting_rule_into_its_facts_and_views(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    partner_id = api.register_partner("disdik", kind="education")
    agreement_id = api.active_agreement(partner_id, ["equivalency_class"])
    sessions = add_item(client, agreement_id, counts="sessions")
    by_kind = add_item(client, agreement_id)

    items = {i["id"]: i for i in api.agreement(agreement_id)["action_plan"]}
    assert (items[sessions]["counts"], items[by_kind]["counts"]) == ("sessions", None)

    def published() -> dict[str, dict[str, object]] | None:
        facts = events_of(streams, type_="sinergi.action_plan.item_added")
        found = {e["data"]["item"]["item_id"]: e["data"]["item"] for e in facts}
        return found if {sessions, by_kind} <= set(found) else None

    added = wait_until(published, what="the item_added facts")
    assert added[sessions]["counts"] == "sessions"
    assert added[by_kind].get("counts") is None


def test_an_unknown_counting_rule_is_refused(client: TestClient, api: Api) -> None:
    partner_id = api.register_partner("disdik", kind="education")
    agreement_id = api.active_agreement(partner_id, ["equivalency_class"])
    response = client.post(
        f"/agreements/{agreement_id}/action-plan/items",
        json={
            "programme_kind": "equivalency_class",
            "description": "Kejar paket",
            "target_quantity": 96,
            "unit": "sesi",
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "responsible": "both",
            "counts": "hours",
        },
        headers=STAFF,
    )
    assert response.status_code == 422
