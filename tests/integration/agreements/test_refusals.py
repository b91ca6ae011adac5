"""Refused requests answer with problem details that name the problem."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.integration.agreements.support import SIGNATORIES, STAFF, Api

PROBLEM = "application/problem+json"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["instance"] == response.request.url.path
    return body


def draft_body(partner_id: str, start: str, end: str, kinds: list[str]) -> dict[str, Any]:
    return {
        "partner_id": partner_id,
        "facility_number": "PKS-1",
        "partner_number": "P-1",
        "title": "Health services",
        "programme_kinds": kinds,
        "start_date": start,
        "end_date": end,
    }


def test_a_period_over_three_years_is_refused(client: TestClient, api: Api) -> None:
    partner_id = api.register_partner("dinkes")
    response = client.post(
        "/agreements",
        json=draft_body(partner_id, "2024-01-01", "2027-01-02", ["mobile_clinic"]),
        headers=STAFF,
    )
    body = problem(response, 422)
    assert body["code"] == "period_out_of_range"
    assert "3 years and 2 days" in body["detail"]
    assert "1 to 3 years" in body["detail"]


def test_a_period_under_one_year_is_refused(client: TestClient, api: Api) -> None:
    partner_id = api.register_partner("dinkes")
    response = client.post(
        "/agreements",
        json=draft_body(partner_id, "2024-01-01", "2024-12-30", ["mobile_clinic"]),
        headers=STAFF,
    )
    body = problem(response, 422)
    assert body["code"] == "period_out_of_range"
    assert "365 days" in body["detail"]


def test_an_agreement_starting_before_its_signing_is_refused(client: TestClient, api: Api) -> None:
    partner_id = api.register_partner("dinkes")
    agreement_id = api.draft(partner_id, "2024-01-01", "2026-12-31", ["mobile_clinic"])
    response = client.post(
        f"/agreements/{agreement_id}/sign",
        json={"signed_on": "2024-01-15", "signatories": SIGNATORIES},
        headers=STAFF,
    )
    body = problem(response, 422)
    assert body["code"] == "starts_before_signing"
    assert "2024-01-01" in body["detail"] and "2024-01-15" in body["detail"]
    assert api.agreement(agreement_id)["status"] == "draft"


def test_an_overlap_with_an_active_agreement_of_the_same_partner_and_kind_is_refused(
    client: TestClient, api: Api
) -> None:
    partner_id = api.register_partner("dinkes")
    api.active_agreement(partner_id, ["mobile_clinic", "drug_counselling"], "PKS-IN-FORCE")
    overlapping = api.draft(partner_id, "2025-01-01", "2025-12-31", ["drug_counselling"], "PKS-2")
    response = client.post(
        f"/agreements/{overlapping}/sign",
        json={"signed_on": "2024-05-01", "signatories": SIGNATORIES},
        headers=STAFF,
    )
    body = problem(response, 409)
    assert body["code"] == "agreement_overlap"
    assert "PKS-IN-FORCE" in body["detail"] and "drug_counselling" in body["detail"]
    # another partner may cover the same kind at the same time
    other = api.register_partner("dinkes-2", "health")
    api.active_agreement(other, ["drug_counselling"], "PKS-OTHER")


def test_a_programme_kind_outside_the_partners_sectors_is_refused(
    client: TestClient, api: Api
) -> None:
    partner_id = api.register_partner("dinkes")
    response = client.post(
        "/agreements",
        json=draft_body(partner_id, "2024-01-01", "2026-12-31", ["mobile_library"]),
        headers=STAFF,
    )
    body = problem(response, 422)
    assert body["code"] == "programme_kind_outside_sectors"
    assert "mobile_library" in body["detail"] and "dinkes" in body["detail"]


def test_unknown_ids_are_not_found(client: TestClient, api: Api) -> None:
    partner_id = api.register_partner("dinkes")
    sign = {"signed_on": "2024-01-01", "signatories": SIGNATORIES}
    renewal = {
        "facility_number": "R",
        "partner_number": "R",
        "start_date": "2027-01-01",
        "end_date": "2027-12-31",
    }
    item = {
        "programme_kind": "mobile_clinic",
        "description": "visits",
        "target_quantity": 1,
        "unit": "visits",
        "period_start": "2024-01-01",
        "period_end": "2024-12-31",
        "responsible": "partner",
    }
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/partners/{UNKNOWN}", None),
        ("PATCH", f"/partners/{UNKNOWN}", {"name": "x"}),
        ("GET", f"/agreements/{UNKNOWN}", None),
        ("POST", f"/agreements/{UNKNOWN}/sign", sign),
        (
            "POST",
            f"/agreements/{UNKNOWN}/terminate",
            {"reason": "x", "terminated_on": "2024-01-01"},
        ),
        ("POST", f"/agreements/{UNKNOWN}/renewals", renewal),
        (
            "POST",
            f"/agreements/{UNKNOWN}/amendments",
            {"rationale": "x", "effective_on": "2024-01-01", "title": "y"},
        ),
        ("POST", f"/agreements/{UNKNOWN}/action-plan/items", item),
        ("GET", f"/agreements/{UNKNOWN}/documents/{'0' * 64}", None),
        ("POST", "/agreements", draft_body(UNKNOWN, "2024-01-01", "2026-12-31", ["mobile_clinic"])),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=STAFF)
        found = problem(response, 404)
        assert UNKNOWN in found["detail"], (method, path, found)
    upload = client.post(
        f"/agreements/{UNKNOWN}/documents", files={"file": ("a.pdf", b"x")}, headers=STAFF
    )
    assert UNKNOWN in problem(upload, 404)["detail"]
    assert partner_id


def test_an_invalid_body_is_refused_with_errors_and_without_echoing_the_input(
    client: TestClient, api: Api
) -> None:
    partner_id = api.register_partner("dinkes")
    secret = "6307064512900001"  # shaped like a NIK: must never come back
    body = draft_body(partner_id, f"2024-01-01{secret}", "2026-12-31", ["mobile_clinic"])
    body["title"] = ""
    body["notes"] = secret

    response = client.post("/agreements", json=body, headers=STAFF)

    found = problem(response, 422)
    assert found["detail"]
    where = sorted(tuple(e["loc"]) for e in found["errors"])
    assert where == [("body", "notes"), ("body", "start_date"), ("body", "title")]
    assert all(set(e) == {"loc", "msg", "type"} for e in found["errors"])
    assert secret not in response.text
    assert "6307" not in response.text


def test_concurrent_registrations_of_one_partner_code_register_it_once(
    client: TestClient,
) -> None:
    """The losers of the race are refused (422 taken, or 409 conflict), never a 500."""
    callers = 8
    start = threading.Barrier(callers)
    responses: list[httpx.Response] = []

    def register() -> None:
        start.wait(timeout=10)
        body = {"code": "dinkes", "name": "Dinas Kesehatan", "kind": "health"}
        responses.append(client.post("/partners", json=body, headers=STAFF))

    threads = [threading.Thread(target=register) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {201, 409, 422}, statuses
    for response in responses:
        if response.status_code != 201:
            problem(response, response.status_code)
    assert [p["code"] for p in client.get("/partners", headers=STAFF).json()] == ["dinkes"]
