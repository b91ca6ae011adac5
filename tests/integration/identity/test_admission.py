"""Admitting people over the API: masked NIKs, malformed NIKs kept out, re-admission."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.identity.orm import TABLES
from tests.integration.identity.support import (
    AHMAD_NIK,
    AUDITOR,
    MASKED,
    STAFF,
    Api,
    engine_of,
    inmate_row,
    person,
)


def everything_stored(client: TestClient) -> str:
    """Every row of every identity table, as text."""
    engine = engine_of(client)
    dump = []
    with engine.connect() as connection:
        for model in TABLES:
            table = model.__tablename__
            for row in connection.execute(sa.text(f"SELECT * FROM {table}")):
                dump.append(repr(tuple(row)))
    return "\n".join(dump)


def test_an_admitted_person_is_created_and_shown_with_the_nik_masked(
    client: TestClient, api: Api
) -> None:
    response = client.post("/inmates", json=person("AI-001/2024"), headers=STAFF)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "imported" and body["possible_duplicates"] == []
    one = client.get(f"/inmates/{body['id']}", headers=AUDITOR)
    listing = client.get("/inmates", headers=AUDITOR)
    assert one.json()["nik_masked"] == MASKED
    assert one.json()["nik_status"] == "unverified"
    assert one.json()["custody_status"] == "detainee"
    assert one.json()["custody_periods"] == [
        {"facility": "rutan-barabai", "since": "2024-01-10", "until": None}
    ]
    assert listing.json()["count"] == 1
    for text in (response.text, one.text, listing.text):
        assert AHMAD_NIK not in text
    row = inmate_row(engine_of(client), body["id"])
    assert row["nik_hash"] and row["nik_ciphertext"]
    assert AHMAD_NIK.encode() not in bytes(row["nik_ciphertext"])


@pytest.mark.parametrize(
    "malformed", ["630706120385001", "63070612O3850001", "6307-0612-ABCD-0001"]
)
def test_a_malformed_nik_is_admitted_as_invalid_and_its_value_is_stored_nowhere(
    client: TestClient, api: Api, malformed: str
) -> None:
    person_id = api.admit(person("AI-002/2024", nik=malformed))

    shown = api.inmate(person_id)
    assert shown["nik_status"] == "invalid"
    assert shown["nik_problems"] == ["not_16_digits"]
    assert shown["nik_masked"] == "**.**.**.******.****"
    row = inmate_row(engine_of(client), person_id)
    assert row["nik_hash"] is None and row["nik_ciphertext"] is None
    assert malformed not in everything_stored(client)
    digits = "".join(ch for ch in malformed if ch.isdigit())
    assert digits not in everything_stored(client)


def test_a_nik_that_contradicts_the_recorded_birth_date_is_invalid_with_its_reason(
    client: TestClient, api: Api
) -> None:
    person_id = api.admit(person("AI-003/2024", birth_date="1986-03-12"))

    shown = api.inmate(person_id)
    assert shown["nik_status"] == "invalid"
    assert shown["nik_problems"] == ["birth_date_mismatch"]
    assert shown["nik_masked"] == MASKED


def test_a_person_admitted_without_a_nik_has_it_missing(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("AI-004/2024", nik=None))

    shown = api.inmate(person_id)
    assert (shown["nik_status"], shown["nik_masked"]) == ("missing", None)


def test_admitting_the_same_register_number_with_the_same_data_changes_nothing(
    client: TestClient, api: Api
) -> None:
    first = client.post("/inmates", json=person("AI-005/2024"), headers=STAFF).json()

    again = client.post("/inmates", json=person("AI-005/2024"), headers=STAFF)

    assert again.status_code == 201
    assert again.json() == {**first, "outcome": "unchanged"}
    assert api.inmate(first["id"])["version"] == 1


def test_admitting_the_same_register_number_with_a_new_category_updates_the_category(
    client: TestClient, api: Api
) -> None:
    person_id = api.admit(person("AI-006/2024"))

    again = client.post("/inmates", json=person("AI-006/2024", category="B.I"), headers=STAFF)

    assert again.json()["outcome"] == "updated"
    assert api.inmate(person_id)["custody_status"] == "convict"


def test_the_same_register_number_with_other_personal_data_is_refused_as_a_problem(
    client: TestClient, api: Api
) -> None:
    api.admit(person("AI-007/2024"))

    response = client.post(
        "/inmates", json=person("AI-007/2024", name="Budi Santoso"), headers=STAFF
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "register_number_taken"
    assert AHMAD_NIK not in response.text
    assert client.get("/inmates", headers=AUDITOR).json()["count"] == 1


def test_an_admission_that_breaks_the_rules_of_the_record_is_refused(client: TestClient) -> None:
    response = client.post(
        "/inmates", json=person("AI-008/2024", birth_date="2024-02-01"), headers=STAFF
    )

    assert response.status_code == 422
    assert response.json()["code"] == "born_after_admission"
