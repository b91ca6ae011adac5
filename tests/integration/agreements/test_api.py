"""Staff's happy paths over HTTP: partners, agreements, action plans, documents, reports."""

from __future__ import annotations

import csv
import hashlib
import io

import redis
from fastapi.testclient import TestClient

from tests.integration.agreements.support import (
    SIGNATORIES,
    STAFF,
    Api,
    events_of,
    wait_until,
)


def test_a_signed_agreement_whose_start_has_passed_is_active_at_once(
    client: TestClient, api: Api
) -> None:
    partner_id = api.register_partner("dinkes")
    partner = client.get(f"/partners/{partner_id}", headers=STAFF).json()
    assert partner["sectors"] == ["mobile_clinic", "drug_counselling"]
    agreement_id = api.draft(partner_id, "2024-01-01", "2026-12-31", ["mobile_clinic"])
    assert api.agreement(agreement_id)["status"] == "draft"

    api.sign(agreement_id, "2023-12-20")
    first = api.add_item(agreement_id, "mobile_clinic", "2024-01-01", "2024-12-31", 12)
    second = api.add_item(agreement_id, "mobile_clinic", "2025-01-01", "2025-12-31", 24)

    agreement = api.agreement(agreement_id)
    assert agreement["status"] == "active"
    assert agreement["signed_on"] == "2023-12-20"
    assert agreement["signatories"] == SIGNATORIES
    assert [(i["id"], i["target_quantity"], i["milestone"]) for i in agreement["action_plan"]] == [
        (first, 12, "open"),
        (second, 24, "open"),
    ]
    assert agreement["version"] == 5  # drafted, signed, activated, two items


