"""Helpers of the agreements integration tests: keys, settings, a running app, the streams."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.agreements.bootstrap import create_app
from services.agreements.config import AgreementsSettings
from shared.http.auth import ApiKeyEntry, Role, hash_api_key
from shared.messaging import ENTRY_FIELD

FACILITY = "rutan-barabai"
AGREEMENTS_STREAM = "sinergi.agreements"
PROGRAMS_STREAM = "sinergi.programs"
DEADLETTER_STREAM = "sinergi.deadletter"
GROUP = "agreements"
TODAY = date(2024, 6, 1)
OWN_PARTNER = "dinkes"  # the partner key's own partner (health)
OTHER_PARTNER = "disdik"  # the second partner key's partner (education)

RAW_KEYS = {
    "staff": "test-staff-key-0123456789abcdef",
    "auditor": "test-auditor-key-0123456789abcdef",
    "partner-own": "test-partner-dinkes-key-0123456789",
    "partner-other": "test-partner-disdik-key-0123456789",
}
SIGNATORIES = [
    {"party": "facility", "name": "Kepala Rutan", "position": "Head of the facility"},
    {"party": "partner", "name": "Kepala Dinas", "position": "Head of the agency"},
]


def api_key_entries() -> list[ApiKeyEntry]:
    return [
        ApiKeyEntry(name="staff", role=Role.STAFF, sha256=hash_api_key(RAW_KEYS["staff"])),
        ApiKeyEntry(name="auditor", role=Role.AUDITOR, sha256=hash_api_key(RAW_KEYS["auditor"])),
        ApiKeyEntry(
            name="dinkes",
            role=Role.PARTNER,
            partner=OWN_PARTNER,
            sha256=hash_api_key(RAW_KEYS["partner-own"]),
        ),
        ApiKeyEntry(
            name="disdik",
            role=Role.PARTNER,
            partner=OTHER_PARTNER,
            sha256=hash_api_key(RAW_KEYS["partner-other"]),
        ),
    ]


def auth(role: str) -> dict[str, str]:
    """Headers of a caller: a role of RAW_KEYS, "none" (no key) or "invalid"."""
    if role == "none":
        return {}
    if role == "invalid":
        return {"X-API-Key": "not-a-key-anyone-was-given"}
    return {"X-API-Key": RAW_KEYS[role]}


STAFF = auth("staff")


def make_settings(
    database_url: str, redis_url: str, documents_dir: Path, *, today: date = TODAY, **overrides: Any
) -> AgreementsSettings:
    """Settings of a fast-ticking test instance (short blocks, polls and claim times)."""
    values: dict[str, Any] = {
        "environment": "test",
        "facility": FACILITY,
        "agreements_database_url": database_url,
        "agreements_documents_dir": documents_dir,
        "redis_url": redis_url,
        "agreements_api_keys": api_key_entries(),
        "today": today,
        "block_ms": 50,
        "relay_poll_interval_s": 0.1,
        # long enough that a batch still being applied under load is never reclaimed
        "claim_idle_ms": 5_000,
        "claim_interval_s": 1.0,
        "monitor_interval_s": 0.2,
        "agreements_clock_interval_s": 3600.0,
        "consumer_name": "agreements-test",
    }
    values.update(overrides)
    return AgreementsSettings(**values)


@contextlib.contextmanager
def running(settings: AgreementsSettings) -> Iterator[TestClient]:
    """The app with its lifespan (migrations, relay, consumer, calendar) running."""
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def app_of(client: TestClient) -> FastAPI:
    app = client.app
    assert isinstance(app, FastAPI)
    return app


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition"
) -> Any:
    """Poll until ``predicate`` returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def stream_events(r: redis.Redis, stream: str = AGREEMENTS_STREAM) -> list[dict[str, Any]]:
    """The CloudEvents on a stream, oldest first, as plain JSON (read with redis-py only)."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(stream))
    return [json.loads(fields[ENTRY_FIELD.encode()]) for _, fields in entries]


def events_of(
    r: redis.Redis, *, type_: str | None = None, subject: str | None = None
) -> list[dict[str, Any]]:
    return [
        e
        for e in stream_events(r)
        if (type_ is None or e["type"] == type_) and (subject is None or e["subject"] == subject)
    ]


def consumed_everything(r: redis.Redis, stream: str = PROGRAMS_STREAM, group: str = GROUP) -> bool:
    """The group has read the stream's last entry and acknowledged every entry."""
    if not r.exists(stream):
        return False
    groups = {g["name"].decode(): g for g in r.xinfo_groups(stream)}
    if group not in groups:
        return False
    last = r.xrevrange(stream, count=1)
    info = groups[group]
    return bool(last and info["last-delivered-id"] == last[0][0] and int(info["pending"]) == 0)


@dataclass
class Api:
    """Staff's calls over the API, for arranging a test's world."""

    client: TestClient

    def register_partner(
        self, code: str, kind: str = "health", sectors: list[str] | None = None
    ) -> str:
        body: dict[str, Any] = {"code": code, "name": f"Dinas {code}", "kind": kind}
        if sectors is not None:
            body["sectors"] = sectors
        response = self.client.post("/partners", json=body, headers=STAFF)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def draft(
        self,
        partner_id: str,
        start: str,
        end: str,
        kinds: list[str],
        number: str = "W.18.PAS.PAS.22-PK.01.01-01",
        headers: dict[str, str] | None = None,
    ) -> str:
        response = self.client.post(
            "/agreements",
            json={
                "partner_id": partner_id,
                "facility_number": number,
                "partner_number": f"P-{number}",
                "title": f"Cooperation on {', '.join(kinds)}",
                "programme_kinds": kinds,
                "start_date": start,
                "end_date": end,
            },
            headers=headers or STAFF,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def sign(self, agreement_id: str, signed_on: str) -> None:
        response = self.client.post(
            f"/agreements/{agreement_id}/sign",
            json={"signed_on": signed_on, "signatories": SIGNATORIES},
            headers=STAFF,
        )
        assert response.status_code == 204, response.text

    def add_item(
        self,
        agreement_id: str,
        kind: str,
        start: str,
        end: str,
        target: int = 10,
        unit: str = "visits",
    ) -> str:
        response = self.client.post(
            f"/agreements/{agreement_id}/action-plan/items",
            json={
                "programme_kind": kind,
                "description": f"{kind} for the people in custody",
                "target_quantity": target,
                "unit": unit,
                "period_start": start,
                "period_end": end,
                "responsible": "partner",
            },
            headers=STAFF,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def agreement(self, agreement_id: str) -> dict[str, Any]:
        response = self.client.get(f"/agreements/{agreement_id}", headers=STAFF)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def active_agreement(
        self, partner_id: str, kinds: list[str], number: str = "W.18-PK-ACTIVE"
    ) -> str:
        """Signed before TODAY, started 2024-01-01, runs three years: active."""
        agreement_id = self.draft(partner_id, "2024-01-01", "2026-12-31", kinds, number)
        self.sign(agreement_id, "2023-12-20")
        return agreement_id
