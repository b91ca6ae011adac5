"""The agreements service as a real process: HTTP in, events out, sessions in, clean stop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import redis

from shared.events import build_event
from shared.events.programs import SessionHeld, SessionState
from shared.http.auth import hash_api_key
from shared.messaging import ENTRY_FIELD
from tests.e2e.processes import json_env, service_process
from tests.infra import free_port

T = TypeVar("T")
STAFF_KEY = "e2e-staff-key-0123456789abcdef"
PARTNER_KEY = "e2e-partner-key-0123456789abcdef"
SIGNATORIES = [
    {"party": "facility", "name": "Kepala Rutan Barabai", "position": "Head of the facility"},
    {"party": "partner", "name": "Kepala Dinas Kesehatan", "position": "Head of the agency"},
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


def events(r: redis.Redis, type_: str) -> list[dict[str, Any]]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange("sinergi.agreements"))
    found = [json.loads(fields[ENTRY_FIELD.encode()]) for _, fields in entries]
    return [e for e in found if e["type"] == type_]


def test_the_service_process_serves_publishes_consumes_and_stops_cleanly(
    tmp_path: Path, redis_url: str
) -> None:
    keys = [
        {"name": "staff", "role": "staff", "sha256": hash_api_key(STAFF_KEY)},
        {"name": "dinkes", "role": "partner", "partner": "dinkes",
         "sha256": hash_api_key(PARTNER_KEY)},
    ]  # fmt: skip
    env = {
        "SINERGI_ENVIRONMENT": "test",
        "SINERGI_AGREEMENTS_DATABASE_URL": f"sqlite:///{tmp_path / 'agreements.db'}",
        "SINERGI_AGREEMENTS_DOCUMENTS_DIR": str(tmp_path / "documents"),
        "SINERGI_REDIS_URL": redis_url,
        "SINERGI_AGREEMENTS_API_KEYS": json_env(keys),
        "SINERGI_TODAY": "2024-06-01",
        "SINERGI_CONSUMER_NAME": "agreements-e2e-1",
        "SINERGI_BLOCK_MS": "100",
        "SINERGI_RELAY_POLL_INTERVAL_S": "0.2",
        "SINERGI_MONITOR_INTERVAL_S": "0.5",
    }
    streams = redis.Redis.from_url(redis_url)
    port = free_port()
    staff = {"X-API-Key": STAFF_KEY, "X-Correlation-ID": "e2e-scenario"}
    with (
        service_process("services.agreements", port=port, env=env, log_dir=tmp_path) as service,
        httpx.Client(base_url=service.base_url, timeout=10.0) as http,
    ):
        partner = http.post(
            "/partners",
            json={"code": "dinkes", "name": "Dinas Kesehatan HST", "kind": "health"},
            headers=staff,
        )
        assert partner.status_code == 201, partner.text
        drafted = http.post(
            "/agreements",
            json={
                "partner_id": partner.json()["id"],
                "facility_number": "W.18.PAS.PAS.22-PK.01.01-01",
                "partner_number": "440/123/DINKES/2024",
                "title": "Health services for people in custody",
                "programme_kinds": ["mobile_clinic"],
                "start_date": "2024-01-01",
                "end_date": "2026-12-31",
            },
            headers=staff,
        )
        assert drafted.status_code == 201, drafted.text
        agreement_id = drafted.json()["id"]
        signed = http.post(
            f"/agreements/{agreement_id}/sign",
            json={"signed_on": "2023-12-20", "signatories": SIGNATORIES},
            headers=staff,
        )
        assert signed.status_code == 204, signed.text
        item = http.post(
            f"/agreements/{agreement_id}/action-plan/items",
            json={
                "programme_kind": "mobile_clinic",
                "description": "Mobile clinic (Pusling) visits",
                "target_quantity": 12,
                "unit": "visits",
                "period_start": "2024-01-01",
                "period_end": "2024-12-31",
                "responsible": "partner",
            },
            headers=staff,
        )
        assert item.status_code == 201, item.text
        item_id = item.json()["id"]

        [activated] = wait_for(
            lambda: events(streams, "sinergi.agreement.activated"), 10, "the activated event"
        )
        assert activated["subject"] == agreement_id
        assert activated["correlationid"] == "e2e-scenario"

        session = build_event(
            SessionHeld(
                session=SessionState(
                    session_id="session-2024-03-05-pusling",
                    agreement_id=agreement_id,
                    action_plan_item_id=item_id,
                    partner_code="dinkes",
                    programme_kind="mobile_clinic",
                    status="held",
                    scheduled_on=date(2024, 3, 5),
                    held_on=date(2024, 3, 5),
                    delivered_quantity=3,
                    unit="visits",
                    participant_count=40,
                )
            ),
            subject="session-2024-03-05-pusling",
            facility="rutan-barabai",
            sequence=1,
        )
        streams.xadd("sinergi.programs", {ENTRY_FIELD: session.to_json()})

        partner_view = {"X-API-Key": PARTNER_KEY}

        def realised() -> int:
            rows = http.get("/reports/realisation", headers=partner_view).json()["rows"]
            return int(rows[0]["realised_quantity"]) if rows else -1

        wait_for(lambda: realised() == 3, 10, "the realisation over HTTP")
        [update] = wait_for(
            lambda: events(streams, "sinergi.action_plan.realisation_updated"),
            10,
            "the realisation_updated event",
        )
        assert update["causationid"] == session.id

        started = time.monotonic()
        assert service.stop(timeout=30) == 0, service.tail()
        assert time.monotonic() - started < 30

    pending = streams.xpending("sinergi.programs", "agreements")
    assert pending["pending"] == 0
    records = service.logs()
    assert records, "the service logged nothing on stdout"
    assert all(record.get("service") == "agreements" for record in records)
    assert all('"service": "agreements"' in line for line in service.stdout_lines())
    messages = [record["message"] for record in records]
    assert any("agreements service started" in m for m in messages)
    assert any("agreements service stopped" in m for m in messages)
    streams.close()