def test_an_amendment_makes_a_new_version_and_publishes_it(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    partner_id = api.register_partner("dinkes")
    agreement_id = api.active_agreement(partner_id, ["mobile_clinic"])
    version = api.agreement(agreement_id)["version"]

    response = client.post(
        f"/agreements/{agreement_id}/amendments",
        json={
            "rationale": "drug counselling joins the agreement",
            "effective_on": "2024-06-01",
            "programme_kinds": ["mobile_clinic", "drug_counselling"],
            "end_date": "2026-06-30",
        },
        headers=STAFF,
    )

    assert response.status_code == 201, response.text
    assert response.json() == {
        "number": 1,
        "rationale": "drug counselling joins the agreement",
        "effective_on": "2024-06-01",
        "changes": {
            "programme_kinds": "mobile_clinic -> mobile_clinic, drug_counselling",
            "end_date": "2026-12-31 -> 2026-06-30",
        },
    }
    agreement = api.agreement(agreement_id)
    assert agreement["version"] == version + 1
    assert agreement["programme_kinds"] == ["mobile_clinic", "drug_counselling"]
    assert agreement["end_date"] == "2026-06-30"
    [amended] = wait_until(
        lambda: events_of(streams, type_="sinergi.agreement.amended", subject=agreement_id),
        what="the amended event",
    )
    assert amended["sequence"] == version + 1
    assert amended["data"]["number"] == 1
    assert amended["data"]["agreement"]["amendment_count"] == 1


def test_a_signed_renewal_marks_the_agreement_it_renews(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    partner_id = api.register_partner("dinkes")
    prior = api.draft(partner_id, "2021-01-01", "2023-12-31", ["mobile_clinic"], "PKS-2021")
    api.sign(prior, "2020-12-15")
    assert api.agreement(prior)["status"] == "expired"  # today is 2024-06-01

    response = client.post(
        f"/agreements/{prior}/renewals",
        json={
            "facility_number": "PKS-2024",
            "partner_number": "P-2024",
            "start_date": "2024-01-01",
            "end_date": "2026-12-31",
        },
        headers=STAFF,
    )
    assert response.status_code == 201, response.text
    renewal = response.json()["id"]
    drafted = api.agreement(renewal)
    assert (drafted["renews"], drafted["gap_days"], drafted["title"]) == (
        prior,
        0,
        api.agreement(prior)["title"],
    )
    assert drafted["programme_kinds"] == ["mobile_clinic"]

    api.sign(renewal, "2023-12-20")

    before = api.agreement(prior)
    assert (before["status"], before["renewed_by"]) == ("renewed", renewal)
    assert api.agreement(renewal)["status"] == "active"
    [renewed] = wait_until(
        lambda: events_of(streams, type_="sinergi.agreement.renewed", subject=prior),
        what="the renewed event",
    )
    assert renewed["data"]["renewal_id"] == renewal
    assert renewed["data"]["agreement"]["status"] == "renewed"


def test_termination_records_its_reason_and_date(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    partner_id = api.register_partner("dinkes")
    agreement_id = api.active_agreement(partner_id, ["mobile_clinic"])

    response = client.post(
        f"/agreements/{agreement_id}/terminate",
        json={"reason": "the agency was merged", "terminated_on": "2024-05-31"},
        headers=STAFF,
    )

    assert response.status_code == 204, response.text
    agreement = api.agreement(agreement_id)
    assert (agreement["status"], agreement["termination_reason"], agreement["terminated_on"]) == (
        "terminated",
        "the agency was merged",
        "2024-05-31",
    )
    [terminated] = wait_until(
        lambda: events_of(streams, type_="sinergi.agreement.terminated", subject=agreement_id),
        what="the terminated event",
    )
    assert terminated["data"]["reason"] == "the agency was merged"


def test_a_document_downloads_byte_for_byte_and_is_stored_once(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    partner_id = api.register_partner("dinkes")
    agreement_id = api.active_agreement(partner_id, ["mobile_clinic"])
    content = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
    digest = hashlib.sha256(content).hexdigest()

    def upload(name: str) -> dict[str, object]:
        response = client.post(
            f"/agreements/{agreement_id}/documents",
            files={"file": (name, content, "application/pdf")},
            data={"name": "PKS Rutan Barabai - Dinkes.pdf"},
            headers=STAFF,
        )
        assert response.status_code == 201, response.text
        result: dict[str, object] = response.json()
        return result

    first = upload("scan.pdf")
    again = upload("scan-again.pdf")

    assert first == {
        "name": "PKS Rutan Barabai - Dinkes.pdf",
        "media_type": "application/pdf",
        "sha256": digest,
        "size_bytes": len(content),
    }
    assert again["sha256"] == digest
    assert len(api.agreement(agreement_id)["documents"]) == 1
    downloaded = client.get(f"/agreements/{agreement_id}/documents/{digest}", headers=STAFF)
    assert downloaded.status_code == 200
    assert downloaded.content == content
    assert hashlib.sha256(downloaded.content).hexdigest() == digest
    assert downloaded.headers["content-type"] == "application/pdf"
    wait_until(
        lambda: events_of(streams, type_="sinergi.agreement.document_attached"),
        what="the document_attached event",
    )
    assert len(events_of(streams, type_="sinergi.agreement.document_attached")) == 1


def test_lists_filter_by_status_partner_and_expiry(client: TestClient, api: Api) -> None:
    dinkes = api.register_partner("dinkes")
    disdik = api.register_partner("disdik", "education")
    # ends 2024-08-29: within 90 days of 2024-06-01, so already expiring (90-day notice)
    expiring = api.draft(dinkes, "2023-08-30", "2024-08-29", ["mobile_clinic"], "PKS-EXP")
    api.sign(expiring, "2023-08-20")
    active = api.active_agreement(dinkes, ["drug_counselling"], "PKS-ACT")
    draft = api.draft(disdik, "2024-07-01", "2025-06-30", ["equivalency_class"], "PKS-DRAFT")

    def ids(**params: object) -> list[str]:
        response = client.get("/agreements", params=params, headers=STAFF)
        assert response.status_code == 200, response.text
        body = response.json()
        if "limit" not in params:
            assert body["count"] == len(body["data"])
        return [a["id"] for a in body["data"]]

    assert sorted(ids()) == sorted([expiring, active, draft])
    assert ids(status="active") == [active]
    assert ids(status="expiring") == [expiring]
    assert ids(status="draft") == [draft]
    assert sorted(ids(partner="dinkes")) == sorted([expiring, active])
    assert ids(partner="disdik") == [draft]
    assert ids(expiring_within_days=89) == [expiring]
    assert ids(expiring_within_days=30) == []
    assert ids(expiring_within_days=3650, partner="dinkes") == [expiring, active]
    assert ids(limit=1) == [expiring]  # ordered by end date
    assert ids(limit=1, offset=1) == [draft]
    page = client.get("/agreements", params={"limit": 1}, headers=STAFF).json()
    assert page["count"] == 3  # the count is of every match, not of the page


def test_the_realisation_report_comes_as_json_and_as_csv(client: TestClient, api: Api) -> None:
    dinkes = api.register_partner("dinkes")
    agreement_id = api.active_agreement(dinkes, ["mobile_clinic"], "PKS-DINKES")
    first = api.add_item(agreement_id, "mobile_clinic", "2024-01-01", "2024-12-31", 12)
    second = api.add_item(agreement_id, "mobile_clinic", "2025-01-01", "2025-12-31", 8, "days")

    report = client.get("/reports/realisation", headers=STAFF)
    as_csv = client.get("/reports/realisation", params={"format": "csv"}, headers=STAFF)

    assert report.status_code == 200
    rows = report.json()["rows"]
    assert [(r["item_id"], r["target_quantity"], r["realised_quantity"]) for r in rows] == [
        (first, 12, 0),
        (second, 8, 0),
    ]
    assert {r["facility_number"] for r in rows} == {"PKS-DINKES"}
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    parsed = list(csv.reader(io.StringIO(as_csv.text)))
    assert parsed[0] == [
        "facility",
        "partner_code",
        "agreement_id",
        "facility_number",
        "agreement_status",
        "item_id",
        "programme_kind",
        "description",
        "unit",
        "period_start",
        "period_end",
        "target_quantity",
        "realised_quantity",
        "progress_percent",
        "milestone",
    ]
    assert [row[5] for row in parsed[1:]] == [first, second]
    assert parsed[2][8:] == ["days", "2025-01-01", "2025-12-31", "8", "0", "0.0", "open"]
    assert [dict(zip(parsed[0], row, strict=True)) for row in parsed[1:]] == [
        {k: str(v) for k, v in row.items()} for row in rows
    ]
