"""Roles: staff do everything, a partner agency only its own records, auditors only read."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.programs.support import (
    OTHER_PARTNER,
    OWN_PARTNER,
    STAFF,
    World,
    auth,
)

OWN, OTHER, AUDITOR = auth("partner-own"), auth("partner-other"), auth("auditor")


def schedule(client: TestClient, agreement: str, headers: dict[str, str]) -> str:
    response = client.post(
        "/sessions",
        json={
            "agreement_id": agreement,
            "programme_kind": "mobile_clinic",
            "scheduled_on": "2024-05-02",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_partner_records_and_sees_only_its_own_sessions(client: TestClient, world: World) -> None:
    own = world.agreement(["mobile_clinic"], partner=OWN_PARTNER)
    other = world.agreement(["mobile_clinic"], partner=OTHER_PARTNER)
    person = world.admit("B.I-020/2024")
    world.settle()
    own_session = schedule(client, own, OWN)
    other_session = schedule(client, other, STAFF)

    listed = client.get("/sessions", headers=OWN).json()
    peek = client.get(f"/sessions/{other_session}", headers=OWN)
    record_other = client.post(
        f"/sessions/{other_session}/held",
        json={"held_on": "2024-05-02", "attendance": [person]},
        headers=OWN,
    )
    under_other = client.post(
        "/sessions",
        json={
            "agreement_id": other,
            "programme_kind": "mobile_clinic",
            "scheduled_on": "2024-05-02",
        },
        headers=OWN,
    )
    asked_for_other = client.get("/sessions", params={"partner": OTHER_PARTNER}, headers=OWN)

    assert [s["id"] for s in listed["data"]] == [own_session]
    assert (peek.status_code, record_other.status_code, under_other.status_code) == (404, 404, 404)
    assert asked_for_other.status_code == 404
    assert client.get(f"/sessions/{own_session}", headers=OWN).status_code == 200
    assert client.get("/sessions", headers=STAFF).json()["count"] == 2


def test_an_auditor_reads_everything_and_changes_nothing(client: TestClient, world: World) -> None:
    agreement = world.agreement(["mobile_clinic"])
    world.settle()
    session = schedule(client, agreement, STAFF)

    assert client.get("/sessions", headers=AUDITOR).json()["count"] == 1
    assert client.get(f"/sessions/{session}", headers=AUDITOR).status_code == 200
    assert client.get("/programme-kinds", headers=AUDITOR).status_code == 200
    cancel = client.post(f"/sessions/{session}/cancel", json={"reason": "x"}, headers=AUDITOR)
    assert cancel.status_code == 403


def test_calls_without_a_valid_key_are_unauthorized(client: TestClient) -> None:
    assert client.get("/sessions").status_code == 401
    assert client.get("/sessions", headers={"X-API-Key": "nope"}).status_code == 401


def test_the_programme_kinds_are_the_seeded_data(client: TestClient) -> None:
    kinds = {k["code"]: k for k in client.get("/programme-kinds", headers=STAFF).json()}

    assert len(kinds) == 13
    assert kinds["job_training"]["outcome"] == "certificate"
    assert kinds["mobile_clinic"]["quantity_rule"] == "sessions"
    assert kinds["equivalency_class"]["label_id"].startswith("Kelas kejar paket")
