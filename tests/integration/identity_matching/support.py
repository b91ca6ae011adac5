"""Helpers of the matching tests: the civil-registry stand-in as a process, people, agreements.

The stand-in runs as ``python -m services.civil_registry`` on a free port; tests take the
people it knows from ``Population(POPULATION, SEED)`` (the same seed gives the same people).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import redis

from services.civil_registry.population import Person
from shared.events import build_event
from shared.events.agreements import AgreementActivated, AgreementState
from shared.http.auth import ApiKeyEntry, Role, hash_api_key
from shared.messaging import ENTRY_FIELD
from tests.infra import free_port

REPO = Path(__file__).resolve().parents[3]
FACILITY = "rutan-barabai"
TODAY = date(2024, 6, 1)
SEED = 2023
POPULATION = 3000
CLIENT_TOKEN = "identity-client-token-0123456789abcdef"
ADMIN_TOKEN = "registry-admin-token-0123456789abcdef"
AGREEMENTS_STREAM = "sinergi.agreements"
IDENTITY_STREAM = "sinergi.identity"

RAW_KEYS = {
    "registration": "matching-registration-key-0123456789",
    "staff": "matching-staff-key-0123456789abcdef",
    "partner": "matching-partner-key-0123456789abcd",
}


def api_key_entries() -> list[ApiKeyEntry]:
    return [
        ApiKeyEntry(
            name="registration-officer",
            role=Role.REGISTRATION,
            sha256=hash_api_key(RAW_KEYS["registration"]),
        ),
        ApiKeyEntry(name="staff-officer", role=Role.STAFF, sha256=hash_api_key(RAW_KEYS["staff"])),
        ApiKeyEntry(
            name="dinkes",
            role=Role.PARTNER,
            partner="dinkes",
            sha256=hash_api_key(RAW_KEYS["partner"]),
        ),
    ]


REGISTRATION = {"X-API-Key": RAW_KEYS["registration"]}
STAFF = {"X-API-Key": RAW_KEYS["staff"]}
PARTNER = {"X-API-Key": RAW_KEYS["partner"]}


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def stream_entries(r: redis.Redis, stream: str = IDENTITY_STREAM) -> list[bytes]:
    """The raw CloudEvent JSON of every entry of a stream, read with plain redis-py."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = r.xrange(stream)  # type: ignore[assignment]
    return [fields[ENTRY_FIELD.encode()] for _, fields in entries]


# --- the stand-in ---------------------------------------------------------------------------


@dataclass
class StandIn:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def _admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
        )

    def faults(self, **config: Any) -> None:
        with self._admin() as client:
            client.put("/admin/faults", json=config).raise_for_status()

    def usage(self) -> dict[str, dict[str, int]]:
        """This client's request, item and response counts."""
        with self._admin() as client:
            response = client.get("/admin/usage")
            response.raise_for_status()
        clients: dict[str, dict[str, dict[str, int]]] = response.json()["clients"]
        empty: dict[str, dict[str, int]] = {"requests": {}, "items": {}, "responses": {}}
        return clients.get(FACILITY, empty)

    def requests(self, kind: str) -> int:
        return int(self.usage()["requests"].get(kind, 0))

    def change(self, nik: str, change: str = "death", **body: Any) -> dict[str, Any]:
        with self._admin() as client:
            response = client.post("/admin/changes", json={"nik": nik, "change": change, **body})
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result


@contextlib.contextmanager
def stand_in(log: Path, population: int = POPULATION) -> Iterator[StandIn]:
    port = free_port()
    env = {
        **os.environ,
        "SINERGI_HTTP_HOST": "127.0.0.1",
        "SINERGI_HTTP_PORT": str(port),
        "SINERGI_REGISTRY_CLIENT_TOKENS": json.dumps({CLIENT_TOKEN: FACILITY}),
        "SINERGI_REGISTRY_ADMIN_TOKEN": ADMIN_TOKEN,
        "SINERGI_REGISTRY_POPULATION": str(population),
        "SINERGI_REGISTRY_SEED": str(SEED),
        "SINERGI_REGISTRY_RATE_LIMIT_PER_S": "1000",
        "SINERGI_REGISTRY_RATE_BURST": "2000",
        "SINERGI_REGISTRY_FAULT_HANG_S": "3",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.civil_registry"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the stand-in exited: {log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=60, what="the civil-registry stand-in")
        yield StandIn(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- agreements and people ------------------------------------------------------------------


def publish_civil_registry_agreement(
    r: redis.Redis,
    *,
    facility: str = FACILITY,
    kinds: tuple[str, ...] = ("nik_matching", "ktp_recording"),
    start: date = date(2023, 3, 13),
    end: date = date(2026, 3, 12),
) -> str:
    """XADD the `sinergi.agreement.activated` fact of an agreement with Dukcapil."""
    agreement_id = str(uuid.uuid4())
    state = AgreementState(
        agreement_id=agreement_id,
        partner_id=str(uuid.uuid4()),
        partner_code="dukcapil",
        facility_number="W15.PAS.PAS.12-UM.01.01-08",
        partner_number="470/08/DUKCAPIL/2023",
        title="Pemadanan dan pengesahan NIK WBP",
        programme_kinds=list(kinds),
        start_date=start,
        end_date=end,
        status="active",
        signed_on=start,
    )
    event = build_event(
        AgreementActivated(agreement=state), subject=agreement_id, facility=facility, sequence=1
    )
    r.xadd(AGREEMENTS_STREAM, {ENTRY_FIELD: event.to_json()})
    return agreement_id


def inmate_body(person: Person, register_number: str, **changes: Any) -> dict[str, Any]:
    """The admission of a person the registry knows, with optional changes (perturbations)."""
    body: dict[str, Any] = {
        "register_number": register_number,
        "category": "A.I",
        "name": person.name,
        "sex": person.sex,
        "birth_place": person.birth_place,
        "birth_date": person.birth_date.isoformat(),
        "mother_name": person.mother_name,
        "admission_date": "2024-01-10",
        "nik": person.nik,
    }
    body.update(changes)
    return body


def unknown_nik(person: Person) -> str:
    """A structurally valid NIK with the person's region and birth date, not in the registry."""
    return person.nik[:12] + "9876"
