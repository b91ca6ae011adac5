"""What a held session adds to its action-plan item: the item's rule, else its kind's."""

from __future__ import annotations

from typing import Any

import redis
from fastapi.testclient import TestClient

from tests.integration.programs.support import STAFF, World, published, refusal
from tests.streams import wait_until


def hold(client: TestClient, agreement: str, kind: str, item: str, **held: Any) -> str:
    body = {
        "agreement_id": agreement,
        "programme_kind": kind,
        "action_plan_item_id": item,
        "held_on": "2024-03-06",
        **held,
    }
    response = client.post("/sessions", json=body, headers=STAFF)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def realised(client: TestClient) -> dict[str, int]:
    report = client.get("/reports/realisation", headers=STAFF).json()
    return {item["item_id"]: item["realised"] for item in report["items"]}


def held_fact(streams: redis.Redis, session_id: str) -> dict[str, Any]:
    events = wait_until(
        lambda: published(streams, "sinergi.session.held", session_id), what="the held fact"
    )
    return dict(events[-1]["data"]["session"])


def test_a_held_session_moves_a_sessions_item_by_one_and_a_participants_item_by_its_attendance(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    agreement = world.agreement(["job_training"])
    classes = world.item(agreement, "job_training", target=48, counts="sessions")
    trainees = world.item(agreement, "job_training", target=40, counts="participants")
    people = [world.admit(f"B.I-{n:03d}/2024") for n in range(1, 4)]
    world.settle()

    by_session = hold(client, agreement, "job_training", classes, attendance=people)
    by_people = hold(client, agreement, "job_training", trainees, attendance=people)

    assert realised(client) == {classes: 1, trainees: 3}
    session_fact = held_fact(streams, by_session)
    assert (session_fact["delivered_quantity"], session_fact["unit"]) == (1, "sessions")
    assert session_fact["participant_count"] == 3
    people_fact = held_fact(streams, by_people)
    assert (people_fact["delivered_quantity"], people_fact["unit"]) == (3, "participants")


def test_an_item_without_a_rule_counts_as_its_kind(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    agreement = world.agreement(["job_training"])
    item = world.item(agreement, "job_training")
    people = [world.admit(f"B.I-{n:03d}/2024") for n in range(1, 3)]
    world.settle()

    session = hold(client, agreement, "job_training", item, attendance=people)

    assert realised(client) == {item: 2}
    assert held_fact(streams, session)["delivered_quantity"] == 2


def test_a_reported_item_needs_the_quantity_and_others_refuse_it(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["fire_drill"])
    drills = world.item(agreement, "fire_drill", counts="sessions")
    reported = world.item(agreement, "fire_drill", counts="reported")
    world.settle()
    body = {
        "agreement_id": agreement,
        "programme_kind": "fire_drill",
        "held_on": "2024-03-06",
    }

    with_quantity = {**body, "action_plan_item_id": drills, "delivered_quantity": 5}
    response = client.post("/sessions", json=with_quantity, headers=STAFF)
    assert refusal(response) == "quantity_not_reported"
    without = {**body, "action_plan_item_id": reported}
    response = client.post("/sessions", json=without, headers=STAFF)
    assert refusal(response) == "delivered_quantity_required"

    hold(client, agreement, "fire_drill", reported, delivered_quantity=7)
    hold(client, agreement, "fire_drill", drills)
    assert realised(client) == {drills: 1, reported: 7}
