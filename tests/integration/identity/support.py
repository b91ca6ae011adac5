"""Helpers of the identity integration tests: keys, settings, a running app, streams, people."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import redis
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.identity.bootstrap import create_app
from services.identity.config import IdentitySettings
from services.identity.container import Container
from services.identity.domain import MatchKind, MatchOutcome
from services.identity.protection import generate_key
from shared.http.auth import ApiKeyEntry, Role, hash_api_key
from shared.messaging import ENTRY_FIELD

FACILITY = "rutan-barabai"
OTHER_FACILITY = "lapas-banjarmasin"
IDENTITY_STREAM = "sinergi.identity"
AGREEMENTS_STREAM = "sinergi.agreements"
TODAY = date(2024, 6, 1)

RAW_KEYS = {
    "staff": "test-identity-staff-key-0123456789",
    "registration": "test-identity-registration-key-0123",
    "auditor": "test-identity-auditor-key-0123456789",
    "partner": "test-identity-partner-key-0123456789",
}

# NIKs of Hulu Sungai Tengah (63.07), district 06 Barabai, matching the people below.
AHMAD_NIK = "6307061203850001"  # man born 1985-03-12
SITI_NIK = "6307064507900002"  # woman born 1990-07-05 (day + 40)
RIZKY_NIK = "6307062011920003"  # man born 1992-11-20
MASKED = "63.07.**.******.****"


def api_key_entries() -> list[ApiKeyEntry]:
    entries = [
        ApiKeyEntry(name=f"{role}-officer", role=Role(role), sha256=hash_api_key(raw))
        for role, raw in RAW_KEYS.items()
        if role != "partner"
    ]
    entries.append(
        ApiKeyEntry(
            name="dukcapil",
            role=Role.PARTNER,
            partner="dukcapil",
            sha256=hash_api_key(RAW_KEYS["partner"]),
        )
    )
    return entries


def auth(role: str) -> dict[str, str]:
    """Headers of a caller: a role of RAW_KEYS, "none" (no key) or "invalid"."""
    if role == "none":
        return {}
    if role == "invalid":
        return {"X-API-Key": "not-a-key-anyone-was-given"}
    return {"X-API-Key": RAW_KEYS[role]}


STAFF = auth("staff")
REGISTRATION = auth("registration")
AUDITOR = auth("auditor")
PARTNER = auth("partner")


def make_settings(database_url: str, redis_url: str, **overrides: Any) -> IdentitySettings:
    """Settings of a fast-ticking test instance with fresh keys."""
    values: dict[str, Any] = {
        "environment": "test",
        "facility": FACILITY,
        "identity_database_url": database_url,
        "redis_url": redis_url,
        "identity_api_keys": api_key_entries(),
        "identity_nik_key": generate_key(),
        "identity_lookup_key": generate_key(),
        "today": TODAY,
        "block_ms": 50,
        "relay_poll_interval_s": 0.1,
        "claim_idle_ms": 200,
        "claim_interval_s": 0.2,
        "max_deliveries": 3,
        "monitor_interval_s": 0.2,
        "consumer_name": "identity-test",
    }
    values.update(overrides)
    return IdentitySettings(**values)


@contextlib.contextmanager
def running(settings: IdentitySettings) -> Iterator[TestClient]:
    """The app with its lifespan (migrations, relay, consumer) running."""
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def app_of(client: TestClient) -> FastAPI:
    app = client.app
    assert isinstance(app, FastAPI)
    return app


def container_of(client: TestClient) -> Container:
    c = app_of(client).state.container
    assert isinstance(c, Container)
    return c


def engine_of(client: TestClient) -> sa.Engine:
    return container_of(client).engine


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


def stream_entries(r: redis.Redis, stream: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The raw entries of a stream, oldest first, typed as redis-py returns them."""
    return cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(stream))


def stream_events(r: redis.Redis, stream: str = IDENTITY_STREAM) -> list[dict[str, Any]]:
    """The CloudEvents on a stream, oldest first, as plain JSON (read with redis-py only)."""
    return [json.loads(fields[ENTRY_FIELD.encode()]) for _, fields in stream_entries(r, stream)]


def unpublished(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            ).scalar_one()
        )


def published_all(client: TestClient) -> None:
    """Wait until the relay has sent every event committed so far."""
    engine = engine_of(client)
    wait_until(lambda: unpublished(engine) == 0, what="the outbox to drain")


def inmate_row(engine: sa.Engine, person_id: str) -> dict[str, Any]:
    with engine.connect() as connection:
        row = (
            connection.execute(sa.text("SELECT * FROM inmate WHERE id = :id"), {"id": person_id})
            .mappings()
            .one()
        )
    return dict(row)


def count_rows(engine: sa.Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def person(
    register_number: str,
    name: str = "Ahmad Fauzi",
    *,
    nik: str | None = AHMAD_NIK,
    sex: str = "L",
    birth_date: str = "1985-03-12",
    mother_name: str = "Siti Aminah",
    category: str = "A.I",
    admission_date: str = "2024-01-10",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "register_number": register_number,
        "category": category,
        "name": name,
        "sex": sex,
        "birth_place": "Barabai",
        "birth_date": birth_date,
        "mother_name": mother_name,
        "admission_date": admission_date,
        **extra,
    }
    if nik is not None:
        body["nik"] = nik
    return body


@dataclass
class Api:
    """Calls over the API, for arranging a test's world."""

    client: TestClient

    def admit(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> str:
        response = self.client.post("/inmates", json=body, headers=headers or STAFF)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def inmate(self, person_id: str) -> dict[str, Any]:
        response = self.client.get(f"/inmates/{person_id}", headers=AUDITOR)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def record_match(self, person_id: str, kind: MatchKind, *mismatched: str) -> None:
        """Store a registry answer the way matching does, through the unit of work."""
        with container_of(self.client).uow() as uow:
            inmate = uow.inmates.get(person_id)
            assert inmate is not None
            inmate.record_match(MatchOutcome(kind, tuple(mismatched)))
            uow.commit()
