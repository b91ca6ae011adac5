"""Reports through the API: realisation against targets, participation, sessions due."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.integration.programs.support import OTHER_PARTNER, OWN_PARTNER, STAFF, World, auth

OWN, OTHER, AUDITOR = auth("partner-own"), auth("partner-other"), auth("auditor")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ID_HEADERS = [
    "Mitra", "Nomor PKS", "ID Kegiatan", "Jenis Program", "Kegiatan", "Satuan", "Target",
    "Bulan", "Realisasi Bulan Ini", "Realisasi", "Persentase",
]  # fmt: skip
EN_HEADERS = [
    "Partner", "Agreement number", "Item ID", "Programme kind", "Activity", "Unit", "Target",
    "Month", "Realised in month", "Realised", "Percent",
]  # fmt: skip


def created(response: Any) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def held(
    client: TestClient,
    agreement: str,
    kind: str,
    on: str,
    attendance: list[str],
    item: str | None = None,
) -> str:
    body: dict[str, Any] = {"agreement_id": agreement, "programme_kind": kind, "held_on": on}
    body |= {"attendance": attendance, "action_plan_item_id": item}
    return created(client.post("/sessions", json=body, headers=STAFF))


def scheduled(client: TestClient, agreement: str, on: str, kind: str = "mobile_clinic") -> str:
    body = {"agreement_id": agreement, "programme_kind": kind, "scheduled_on": on}
    return created(client.post("/sessions", json=body, headers=STAFF))


def realisation(client: TestClient, headers: dict[str, str] = STAFF, **params: str) -> Any:
    response = client.get("/reports/realisation", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


@pytest.fixture
def counselling(client: TestClient, world: World) -> dict[str, str]:
    """Dinkes counselling: 5 participants in March, 1 in April; noise that must not count."""
    agreement = world.agreement(["drug_counselling", "mobile_clinic"])
    item = world.item(agreement, "drug_counselling")
    clinic_item = world.item(agreement, "mobile_clinic")
    a, b, c = (world.admit(f"B.I-10{n}/2024") for n in range(3))
    world.settle()
    held(client, agreement, "drug_counselling", "2024-03-05", [a, b], item)
    held(client, agreement, "drug_counselling", "2024-03-20", [a, b, c], item)
    held(client, agreement, "drug_counselling", "2024-04-10", [c], item)
    held(client, agreement, "drug_counselling", "2024-04-11", [a, b, c])  # on no item
    wrong = held(client, agreement, "drug_counselling", "2024-04-12", [a, b], item)
    cancel = client.post(f"/sessions/{wrong}/cancel", json={"reason": "twice"}, headers=STAFF)
    assert cancel.status_code == 204, cancel.text
    scheduled(client, agreement, "2024-06-20", "drug_counselling")
    return {"agreement": agreement, "item": item, "clinic_item": clinic_item, "person": a}


def test_realisation_sums_the_held_sessions_of_each_item_per_month_and_in_total(
    client: TestClient, counselling: dict[str, str]
) -> None:
    report = realisation(client).json()

    by_item = {row["item_id"]: row for row in report["items"]}
    counsel, clinic = by_item[counselling["item"]], by_item[counselling["clinic_item"]]
    assert (counsel["partner_code"], counsel["facility_number"]) == (OWN_PARTNER, "W.18-PK-1")
    assert (counsel["programme_kind"], counsel["unit"]) == ("drug_counselling", "units")
    assert counsel["realised"] == 6
    assert counsel["months"] == [
        {"month": "2024-03", "realised": 5},
        {"month": "2024-04", "realised": 1},
    ]
    assert (clinic["realised"], clinic["months"]) == (0, [])


def test_realisation_for_a_month_gives_that_month_and_the_total_up_to_its_end(
    client: TestClient, counselling: dict[str, str]
) -> None:
    march = realisation(client, month="2024-03", agreement_id=counselling["agreement"]).json()
    april = realisation(client, month="2024-04").json()

    def counsel(report: Any) -> Any:
        [row] = [r for r in report["items"] if r["item_id"] == counselling["item"]]
        return row["realised"], row["months"]

    assert march["month"] == "2024-03"
    assert counsel(march) == (5, [{"month": "2024-03", "realised": 5}])
    assert counsel(april) == (6, [{"month": "2024-04", "realised": 1}])


def test_realisation_sets_the_realised_quantity_against_the_items_target(
    client: TestClient, counselling: dict[str, str]
) -> None:
    [row] = [r for r in realisation(client).json()["items"] if r["item_id"] == counselling["item"]]

    assert (row["target"], row["realised"], row["percent"]) == (10, 6, 60.0)
    assert row["description"] == "drug_counselling for the people in custody"


def test_realisation_downloads_as_csv_with_indonesian_headers_by_default(
    client: TestClient, counselling: dict[str, str]
) -> None:
    response = realisation(client, format="csv")

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="realisasi.csv"' in response.headers["content-disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert header == ID_HEADERS
    counsel = [r for r in rows if r[2] == counselling["item"]]
    assert [(r[7], r[8], r[9]) for r in counsel] == [("2024-03", "5", "6"), ("2024-04", "1", "6")]
    [clinic] = [r for r in rows if r[2] == counselling["clinic_item"]]
    assert (clinic[0], clinic[1], clinic[7], clinic[8], clinic[9]) == (
        OWN_PARTNER, "W.18-PK-1", "", "0", "0",
    )  # fmt: skip


def test_realisation_downloads_as_xlsx_with_english_headers_on_request(
    client: TestClient, counselling: dict[str, str]
) -> None:
    response = realisation(client, format="xlsx", lang="en", month="2024-03")

    assert response.headers["content-type"] == XLSX
    assert 'filename="realisation-2024-03.xlsx"' in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header == EN_HEADERS
    by_item = {row[2]: row for row in rows}
    assert by_item[counselling["item"]][:4] == [
        OWN_PARTNER, "W.18-PK-1", counselling["item"], "drug_counselling",
    ]  # fmt: skip
    assert by_item[counselling["item"]][7:10] == ["2024-03", 5, 5]
    assert by_item[counselling["clinic_item"]][7:10] == ["2024-03", 0, 0]


def test_a_partner_sees_only_the_realisation_of_its_own_agreements(
    client: TestClient, world: World
) -> None:
    own = world.agreement(["mobile_clinic"], partner=OWN_PARTNER)
    other = world.agreement(["mobile_clinic"], partner=OTHER_PARTNER)
    own_item, other_item = world.item(own, "mobile_clinic"), world.item(other, "mobile_clinic")
    world.settle()
    held(client, own, "mobile_clinic", "2024-05-02", [], own_item)
    held(client, other, "mobile_clinic", "2024-05-03", [], other_item)

    def items(headers: dict[str, str], **params: str) -> dict[str, int]:
        rows = realisation(client, headers, **params).json()["items"]
        return {row["item_id"]: row["realised"] for row in rows}

    assert items(OWN) == {own_item: 1}
    assert items(OTHER) == {other_item: 1}
    assert items(AUDITOR) == {own_item: 1, other_item: 1}
    assert items(STAFF, partner=OTHER_PARTNER) == {other_item: 1}
    for params in ({"partner": OTHER_PARTNER}, {"agreement_id": other}):
        response = client.get("/reports/realisation", params=params, headers=OWN)
        assert response.status_code == 404, response.text
    own_csv = realisation(client, OWN, format="csv").content.decode()
    assert own_item in own_csv and other_item not in own_csv


def test_a_persons_participation_lists_attended_sessions_enrolments_and_outcomes(
    client: TestClient, world: World, counselling: dict[str, str]
) -> None:
    person = counselling["person"]
    training = world.agreement(["job_training"], partner=OTHER_PARTNER)
    world.settle()
    enrolment = created(
        client.post(
            "/enrolments",
            json={
                "person_id": person,
                "agreement_id": training,
                "programme_kind": "job_training",
                "enrolled_on": "2024-02-01",
            },
            headers=STAFF,
        )
    )
    done = client.post(
        f"/enrolments/{enrolment}/complete",
        json={"completed_on": "2024-05-01", "outcome": {"passed": True, "level": "welding"}},
        headers=STAFF,
    )
    assert done.status_code == 200, done.text

    history = client.get(f"/people/{person}/participation", headers=AUDITOR)

    assert history.status_code == 200, history.text
    body = history.json()
    assert (body["register_number"], body["custody_status"]) == ("B.I-100/2024", "convict")
    assert [(s["held_on"], s["programme_kind"], s["partner_code"]) for s in body["sessions"]] == [
        ("2024-03-05", "drug_counselling", OWN_PARTNER),
        ("2024-03-20", "drug_counselling", OWN_PARTNER),
        ("2024-04-11", "drug_counselling", OWN_PARTNER),
    ]  # the cancelled session of 2024-04-12 is not participation
    [enrolled] = body["enrolments"]
    assert (enrolled["id"], enrolled["status"], enrolled["enrolled_on"], enrolled["ended_on"]) == (
        enrolment, "completed", "2024-02-01", "2024-05-01",
    )  # fmt: skip
    [outcome] = body["outcomes"]
    assert (outcome["kind"], outcome["passed"], outcome["level"]) == (
        "certificate",
        True,
        "welding",
    )
    assert outcome["partner_code"] == OTHER_PARTNER


def test_participation_is_for_staff_and_auditors_and_refused_to_partner_agencies(
    client: TestClient, counselling: dict[str, str]
) -> None:
    person = counselling["person"]

    answers = [
        client.get(f"/people/{person}/participation", headers=headers).status_code
        for headers in (STAFF, AUDITOR, OWN, OTHER)
    ]
    unknown = client.get("/people/nobody/participation", headers=STAFF)

    assert answers == [200, 200, 403, 403]
    assert unknown.status_code == 404


def test_sessions_due_lists_upcoming_and_overdue_sessions_per_partner(
    client: TestClient, world: World
) -> None:
    own = world.agreement(["mobile_clinic"], partner=OWN_PARTNER)
    other = world.agreement(["mobile_clinic"], partner=OTHER_PARTNER)
    world.settle()
    overdue = scheduled(client, own, "2024-05-20")
    soon = scheduled(client, own, "2024-06-10")
    later = scheduled(client, own, "2024-07-15")
    others = scheduled(client, other, "2024-06-05")
    held(client, own, "mobile_clinic", "2024-05-21", [])

    def due(headers: dict[str, str], **params: str) -> dict[str, tuple[list[str], list[str]]]:
        response = client.get("/reports/sessions-due", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {
            p["partner_code"]: ([s["id"] for s in p["upcoming"]], [s["id"] for s in p["overdue"]])
            for p in response.json()["partners"]
        }

    assert due(STAFF) == {OWN_PARTNER: ([soon], [overdue]), OTHER_PARTNER: ([others], [])}
    assert due(STAFF, days="60", partner=OWN_PARTNER) == {OWN_PARTNER: ([soon, later], [overdue])}
    assert due(OWN) == {OWN_PARTNER: ([soon], [overdue])}
    assert due(OTHER, days="3") == {}
    report = client.get("/reports/sessions-due", headers=AUDITOR).json()
    assert (report["today"], report["until"]) == ("2024-06-01", "2024-07-01")
    refused = client.get("/reports/sessions-due", params={"partner": OWN_PARTNER}, headers=OTHER)
    assert refused.status_code == 404
