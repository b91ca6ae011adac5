"""NIK handling: the audited reveal, recording and correcting, review, lists and reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.identity.domain import MatchKind
from tests.integration.identity.support import (
    AHMAD_NIK,
    AUDITOR,
    PARTNER,
    REGISTRATION,
    RIZKY_NIK,
    SITI_NIK,
    STAFF,
    Api,
    engine_of,
    person,
)


def audit_rows(client: TestClient) -> list[dict[str, Any]]:
    with engine_of(client).connect() as connection:
        rows = connection.execute(
            sa.text("SELECT actor, action, purpose, person_id FROM access_audit ORDER BY id")
        ).mappings()
        return [dict(row) for row in rows]


def reveal(client: TestClient, person_id: str, headers: dict[str, str], **params: str) -> Any:
    return client.get(f"/inmates/{person_id}/nik", params=params, headers=headers)


def test_registration_reads_the_nik_in_clear_and_every_read_is_audited(
    client: TestClient, api: Api
) -> None:
    person_id = api.admit(person("AI-001/2024"))

    first = reveal(client, person_id, REGISTRATION, purpose="exam registration")
    second = reveal(client, person_id, REGISTRATION, purpose="training certificate")

    assert first.status_code == second.status_code == 200
    assert first.json() == {"nik": AHMAD_NIK}
    assert audit_rows(client) == [
        {"actor": "registration-officer", "action": "read_nik",
         "purpose": "exam registration", "person_id": person_id},
        {"actor": "registration-officer", "action": "read_nik",
         "purpose": "training certificate", "person_id": person_id},
    ]  # fmt: skip


@pytest.mark.parametrize("caller", [STAFF, AUDITOR, PARTNER], ids=["staff", "auditor", "partner"])
def test_no_role_but_registration_may_read_a_nik(
    client: TestClient, api: Api, caller: dict[str, str]
) -> None:
    person_id = api.admit(person("AI-001/2024"))

    response = reveal(client, person_id, caller, purpose="curiosity")

    assert response.status_code == 403
    assert AHMAD_NIK not in response.text
    assert audit_rows(client) == []


@pytest.mark.parametrize("params", [{}, {"purpose": ""}, {"purpose": "   "}])
def test_reading_a_nik_needs_a_stated_purpose(
    client: TestClient, api: Api, params: dict[str, str]
) -> None:
    person_id = api.admit(person("AI-001/2024"))

    response = reveal(client, person_id, REGISTRATION, **params)

    assert response.status_code == 422
    assert AHMAD_NIK not in response.text
    assert audit_rows(client) == []


def test_a_nik_too_malformed_to_keep_cannot_be_read(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("AI-001/2024", nik="63070612038500"))

    response = reveal(client, person_id, REGISTRATION, purpose="exam registration")

    assert response.status_code == 422
    assert response.json()["code"] == "no_nik"


def test_recording_a_nik_checks_it_at_once_and_is_audited(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("AI-001/2024", nik=None))

    wrong = client.put(f"/inmates/{person_id}/nik", json={"nik": "6307061203850"},
                       headers=REGISTRATION)  # fmt: skip
    mismatched = client.put(f"/inmates/{person_id}/nik", json={"nik": SITI_NIK},
                            headers=REGISTRATION)  # fmt: skip
    right = client.put(f"/inmates/{person_id}/nik", json={"nik": "6307 0612 0385 0001"},
                       headers=REGISTRATION)  # fmt: skip

    assert [r.json() for r in (wrong, mismatched, right)] == [
        {"nik_status": "invalid"}, {"nik_status": "invalid"}, {"nik_status": "unverified"},
    ]  # fmt: skip
    shown = api.inmate(person_id)
    assert (shown["nik_masked"], shown["nik_problems"]) == ("63.07.**.******.****", [])
    assert reveal(client, person_id, REGISTRATION, purpose="check").json() == {"nik": AHMAD_NIK}
    assert [(r["action"], r["actor"]) for r in audit_rows(client)][:3] == [
        ("record_nik", "registration-officer")
    ] * 3


def test_correcting_a_checked_nik_sends_it_back_to_unverified(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("AI-001/2024"))
    api.record_match(person_id, MatchKind.NOT_FOUND)

    response = client.put(
        f"/inmates/{person_id}/nik", json={"nik": "6307061203850002"}, headers=REGISTRATION
    )

    assert response.json() == {"nik_status": "unverified"}
    assert api.inmate(person_id)["last_match"] is None


def test_replacing_an_unverified_nik_with_another_well_formed_one_is_saved(
    client: TestClient, api: Api
) -> None:
    person_id = api.admit(person("AI-001/2024"))

    response = client.put(
        f"/inmates/{person_id}/nik", json={"nik": "6307061203850009"}, headers=REGISTRATION
    )

    assert response.json() == {"nik_status": "unverified"}
    assert reveal(client, person_id, REGISTRATION, purpose="check").json() == {
        "nik": "6307061203850009"
    }
    assert api.inmate(person_id)["version"] == 2


def test_staff_may_not_record_a_nik(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("AI-001/2024", nik=None))

    response = client.put(f"/inmates/{person_id}/nik", json={"nik": AHMAD_NIK}, headers=STAFF)

    assert response.status_code == 403
    assert api.inmate(person_id)["nik_status"] == "missing"


def review(client: TestClient, person_id: str, **body: str) -> Any:
    return client.post(f"/inmates/{person_id}/review", json=body, headers=REGISTRATION)


def test_an_unverified_nik_cannot_be_reviewed(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("AI-001/2024"))

    response = review(client, person_id, decision="confirm")

    assert response.status_code == 422
    assert response.json()["code"] == "not_reviewable"


def test_an_officer_confirms_a_match_and_the_review_is_noted(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("AI-001/2024"))
    api.record_match(person_id, MatchKind.MATCHED)

    response = review(client, person_id, decision="confirm")

    assert response.json() == {"nik_status": "validated"}
    assert api.inmate(person_id)["review_note"] == "validated by registration-officer"
    assert review(client, person_id, decision="confirm").status_code == 422


def test_rejecting_a_partial_match_needs_a_reason(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("AI-001/2024"))
    api.record_match(person_id, MatchKind.PARTIAL, "mother_name")

    unexplained = review(client, person_id, decision="reject")
    explained = review(client, person_id, decision="reject", reason="another person's NIK")

    assert unexplained.status_code == 422
    assert unexplained.json()["code"] == "reason_missing"
    assert explained.json() == {"nik_status": "rejected"}
    assert api.inmate(person_id)["review_note"] == (
        "rejected by registration-officer: another person's NIK"
    )


def test_the_lists_show_who_awaits_review_and_who_needs_recording(
    client: TestClient, api: Api
) -> None:
    no_nik = api.admit(person("AI-001/2024", nik=None))
    unknown = api.admit(person("AI-002/2024", "Budi", nik=RIZKY_NIK, birth_date="1992-11-20"))
    matched = api.admit(person("AI-003/2024", "Siti", nik=SITI_NIK, sex="P",
                               birth_date="1990-07-05", mother_name="Fatimah"))  # fmt: skip
    partial = api.admit(person("AI-004/2024"))
    unverified = api.admit(person("AI-005/2024", "Eko", nik="6307060909790005",
                                  birth_date="1979-09-09", mother_name="Nur"))  # fmt: skip
    released = api.admit(person("AI-006/2024", "Dedi", nik=None, birth_date="1970-01-01",
                                mother_name="Ani"))  # fmt: skip
    api.record_match(unknown, MatchKind.NOT_FOUND)
    api.record_match(matched, MatchKind.MATCHED)
    api.record_match(partial, MatchKind.PARTIAL, "birth_place")
    assert client.post(f"/inmates/{released}/release", json={"on": "2024-05-01"},
                       headers=STAFF).status_code == 204  # fmt: skip

    def ids(path: str) -> set[str]:
        response = client.get(path, headers=AUDITOR)
        assert response.status_code == 200
        return {p["id"] for p in response.json()["data"]}

    assert ids("/lists/awaiting-review") == {matched, partial}
    assert ids("/lists/needs-recording") == {no_nik, unknown}
    counts = client.get("/reports/nik-status", headers=AUDITOR).json()
    assert counts == {
        "facility": "rutan-barabai",
        "counts": {"missing": 1, "not_found": 1, "matched": 1, "partial": 1, "unverified": 1},
    }
    assert unverified not in ids("/lists/awaiting-review") | ids("/lists/needs-recording")


def test_the_usage_report_aggregates_the_audit_by_purpose_for_a_period(
    client: TestClient, api: Api
) -> None:
    ahmad = api.admit(person("AI-001/2024"))
    siti = api.admit(person("AI-002/2024", "Siti", nik=SITI_NIK, sex="P",
                            birth_date="1990-07-05", mother_name="Fatimah"))  # fmt: skip
    for person_id in (ahmad, siti, ahmad):
        reveal(client, person_id, REGISTRATION, purpose="exam registration")
    reveal(client, siti, REGISTRATION, purpose="training certificate")
    client.put(f"/inmates/{ahmad}/nik", json={"nik": AHMAD_NIK}, headers=REGISTRATION)
    today = datetime.now(UTC).date()
    period = {"period_start": (today - timedelta(days=1)).isoformat(),
              "period_end": (today + timedelta(days=1)).isoformat()}  # fmt: skip

    report = client.get("/reports/usage", params=period, headers=AUDITOR).json()
    earlier = client.get(
        "/reports/usage",
        params={"period_start": "2023-01-01", "period_end": "2023-06-30"},
        headers=AUDITOR,
    ).json()

    rows = {(r["action"], r["purpose"]): (r["accesses"], r["items"]) for r in report["rows"]}
    assert rows == {
        ("read_nik", "exam registration"): (3, 3),
        ("read_nik", "training certificate"): (1, 1),
        ("record_nik", "record or correct the NIK"): (1, 1),
    }
    assert {r["agreement_id"] for r in report["rows"]} == {None}
    assert earlier["rows"] == []
