"""Who may call what: every endpoint of every service, every caller, own and other partner.

The routes come from each app itself, so an endpoint added without an entry here fails
``test_every_endpoint_has_a_declared_rule``. For each rule:

- no key and an unknown key get 401; a caller outside ``allowed`` gets 403 (401 where the
  service knows two kinds of token, as the registry stand-in's client and admin tokens);
- an allowed caller gets past the guard (no 401/403) and never a 5xx;
- on a ``scoped`` endpoint (the path or body names one partner's record), a partner's key
  gets 404 for the other partner's record, as if it did not exist, and its own record
  answers; no answer to one partner ever carries an id of the other partner's data.

Services run over real HTTP with a real SQLite file and a real Redis (see ``seeded.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Route

from services.civil_registry.population import Population
from tests.integration.agreements.support import OTHER_PARTNER as AGREEMENTS_OTHER
from tests.integration.agreements.support import SIGNATORIES
from tests.integration.civil_registry.conftest import (
    CLIENT,
    OTHER_CLIENT,
    SEED,
    full_verify,
    item,
    search_body,
)
from tests.integration.fuzz.seeded import REGISTRY_POPULATION, SERVICES, Seeded, seeded
from tests.integration.programs.support import OTHER_PARTNER as PROGRAMS_OTHER

Ids = Mapping[str, str]
Request = Callable[[Ids], dict[str, Any]]

STAFF, AUDITOR, REGISTRATION = "staff", "auditor", "registration"
OWN, OTHER = "partner-own", "partner-other"
EVERYONE = frozenset({STAFF, AUDITOR, REGISTRATION, OWN, OTHER})
OFFICERS = frozenset({STAFF, AUDITOR, REGISTRATION})
NOBODY_ID = "00000000-0000-4000-8000-000000000000"
# An unknown key in both places a key is read from (X-API-Key, or a bearer token).
INVALID = {"X-API-Key": "not-a-key-anyone-was-given", "Authorization": "Bearer not-a-token"}


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    scoped: bool = False
    request: Request = field(default=lambda ids: {})
    denied: int = 403

    @property
    def public(self) -> bool:
        return not self.allowed


PUBLIC = Rule(frozenset())


def only(*callers: str, **more: Any) -> Rule:
    return Rule(frozenset(callers), **more)


def body(payload: Callable[[Ids], Any]) -> Request:
    return lambda ids: {"json": payload(ids)}


def query(**params: str) -> Request:
    return lambda ids: {"params": params}


# Routes every service gets from the shared factory, and FastAPI's own documents.
COMMON = {
    "GET /health/live": PUBLIC,
    "GET /health/ready": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /openapi.json": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /redoc": PUBLIC,
}

AGREEMENTS = {
    **COMMON,
    "POST /partners": only(
        STAFF,
        request=body(
            lambda ids: {"code": f"p-{uuid.uuid4().hex[:8]}", "name": "Dinas", "kind": "health"}
        ),
    ),
    "GET /partners": Rule(EVERYONE),
    "GET /partners/{partner_id}": Rule(EVERYONE, scoped=True),
    "PATCH /partners/{partner_id}": only(STAFF, request=body(lambda ids: {"name": "Renamed"})),
    "POST /agreements": only(STAFF, request=body(lambda ids: {})),
    "GET /agreements": Rule(EVERYONE),
    "GET /agreements/{agreement_id}": Rule(EVERYONE, scoped=True),
    "POST /agreements/{agreement_id}/sign": only(
        STAFF, request=body(lambda ids: {"signed_on": "2023-12-20", "signatories": SIGNATORIES})
    ),
    "POST /agreements/{agreement_id}/renewals": only(STAFF, request=body(lambda ids: {})),
    "POST /agreements/{agreement_id}/amendments": only(STAFF, request=body(lambda ids: {})),
    "POST /agreements/{agreement_id}/action-plan/items": only(STAFF, request=body(lambda i: {})),
    "POST /agreements/{agreement_id}/documents": only(
        STAFF,
        REGISTRATION,
        OWN,
        OTHER,
        scoped=True,
        request=lambda ids: {
            "files": {"file": ("annex.pdf", b"%PDF-1.4 annex", "application/pdf")}
        },
    ),
    "GET /agreements/{agreement_id}/documents/{sha256}": Rule(EVERYONE, scoped=True),
    "GET /reports/realisation": Rule(EVERYONE, request=query(format="csv")),
    "POST /calendar/advance": only(STAFF),
    "POST /agreements/{agreement_id}/terminate": only(
        STAFF, request=body(lambda ids: {"reason": "merged", "terminated_on": "2024-06-01"})
    ),
}

ROSTER = frozenset({STAFF, REGISTRATION})
IDENTITY = {
    **COMMON,
    "POST /inmates": Rule(ROSTER, request=body(lambda ids: {})),
    "GET /inmates": Rule(OFFICERS),
    "GET /inmates/{person_id}": Rule(OFFICERS),
    "POST /inmates/{person_id}/category": Rule(ROSTER, request=body(lambda ids: {})),
    "POST /inmates/{person_id}/transfer": Rule(ROSTER, request=body(lambda ids: {})),
    "POST /inmates/{person_id}/release": Rule(ROSTER, request=body(lambda ids: {})),
    "PUT /inmates/{person_id}/nik": only(REGISTRATION, request=body(lambda ids: {})),
    "GET /inmates/{person_id}/nik": only(REGISTRATION, request=query(purpose="access matrix")),
    "POST /inmates/{person_id}/review": only(REGISTRATION, request=body(lambda ids: {})),
    "POST /roster/imports": Rule(
        ROSTER, request=lambda ids: {"files": {"file": ("r.csv", b"register_number\n")}}
    ),
    "GET /roster/imports/{run_id}": Rule(OFFICERS),
    "GET /duplicates": Rule(OFFICERS),
    "GET /lists/needs-recording": Rule(OFFICERS),
    "GET /lists/awaiting-review": Rule(OFFICERS),
    "GET /reports/nik-status": Rule(OFFICERS),
    "GET /reports/usage": Rule(
        OFFICERS, request=query(period_start="2024-01-01", period_end="2024-06-30")
    ),
    "POST /matching/jobs": only(REGISTRATION, request=body(lambda ids: {})),
    "GET /matching/jobs/{job_id}": Rule(OFFICERS),
    "GET /matching/jobs": Rule(OFFICERS),
}

WRITERS = frozenset({STAFF, OWN, OTHER})
PROGRAMS = {
    **COMMON,
    "GET /programme-kinds": Rule(EVERYONE),
    "POST /sessions": Rule(
        WRITERS,
        scoped=True,
        request=body(
            lambda ids: {
                "agreement_id": ids["agreement_id"],
                "programme_kind": "mobile_clinic",
                "scheduled_on": "2024-06-10",
            }
        ),
    ),
    "POST /sessions/{session_id}/held": Rule(
        WRITERS,
        scoped=True,
        request=body(lambda ids: {"held_on": "2024-05-03", "attendance": [ids["person_id"]]}),
    ),
    "POST /sessions/{session_id}/cancel": Rule(
        WRITERS, scoped=True, request=body(lambda ids: {"reason": "the clinic did not come"})
    ),
    "GET /sessions": Rule(EVERYONE),
    "GET /sessions/{session_id}": Rule(EVERYONE, scoped=True),
    "POST /enrolments": Rule(
        WRITERS,
        scoped=True,
        request=body(
            lambda ids: {
                "person_id": ids["person_id"],
                "agreement_id": ids["agreement_id"],
                "programme_kind": "job_training",
                "enrolled_on": "2024-03-01",
            }
        ),
    ),
    "POST /outcomes": Rule(
        WRITERS,
        scoped=True,
        request=body(
            lambda ids: {
                "enrolment_id": ids["enrolment_id"],
                "issued_on": "2024-05-21",
                "passed": True,
            }
        ),
    ),
    "POST /enrolments/{enrolment_id}/complete": Rule(
        WRITERS, scoped=True, request=body(lambda ids: {"completed_on": "2024-05-20"})
    ),
    "POST /enrolments/{enrolment_id}/exit": Rule(
        WRITERS, scoped=True, request=body(lambda ids: {"exited_on": "2024-05-20", "reason": "x"})
    ),
    "GET /enrolments": Rule(EVERYONE),
    "GET /outcomes": Rule(EVERYONE),
    "POST /sales": Rule(
        WRITERS,
        scoped=True,
        request=body(
            lambda ids: {
                "agreement_id": ids["agreement_id"],
                "sold_on": "2024-03-05",
                "buyer_type": "public",
                "lines": [
                    {"product": "sapu", "quantity": 1, "unit": "pieces", "unit_price_idr": 15_000}
                ],
            }
        ),
    ),
    "GET /sales": Rule(EVERYONE),
    "GET /reports/sales": Rule(EVERYONE, request=query(period="2024-03")),
    "GET /reports/realisation": Rule(EVERYONE),
    "GET /reports/sessions-due": Rule(EVERYONE),
    "GET /people/{person_id}/participation": only(STAFF, AUDITOR),
}

# The registry stand-in plays an outside system: client tokens and an admin token, and a
# token of the wrong kind is simply not recognised there (401).
CLIENTS = frozenset({"client", "other-client"})
ADMIN = frozenset({"admin"})


def _search(ids: Ids) -> dict[str, Any]:
    searched = item("ref-1", ids["nik"], **full_verify_of(ids))
    return {"json": search_body([searched], sender_id=ids["sender"])}


def full_verify_of(ids: Ids) -> dict[str, str]:
    return {k: ids[k] for k in ("name", "birth_place", "birth_date", "mother_name", "sex")}


CIVIL_REGISTRY = {
    **COMMON,
    "POST /registry/sync/search": Rule(CLIENTS, denied=401, request=_search),
    "POST /registry/async/search": Rule(CLIENTS, denied=401, request=_search),
    "POST /registry/txn/status": Rule(
        CLIENTS,
        denied=401,
        scoped=True,
        request=body(lambda ids: {"transaction_id": ids["transaction_id"]}),
    ),
    "GET /registry/changes": Rule(CLIENTS, denied=401),
    "GET /admin/faults": Rule(ADMIN, denied=401),
    "PUT /admin/faults": Rule(ADMIN, denied=401, request=body(lambda ids: {})),
    "POST /admin/changes": Rule(ADMIN, denied=401, request=body(lambda ids: {})),
    "GET /admin/usage": Rule(ADMIN, denied=401),
}

MATRIX: dict[str, dict[str, Rule]] = {
    "agreements": AGREEMENTS,
    "identity": IDENTITY,
    "programs": PROGRAMS,
    "civil_registry": CIVIL_REGISTRY,
}
# Which callers are "own" and "other" partner of each service's scoped data.
PARTNERS = {
    "agreements": (OWN, OTHER),
    "identity": (OWN, OTHER),
    "programs": (OWN, OTHER),
    "civil_registry": ("client", "other-client"),
}
OTHER_CODES = {"agreements": AGREEMENTS_OTHER, "programs": PROGRAMS_OTHER}


def endpoints(routes: Sequence[BaseRoute], prefix: str = "") -> set[str]:
    """ "METHOD /path" of every route, included routers too (FastAPI wraps those)."""
    found: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            more = getattr(getattr(route, "include_context", None), "prefix", "")
            found |= endpoints(included.routes, prefix + more)
        elif isinstance(route, Route) and route.methods:
            path = prefix + route.path
            found |= {f"{m} {path}" for m in route.methods if m not in ("HEAD", "OPTIONS")}
    return found


def documented(app: FastAPI) -> set[str]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> Iterator[Seeded]:
    name = request.param
    with seeded(name, f"sqlite:///{tmp_path / 'service.db'}", redis_url, tmp_path) as running:
        yield running


@dataclass
class Calls:
    seeded: Seeded
    http: httpx.Client
    answers: list[tuple[str, str, httpx.Response]] = field(default_factory=list)  # caller, what

    def send(self, endpoint: str, rule: Rule, caller: str | None, ids: Ids) -> httpx.Response:
        method, template = endpoint.split(" ", 1)
        path = template.format_map(_Filled(ids))
        headers = {} if caller is None else self.seeded.callers.get(caller, INVALID)
        response = self.http.request(method, path, headers=headers, **rule.request(ids))
        self.answers.append((caller or "-", f"{endpoint} -> {path}", response))
        return response


class _Filled(dict[str, str]):
    def __init__(self, ids: Ids) -> None:
        super().__init__(ids)

    def __missing__(self, key: str) -> str:
        return NOBODY_ID


def _ids(service: Seeded, owner: Ids) -> dict[str, str]:
    ids = {**service.shared, **owner}
    if service.service == "civil_registry":
        person = Population(REGISTRY_POPULATION, SEED).person(1)
        sender = CLIENT if owner is service.own else OTHER_CLIENT
        ids.update(nik=person.nik, sender=sender, **full_verify(person))
    return ids


def test_every_endpoint_has_a_declared_rule(service: Seeded) -> None:
    declared = set(MATRIX[service.service])
    found = endpoints(service.app.routes)
    assert documented(service.app) <= found, "the route walk missed documented operations"
    assert found - declared == set(), "endpoints without a rule in the access matrix"
    assert declared - found == set(), "rules for endpoints the service does not have"


def test_each_caller_gets_exactly_what_the_matrix_grants(service: Seeded) -> None:
    rules = MATRIX[service.service]
    own_caller, other_caller = PARTNERS[service.service]
    own_ids, other_ids = _ids(service, service.own), _ids(service, service.other)
    wrong: list[str] = []
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        calls = Calls(service, http)

        def expect(ok: bool, what: str, response: httpx.Response) -> None:
            if not ok:
                wrong.append(f"{what}: {response.status_code} {response.text[:200]}")

        # Refusals first: they must change nothing, so the allowed calls below find the data.
        for endpoint, rule in rules.items():
            if rule.public:
                continue
            for caller, name in ((None, "no key"), ("invalid", "an unknown key")):
                r = calls.send(endpoint, rule, caller, own_ids)
                expect(r.status_code == 401, f"{endpoint} with {name}", r)
            for caller in sorted(set(service.callers) - rule.allowed):
                r = calls.send(endpoint, rule, caller, own_ids)
                expect(r.status_code == rule.denied, f"{endpoint} as {caller} (not allowed)", r)
            if rule.scoped:
                for caller, ids in ((other_caller, own_ids), (own_caller, other_ids)):
                    if caller in rule.allowed:
                        r = calls.send(endpoint, rule, caller, ids)
                        expect(r.status_code == 404, f"{endpoint} as {caller} on the other's", r)
        for endpoint, rule in rules.items():
            if rule.public:
                r = calls.send(endpoint, rule, None, own_ids)
                expect(r.status_code == 200, f"{endpoint} without a key", r)
                continue
            for caller in sorted(rule.allowed):
                ids = other_ids if caller == other_caller else own_ids
                r = calls.send(endpoint, rule, caller, ids)
                refused = (401, 403, 404) if rule.scoped else (401, 403)
                expect(r.status_code not in refused, f"{endpoint} as {caller} (allowed)", r)
                expect(r.status_code < 500, f"{endpoint} as {caller}", r)
        # A partner filtering lists by the other partner learns nothing either.
        other_code = OTHER_CODES.get(service.service)
        if other_code:
            for endpoint, rule in rules.items():
                if (
                    endpoint.startswith("GET ")
                    and "{" not in endpoint
                    and own_caller in rule.allowed
                ):
                    request = rule.request(own_ids)
                    request["params"] = {**request.get("params", {}), "partner": other_code}
                    r = http.get(endpoint[4:], headers=service.callers[own_caller], **request)
                    calls.answers.append((own_caller, f"{endpoint}?partner={other_code}", r))
                    expect(r.status_code in (200, 404), f"{endpoint}?partner=<other>", r)

    assert wrong == [], "\n".join(wrong)
    # Only answers that succeeded: a refusal may echo the id the caller itself sent.
    leaks = [
        f"{what} as {caller} shows {value}"
        for caller, what, response in calls.answers
        if response.is_success
        for mine, theirs in ((own_caller, service.other), (other_caller, service.own))
        if caller == mine
        for value in theirs.values()
        if value in response.text
    ]
    assert leaks == [], "\n".join(leaks)
