"""Each service running over real HTTP (uvicorn, real SQLite file, real Redis) with data in it.

Two partners own data wherever a service keeps partner data, so a test can ask with one
partner's key for the other partner's records. Used by the fuzzing and the access matrix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from fastapi import FastAPI

from services.agreements.bootstrap import create_app as agreements_app
from services.civil_registry.app import create_app as registry_app
from services.civil_registry.population import Population
from services.identity.bootstrap import create_app as identity_app
from services.programs.bootstrap import create_app as programs_app
from shared.http.auth import ApiKeyEntry, Role, hash_api_key
from tests.infra import free_port
from tests.integration.agreements import support as agreements
from tests.integration.civil_registry.conftest import (
    ADMIN_TOKEN,
    CLIENT,
    CLIENT_TOKEN,
    OTHER_CLIENT,
    OTHER_TOKEN,
    SEED,
    full_verify,
    item,
    search_body,
)
from tests.integration.civil_registry.conftest import settings as registry_settings
from tests.integration.fuzz.harness import FuzzTarget, serving
from tests.integration.identity import support as identity
from tests.integration.programs import support as programs

SERVICES = ("agreements", "identity", "programs", "civil_registry")
# One key per role, and a second partner: the same callers in every service.
RAW_KEYS = {
    "staff": "prove-staff-key-0123456789abcdef",
    "auditor": "prove-auditor-key-0123456789abcdef",
    "registration": "prove-registration-key-0123456789",
    "partner-own": "prove-partner-own-key-0123456789",
    "partner-other": "prove-partner-other-key-0123456789",
}
STAFF = {"X-API-Key": RAW_KEYS["staff"]}
REGISTRY_POPULATION = 500
PDF = "application/pdf"
INVALID_KEY = {"X-API-Key": "not-a-key-anyone-was-given"}


@dataclass
class Seeded:
    """A running, seeded service: its URL, its callers' headers, and ids that exist.

    ``own`` holds ids of the data of the partner behind the ``partner-own`` key,
    ``other`` those of the partner behind ``partner-other`` (path parameter name -> id).
    """

    service: str
    app: FastAPI
    base_url: str
    callers: dict[str, dict[str, str]]
    own: dict[str, str] = field(default_factory=dict)
    other: dict[str, str] = field(default_factory=dict)
    shared: dict[str, str] = field(default_factory=dict)  # ids not owned by any partner
    after_case: Callable[[str], None] | None = None

    def fuzz_target(self) -> FuzzTarget:
        known: dict[str, list[str]] = {}
        for ids in (self.own, self.other, self.shared):
            for name, value in ids.items():
                known.setdefault(name, []).append(value)
        return FuzzTarget(
            self.service, self.base_url, list(self.callers.values()), known, self.after_case
        )


def key_entries(own_partner: str, other_partner: str) -> list[ApiKeyEntry]:
    entries = [
        ApiKeyEntry(name=f"{role}-key", role=Role(role), sha256=hash_api_key(RAW_KEYS[role]))
        for role in ("staff", "auditor", "registration")
    ]
    for caller, partner in (("partner-own", own_partner), ("partner-other", other_partner)):
        entries.append(
            ApiKeyEntry(
                name=partner,
                role=Role.PARTNER,
                partner=partner,
                sha256=hash_api_key(RAW_KEYS[caller]),
            )
        )
    return entries


def callers() -> dict[str, dict[str, str]]:
    return {caller: {"X-API-Key": raw} for caller, raw in RAW_KEYS.items()}


def _created(response: httpx.Response, *keys: str) -> str:
    assert response.status_code in (200, 201, 202), response.text
    found: Any = response.json()
    for key in keys or ("id",):
        found = found[key]
    return str(found)


# --- agreements ------------------------------------------------------------------------------


@contextlib.contextmanager
def seeded_agreements(database_url: str, redis_url: str, tmp: Path) -> Iterator[Seeded]:
    keys = key_entries(agreements.OWN_PARTNER, agreements.OTHER_PARTNER)
    settings = agreements.make_settings(
        database_url, redis_url, tmp / "documents", agreements_api_keys=keys
    )
    app = agreements_app(settings)
    with serving(app) as url, httpx.Client(base_url=url) as http:
        staff = STAFF
        seeded = Seeded("agreements", app, url, callers())
        for ids, code, kind, sector in (
            (seeded.own, agreements.OWN_PARTNER, "health", "mobile_clinic"),
            (seeded.other, agreements.OTHER_PARTNER, "education", "equivalency_class"),
        ):
            partner = _created(
                http.post(
                    "/partners",
                    json={"code": code, "name": f"Dinas {code}", "kind": kind},
                    headers=staff,
                )
            )
            agreement = _created(
                http.post(
                    "/agreements",
                    json={
                        "partner_id": partner,
                        "facility_number": f"W.18-PK-{code}",
                        "partner_number": f"P-{code}",
                        "title": f"Cooperation on {sector}",
                        "programme_kinds": [sector],
                        "start_date": "2024-01-01",
                        "end_date": "2026-12-31",
                    },
                    headers=staff,
                )
            )
            signed = http.post(
                f"/agreements/{agreement}/sign",
                json={"signed_on": "2023-12-20", "signatories": agreements.SIGNATORIES},
                headers=staff,
            )
            assert signed.status_code == 204, signed.text
            _created(
                http.post(
                    f"/agreements/{agreement}/action-plan/items",
                    json={
                        "programme_kind": sector,
                        "description": f"{sector} for the people in custody",
                        "target_quantity": 12,
                        "unit": "visits",
                        "period_start": "2024-01-01",
                        "period_end": "2024-12-31",
                        "responsible": "partner",
                    },
                    headers=staff,
                )
            )
            document = _created(
                http.post(
                    f"/agreements/{agreement}/documents",
                    files={"file": (f"pks-{code}.pdf", b"%PDF-1.4 " + code.encode(), PDF)},
                    headers=staff,
                ),
                "sha256",
            )
            ids.update(partner_id=partner, agreement_id=agreement, sha256=document)
        yield seeded


# --- identity --------------------------------------------------------------------------------


@contextlib.contextmanager
def seeded_identity(database_url: str, redis_url: str) -> Iterator[Seeded]:
    # No registry listens on this port: a matching job that gets that far fails, gently.
    settings = identity.make_settings(
        database_url,
        redis_url,
        registry_url=f"http://127.0.0.1:{free_port()}",
        identity_api_keys=key_entries("dukcapil", "dinsos"),
    )
    app = identity_app(settings)
    with serving(app) as url, httpx.Client(base_url=url) as http:
        seeded = Seeded("identity", app, url, callers())
        person = _created(http.post("/inmates", json=identity.person("AI-001/2024"), headers=STAFF))
        _created(
            http.post(
                "/inmates",
                json=identity.person(
                    "AI-002/2024",
                    "Siti",
                    nik=identity.SITI_NIK,
                    sex="P",
                    birth_date="1990-07-05",
                    mother_name="Fatimah",
                ),
                headers=STAFF,
            )
        )
        roster = (
            "register_number,name,sex,birth_place,birth_date,mother_name,nik,admission_date\n"
            f"AI-003/2024,Rizky,L,Barabai,1992-11-20,Nur,{identity.RIZKY_NIK},2024-01-10\n"
        ).encode()
        run = _created(
            http.post("/roster/imports", files={"file": ("r.csv", roster)}, headers=STAFF),
        )
        seeded.shared.update(person_id=person, run_id=run)
        yield seeded


# --- programs --------------------------------------------------------------------------------


@contextlib.contextmanager
def seeded_programs(database_url: str, redis_url: str) -> Iterator[Seeded]:
    keys = key_entries(programs.OWN_PARTNER, programs.OTHER_PARTNER)
    settings = programs.make_settings(database_url, redis_url, programs_api_keys=keys)
    app = programs_app(settings)
    with serving(app) as url, httpx.Client(base_url=url) as http:
        r = redis.Redis.from_url(redis_url)
        world = programs.World(r)
        seeded = Seeded("programs", app, url, callers())
        kinds = ["mobile_clinic", "job_training", "product_sales"]
        plan: list[tuple[dict[str, str], str, str, str]] = []
        for ids, code in (
            (seeded.own, programs.OWN_PARTNER),
            (seeded.other, programs.OTHER_PARTNER),
        ):
            agreement = world.agreement(kinds, partner=code)
            item = world.item(agreement, "mobile_clinic")
            person = world.admit(f"B.I-{code}/2024")
            plan.append((ids, agreement, item, person))
        world.settle()
        staff = STAFF
        for ids, agreement, item, person in plan:
            session = _created(
                http.post(
                    "/sessions",
                    json={
                        "agreement_id": agreement,
                        "programme_kind": "mobile_clinic",
                        "action_plan_item_id": item,
                        "held_on": "2024-05-02",
                        "attendance": [person],
                    },
                    headers=staff,
                )
            )
            enrolment = _created(
                http.post(
                    "/enrolments",
                    json={
                        "person_id": person,
                        "agreement_id": agreement,
                        "programme_kind": "job_training",
                        "enrolled_on": "2024-02-01",
                    },
                    headers=staff,
                )
            )
            _created(
                http.post(
                    "/sales",
                    json={
                        "agreement_id": agreement,
                        "sold_on": "2024-03-02",
                        "buyer_type": "public",
                        "lines": [
                            {
                                "product": "tas purun",
                                "quantity": 2,
                                "unit": "pieces",
                                "unit_price_idr": 85_000,
                            },
                        ],
                    },
                    headers=staff,
                )
            )
            ids.update(
                agreement_id=agreement, session_id=session, enrolment_id=enrolment, person_id=person
            )
        try:
            yield seeded
        finally:
            r.close()


# --- civil registry (stand-in of an outside system: no database, no Redis) -----------------


@contextlib.contextmanager
def seeded_civil_registry(**overrides: Any) -> Iterator[Seeded]:
    values: dict[str, Any] = {
        "registry_population": REGISTRY_POPULATION,
        "registry_rate_limit_per_s": 1_000_000.0,
        "registry_rate_burst": 1_000_000.0,
        "registry_callback_attempts": 1,
        "registry_callback_timeout_s": 0.5,
    }
    values.update(overrides)
    settings = registry_settings(**values)

    def population_built(base_url: str) -> bool:
        return httpx.get(f"{base_url}/health/ready").status_code == 200

    app = registry_app(settings)
    with serving(app, ready=population_built) as url:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

        def restore_faults(label: str) -> None:
            # A fuzzed PUT /admin/faults may switch on an outage or 30 s hangs: back to the
            # configured defaults (a PUT replaces every fault; a missing one takes its default).
            if label == "PUT /admin/faults":
                httpx.put(f"{url}/admin/faults", json={}, headers=admin).raise_for_status()

        clients = {
            "client": {"Authorization": f"Bearer {CLIENT_TOKEN}"},
            "other-client": {"Authorization": f"Bearer {OTHER_TOKEN}"},
            "admin": admin,
        }
        seeded = Seeded("civil_registry", app, url, clients, after_case=restore_faults)
        person = Population(REGISTRY_POPULATION, SEED).person(0)
        for ids, caller, sender in (
            (seeded.own, "client", CLIENT),
            (seeded.other, "other-client", OTHER_CLIENT),
        ):
            body = search_body([item("ref-0", person.nik, **full_verify(person))], sender_id=sender)
            ack = httpx.post(f"{url}/registry/async/search", json=body, headers=clients[caller])
            ids["transaction_id"] = _created(ack.raise_for_status(), "message", "transaction_id")
        yield seeded


@contextlib.contextmanager
def seeded(service: str, database_url: str, redis_url: str, tmp: Path) -> Iterator[Seeded]:
    """The named service, running and seeded."""
    runners: Mapping[str, Callable[[], contextlib.AbstractContextManager[Seeded]]] = {
        "agreements": lambda: seeded_agreements(database_url, redis_url, tmp),
        "identity": lambda: seeded_identity(database_url, redis_url),
        "programs": lambda: seeded_programs(database_url, redis_url),
        "civil_registry": seeded_civil_registry,
    }
    with runners[service]() as running:
        yield running
