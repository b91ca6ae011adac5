"""Possible duplicates are flagged for review, never merged."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.identity.support import (
    AHMAD_NIK,
    AUDITOR,
    RIZKY_NIK,
    SITI_NIK,
    STAFF,
    Api,
    count_rows,
    engine_of,
    person,
)


def admitted(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/inmates", json=body, headers=STAFF)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def flags(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/duplicates", headers=AUDITOR)
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.json()
    return result


def test_a_second_person_with_the_same_nik_is_flagged_as_same_nik(client: TestClient) -> None:
    first = admitted(client, person("AI-001/2024"))

    second = admitted(client, person("AI-099/2024", name="Ahmad F.", mother_name="Aminah"))

    assert second["possible_duplicates"] == [first["id"]]
    [flag] = flags(client)
    assert (flag["person_id"], flag["other_id"], flag["reason"], flag["status"]) == (
        second["id"],
        first["id"],
        "same_nik",
        "open",
    )


def test_an_abbreviated_name_with_the_same_birth_date_and_mother_is_a_similar_identity(
    client: TestClient,
) -> None:
    full = admitted(
        client,
        person("AI-010/2024", "Muhammad Rizky", nik=RIZKY_NIK, birth_date="1992-11-20",
               mother_name="Hj. Noor Aisyah"),
    )  # fmt: skip

    short = admitted(
        client,
        person("AI-011/2024", "M. Rizky", nik=None, birth_date="1992-11-20",
               mother_name="Noor Aisyah"),
    )  # fmt: skip

    assert short["possible_duplicates"] == [full["id"]]
    assert [f["reason"] for f in flags(client)] == ["similar_identity"]


def test_different_people_are_not_flagged(client: TestClient) -> None:
    admitted(client, person("AI-020/2024"))
    others = [
        # same birth date, other name and mother
        person("AI-021/2024", "Budi Santoso", nik=None, mother_name="Rahmah"),
        # same name and mother, other birth date
        person("AI-022/2024", nik=None, birth_date="1987-03-12"),
        # another woman altogether
        person("AI-023/2024", "Siti Rahmah", nik=SITI_NIK, sex="P", birth_date="1990-07-05",
               mother_name="Fatimah"),
    ]  # fmt: skip

    for body in others:
        assert admitted(client, body)["possible_duplicates"] == [], body["register_number"]
    assert flags(client) == []


def test_flagged_records_are_both_kept_and_never_merged(client: TestClient, api: Api) -> None:
    first = admitted(client, person("AI-030/2024"))
    second = admitted(client, person("AI-031/2024", name="Ahmad Fauzi"))

    assert second["possible_duplicates"] == [first["id"]]
    assert count_rows(engine_of(client), "inmate") == 2
    assert api.inmate(first["id"])["register_number"] == "AI-030/2024"
    assert api.inmate(second["id"])["register_number"] == "AI-031/2024"
    assert client.get("/inmates", headers=AUDITOR).json()["count"] == 2
    assert AHMAD_NIK not in client.get("/duplicates", headers=AUDITOR).text
