"""Agreements, identity and programs as real processes, talking only through Redis Streams.

An agreement signed in the agreements service and a person admitted in the identity service
reach the programs service's read models; a session held there with that person raises the
agreement's realisation back in the agreements service. After the release (identity), the
programs service refuses the person's attendance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from services.cli.topology import ApiKey, Secrets, TopologyConfig
from shared.http.auth import Role
from tests.e2e.processes import running_topology

T = TypeVar("T")
FACILITY = "rutan-barabai"
TODAY = "2024-06-01"
STAFF_KEY = "e2e-three-staff-key-0123456789abcdef"
PARTNER_KEY = "e2e-three-partner-key-0123456789abcdef"
STAFF = {"X-API-Key": STAFF_KEY, "X-Correlation-ID": "e2e-three-services"}
PARTNER = {"X-API-Key": PARTNER_KEY}
SIGNATORIES = [
    {"party": "facility", "name": "Kepala Rutan Barabai", "position": "Head of the facility"},
    {"party": "partner", "name": "Kepala BNNK HST", "position": "Head of the agency"},
]


def wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def config(tmp_path: Path, redis_url: str) -> TopologyConfig:
    """The three services, as compose.yaml describes them, with the test's keys and day."""
    return TopologyConfig(
        state_dir=tmp_path,
        redis_url=redis_url,
        secrets=Secrets.generate(),
        facility=FACILITY,
        environment="test",
        base_port=0,
        services=("agreements", "identity", "programs"),
        api_keys=(
            ApiKey("staff", Role.STAFF, STAFF_KEY),
            ApiKey("bnnk", Role.PARTNER, PARTNER_KEY, partner="bnnk"),
        ),
        extra_env={
            "SINERGI_TODAY": TODAY,
            "SINERGI_BLOCK_MS": "100",
            "SINERGI_RELAY_POLL_INTERVAL_S": "0.2",
            "SINERGI_MONITOR_INTERVAL_S": "0.5",
        },
        service_env={"identity": {"SINERGI_REGISTRY_RESYNC_ENABLED": "false"}},
        consumer_prefix="e2e",
    )


def ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def draft_active_agreement(agreements: httpx.Client) -> tuple[str, str]:
    partner = ok(
        agreements.post(
            "/partners",
            json={"code": "bnnk", "name": "BNN Kabupaten HST", "kind": "health"},
            headers=STAFF,
        )
    )
    agreement = ok(
        agreements.post(
            "/agreements",
            json={
                "partner_id": partner["id"],
                "facility_number": "W.18.PAS.PAS.22-PK.01.01-07",
                "partner_number": "B/77/BNNK-HST/2024",
                "title": "Drug counselling for people in custody",
                "programme_kinds": ["drug_counselling"],
                "start_date": "2024-01-01",
                "end_date": "2026-12-31",
            },
            headers=STAFF,
        )
    )["id"]
    ok(
        agreements.post(
            f"/agreements/{agreement}/sign",
            json={"signed_on": "2023-12-20", "signatories": SIGNATORIES},
            headers=STAFF,
        ),
        204,
    )
    item = ok(
        agreements.post(
            f"/agreements/{agreement}/action-plan/items",
            json={
                "programme_kind": "drug_counselling",
                "description": "Group counselling (konseling adiksi)",
                "target_quantity": 20,
                "unit": "participants",
                "period_start": "2024-01-01",
                "period_end": "2024-12-31",
                "responsible": "partner",
            },
            headers=STAFF,
        )
    )["id"]
    return agreement, item


def admit(identity: httpx.Client, register_number: str, name: str) -> str:
    admitted = ok(
        identity.post(
            "/inmates",
            json={
                "register_number": register_number,
                "category": "B.I",
                "name": name,
                "sex": "L",
                "birth_place": "Barabai",
                "birth_date": "1990-04-12",
                "mother_name": "Siti Aminah",
                "admission_date": "2024-01-10",
            },
            headers=STAFF,
        )
    )
    return str(admitted["id"])


def test_a_session_held_in_programs_raises_the_realisation_kept_by_agreements(
    tmp_path: Path, redis_url: str
) -> None:
    with (
        running_topology(config(tmp_path, redis_url)) as services,
        httpx.Client(base_url=services.url("agreements"), timeout=10) as agreements,
        httpx.Client(base_url=services.url("identity"), timeout=10) as identity,
        httpx.Client(base_url=services.url("programs"), timeout=10) as programs,
    ):
        agreement, item = draft_active_agreement(agreements)
        person = admit(identity, "B.I-501/2024", "Ahmad Rizani")
        leaving = admit(identity, "B.I-502/2024", "Muhammad Fauzi")

        def programs_item_known() -> bool:
            rows = programs.get("/reports/realisation", headers=PARTNER).json()["items"]
            return any(row["item_id"] == item for row in rows)

        def programs_knows(person_id: str, status: str = "convict") -> bool:
            answer = programs.get(f"/people/{person_id}/participation", headers=STAFF)
            return answer.status_code == 200 and answer.json()["custody_status"] == status

        wait_for(programs_item_known, 20, "the programs service to know the action-plan item")
        wait_for(lambda: programs_knows(person), 20, "the programs service to know the person")

        def agreements_realised() -> int:
            rows = agreements.get("/reports/realisation", headers=PARTNER).json()["rows"]
            [row] = [r for r in rows if r["item_id"] == item]
            return int(row["realised_quantity"])

        assert agreements_realised() == 0
        session = ok(
            programs.post(
                "/sessions",
                json={
                    "agreement_id": agreement,
                    "programme_kind": "drug_counselling",
                    "action_plan_item_id": item,
                    "held_on": "2024-05-02",
                    "attendance": [person],
                },
                headers=PARTNER,
            )
        )["id"]

        wait_for(lambda: agreements_realised() == 1, 20, "the realisation in agreements")
        own_view = programs.get("/reports/realisation", headers=PARTNER).json()["items"]
        assert [(r["item_id"], r["realised"]) for r in own_view] == [(item, 1)]
        history = ok(programs.get(f"/people/{person}/participation", headers=STAFF), 200)
        assert [s["session_id"] for s in history["sessions"]] == [session]

        ok(
            identity.post(f"/inmates/{leaving}/release", json={"on": "2024-05-20"}, headers=STAFF),
            204,
        )
        wait_for(lambda: programs_knows(leaving, "released"), 20, "the release to reach programs")
        refused = programs.post(
            "/sessions",
            json={
                "agreement_id": agreement,
                "programme_kind": "drug_counselling",
                "action_plan_item_id": item,
                "held_on": "2024-05-25",
                "attendance": [leaving],
            },
            headers=PARTNER,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "not_in_custody"
        assert agreements_realised() == 1

        for name in ("programs", "identity", "agreements"):
            assert services.stop(name, timeout=30) == 0, services.tail(name)

    for name in ("agreements", "identity", "programs"):
        records = services.logs(name)  # every stdout line is a JSON object
        assert records and all(record.get("service") == name for record in records)
        messages = [record["message"] for record in records]
        assert any(f"{name} service started" in m for m in messages)
        assert any(f"{name} service stopped" in m for m in messages)
