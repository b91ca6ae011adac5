"""Sessions through the API, checked against read models fed from the other services' streams."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import redis
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from shared.events.schema_export import SCHEMAS_DIR, schema_file_name
from tests.integration.programs.support import (
    FACILITY,
    OTHER_FACILITY,
    STAFF,
    World,
    published,
    refusal,
)
from tests.streams import wait_until


def schedule(client: TestClient, **body: Any) -> Any:
    return client.post("/sessions", json=body, headers=STAFF)


def session_id(response: Any) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def validate(event: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS_DIR / schema_file_name(event["type"], 1)).read_text())
    Draft202012Validator(schema).validate(event)


def test_a_scheduled_then_held_session_publishes_its_state_after_each_step(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    agreement = world.agreement(["mobile_clinic", "drug_counselling"])
    item = world.item(agreement, "drug_counselling")
    people = [world.admit("B.I-001/2024"), world.admit("B.I-002/2024")]
    world.settle()

    sid = session_id(
        schedule(
            client,
            agreement_id=agreement,
            programme_kind="drug_counselling",
            scheduled_on="2024-03-05",
            action_plan_item_id=item,
        )
    )
    held = client.post(
        f"/sessions/{sid}/held",
        json={"held_on": "2024-03-06", "attendance": people},
        headers=STAFF,
    )
    assert held.status_code == 204, held.text

    events = wait_until(lambda: published(streams, "sinergi.session.held", sid), what="held")
    [scheduled] = published(streams, "sinergi.session.scheduled", sid)
    for event in (scheduled, events[0]):
        validate(event)
        assert (event["source"], event["facility"]) == ("sinergi/programs", FACILITY)
    assert scheduled["sequence"] == 1
    assert scheduled["data"]["session"]["status"] == "scheduled"
    assert events[0]["sequence"] == 2
    assert events[0]["data"]["session"] == {
        "session_id": sid,
        "agreement_id": agreement,
        "action_plan_item_id": item,
        "partner_code": "dinkes",
        "programme_kind": "drug_counselling",
        "status": "held",
        "scheduled_on": "2024-03-05",
        "held_on": "2024-03-06",
        "delivered_quantity": 2,
        "unit": "participants",
        "participant_count": 2,
    }
    detail = client.get(f"/sessions/{sid}", headers=STAFF).json()
    assert sorted(a["register_number"] for a in detail["attendance"]) == [
        "B.I-001/2024",
        "B.I-002/2024",
    ]


def test_a_session_recorded_held_at_once_and_then_cancelled_counts_nothing(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    agreement = world.agreement(["book_loan"], partner="dispersip")
    world.settle()

    sid = session_id(
        schedule(
            client,
            agreement_id=agreement,
            programme_kind="book_loan",
            held_on="2024-04-02",
            delivered_quantity=40,
        )
    )
    cancel = client.post(f"/sessions/{sid}/cancel", json={"reason": "counted twice"}, headers=STAFF)
    assert cancel.status_code == 204, cancel.text

    [cancelled] = wait_until(
        lambda: published(streams, "sinergi.session.cancelled", sid), what="cancelled"
    )
    validate(cancelled)
    assert [e["type"] for e in published(streams, "sinergi.session.held", sid)] == [
        "sinergi.session.held"
    ]
    assert cancelled["sequence"] == 3
    assert cancelled["data"]["reason"] == "counted twice"
    assert cancelled["data"]["session"]["status"] == "cancelled"
    assert cancelled["data"]["session"]["delivered_quantity"] == 0


def test_a_reported_kind_refuses_a_held_session_without_its_quantity(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["waste_management"], partner="dlh")
    world.settle()

    response = schedule(
        client, agreement_id=agreement, programme_kind="waste_management", held_on="2024-04-02"
    )

    assert refusal(response) == "delivered_quantity_required"


def test_sessions_past_their_date_and_unrecorded_are_listed_as_overdue(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["mobile_clinic"])
    world.settle()
    late = session_id(
        schedule(
            client,
            agreement_id=agreement,
            programme_kind="mobile_clinic",
            scheduled_on="2024-05-01",
        )
    )
    session_id(
        schedule(
            client,
            agreement_id=agreement,
            programme_kind="mobile_clinic",
            scheduled_on="2024-07-01",
        )
    )

    overdue = client.get("/sessions", params={"overdue": "true"}, headers=STAFF).json()
    everything = client.get("/sessions", params={"agreement": agreement}, headers=STAFF).json()

    assert [s["id"] for s in overdue["data"]] == [late]
    assert overdue["data"][0]["overdue"] is True
    assert everything["count"] == 2


# --- refusals -------------------------------------------------------------------------------


def test_a_session_under_a_draft_or_unknown_agreement_has_no_agreement_in_force(
    client: TestClient, world: World
) -> None:
    draft = world.agreement(["mobile_clinic"], status="draft")
    world.settle()

    for agreement in (draft, "no-such-agreement"):
        response = schedule(
            client,
            agreement_id=agreement,
            programme_kind="mobile_clinic",
            scheduled_on="2024-03-05",
        )
        assert refusal(response) == "no_agreement_in_force"


def test_a_session_dated_after_the_agreement_ended_is_refused_as_expired_on_that_date(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["mobile_clinic"], start=date(2021, 3, 1), end=date(2024, 2, 29))
    world.set_status(agreement, "expired")
    world.settle()

    on_time = schedule(
        client, agreement_id=agreement, programme_kind="mobile_clinic", held_on="2024-02-20"
    )
    late = schedule(
        client, agreement_id=agreement, programme_kind="mobile_clinic", scheduled_on="2024-03-05"
    )

    assert on_time.status_code == 201, on_time.text
    assert refusal(late) == "agreement_expired_on_date"


def test_a_terminated_agreement_takes_sessions_only_before_its_termination(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["fire_drill"], partner="satpolpp")
    world.set_status(agreement, "terminated", terminated_on=date(2024, 4, 1))
    world.settle()

    before = schedule(
        client, agreement_id=agreement, programme_kind="fire_drill", scheduled_on="2024-03-31"
    )
    after = schedule(
        client, agreement_id=agreement, programme_kind="fire_drill", scheduled_on="2024-04-01"
    )

    assert before.status_code == 201, before.text
    assert refusal(after) == "no_agreement_in_force"


def test_a_kind_the_agreement_does_not_cover_is_refused(client: TestClient, world: World) -> None:
    agreement = world.agreement(["mobile_clinic"])
    world.settle()

    response = schedule(
        client, agreement_id=agreement, programme_kind="drug_counselling", scheduled_on="2024-03-05"
    )

    assert refusal(response) == "kind_not_covered"


def test_an_item_of_another_kind_is_a_mismatch(client: TestClient, world: World) -> None:
    agreement = world.agreement(["mobile_clinic", "drug_counselling"])
    item = world.item(agreement, "drug_counselling")
    world.settle()

    response = schedule(
        client,
        agreement_id=agreement,
        programme_kind="mobile_clinic",
        scheduled_on="2024-03-05",
        action_plan_item_id=item,
    )

    assert refusal(response) == "item_mismatch"


def test_attendance_of_someone_not_in_custody_there_names_the_register_number(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["drug_counselling"])
    elsewhere = world.admit("A.II-077/2024", facility=OTHER_FACILITY)
    world.settle()

    response = schedule(
        client,
        agreement_id=agreement,
        programme_kind="drug_counselling",
        held_on="2024-03-05",
        attendance=[elsewhere],
    )

    assert refusal(response) == "not_in_custody"
    assert "A.II-077/2024" in response.json()["detail"]
    assert client.get("/sessions", headers=STAFF).json()["count"] == 0


def test_cancelling_twice_is_a_conflict(client: TestClient, world: World) -> None:
    agreement = world.agreement(["mobile_clinic"])
    world.settle()
    sid = session_id(
        schedule(
            client,
            agreement_id=agreement,
            programme_kind="mobile_clinic",
            scheduled_on="2024-05-01",
        )
    )
    body = {"reason": "rain"}
    assert client.post(f"/sessions/{sid}/cancel", json=body, headers=STAFF).status_code == 204

    assert refusal(client.post(f"/sessions/{sid}/cancel", json=body, headers=STAFF), 409) == (
        "cannot_cancel"
    )


def test_a_session_outside_its_items_period_is_a_mismatch(client: TestClient, world: World) -> None:
    agreement = world.agreement(["mobile_clinic"])
    item = world.item(agreement, "mobile_clinic")  # runs through 2024
    world.settle()

    response = schedule(
        client,
        agreement_id=agreement,
        programme_kind="mobile_clinic",
        scheduled_on="2025-01-06",
        action_plan_item_id=item,
    )

    assert refusal(response) == "item_mismatch"
    assert "not on 2025-01-06" in response.json()["detail"]
