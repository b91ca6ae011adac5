"""Who may call what: every route of the identity API against every kind of caller.

The table below is the rule book. A route added to the app without a row here (and not
explicitly excluded) fails the test, and so does a row whose route is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Route

from services.identity.domain import MatchKind
from tests.integration.identity.support import (
    AHMAD_NIK,
    STAFF,
    Api,
    app_of,
    auth,
    person,
)

# Staff and registration, whose calls succeed, come last.
CALLERS = ("none", "invalid", "partner", "auditor", "staff", "registration")
# Tested elsewhere: operations endpoints, and matching (owned by the matching tests).
EXCLUDED_PREFIXES = ("/health", "/metrics")
EXCLUDED_MODULES = ("services.identity.matching_api",)
EXCLUDED_TAGS = ("matching",)


def public() -> dict[str, int]:
    return dict.fromkeys(CALLERS, 200)


def read() -> dict[str, int]:
    return {"none": 401, "invalid": 401, "partner": 403, "auditor": 200, "staff": 200,
            "registration": 200}  # fmt: skip


def roster_write(status: int) -> dict[str, int]:
    return {"none": 401, "invalid": 401, "partner": 403, "auditor": 403, "staff": status,
            "registration": status}  # fmt: skip


def nik_only(status: int) -> dict[str, int]:
    return {"none": 401, "invalid": 401, "partner": 403, "auditor": 403, "staff": 403,
            "registration": status}  # fmt: skip


RULES: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/openapi.json"): public(),
    ("GET", "/docs"): public(),
    ("GET", "/docs/oauth2-redirect"): public(),
    ("GET", "/redoc"): public(),
    ("POST", "/inmates"): roster_write(201),
    ("GET", "/inmates"): read(),
    ("GET", "/inmates/{person_id}"): read(),
    ("POST", "/inmates/{person_id}/category"): roster_write(204),
    ("POST", "/inmates/{person_id}/transfer"): roster_write(204),
    ("POST", "/inmates/{person_id}/release"): roster_write(204),
    ("PUT", "/inmates/{person_id}/nik"): nik_only(200),
    ("GET", "/inmates/{person_id}/nik"): nik_only(200),
    ("POST", "/inmates/{person_id}/review"): nik_only(200),
    ("POST", "/roster/imports"): roster_write(201),
    ("GET", "/roster/imports/{run_id}"): read(),
    ("GET", "/duplicates"): read(),
    ("GET", "/lists/needs-recording"): read(),
    ("GET", "/lists/awaiting-review"): read(),
    ("GET", "/reports/nik-status"): read(),
    ("GET", "/reports/usage"): read(),
}

ROSTER_CSV = (
    b"register_number,name,sex,birth_place,birth_date,mother_name,admission_date\n"
    b"IMP-1,Eko,L,Barabai,1979-09-09,Nur,2024-01-10\n"
)


@dataclass
class World:
    person: str
    matched: str
    movable: dict[tuple[str, str], str]  # one person per action and caller
    run_id: str


def build_world(client: TestClient, api: Api) -> World:
    main = api.admit(person("W-001"))
    matched = api.admit(person("W-002", "Budi", nik=None, birth_date="1980-01-01"))
    api.client.put(
        f"/inmates/{matched}/nik", json={"nik": "6307060101800002"}, headers=auth("registration")
    )
    api.record_match(matched, MatchKind.MATCHED)
    movable = {
        (action, caller): api.admit(person(f"W-{action}-{caller}", f"Orang {action} {caller}",
                                           nik=None, birth_date=f"19{50 + i}-02-0{1 + j}"))
        for i, caller in enumerate(CALLERS)
        for j, action in enumerate(("transfer", "release"))
    }  # fmt: skip
    run = client.post("/roster/imports", files={"file": ("r.csv", ROSTER_CSV)}, headers=STAFF)
    assert run.status_code == 201
    return World(main, matched, movable, run.json()["id"])


Request = Callable[[TestClient, str], httpx.Response]


def requests_for(w: World) -> dict[tuple[str, str], Request]:
    p = f"/inmates/{w.person}"

    def get(path: str, **params: Any) -> Request:
        return lambda c, caller: c.get(path, params=params, headers=auth(caller))

    def send(method: str, path: Callable[[str], str], body: Callable[[str], Any]) -> Request:
        return lambda c, caller: c.request(
            method, path(caller), json=body(caller), headers=auth(caller)
        )

    def upload(c: TestClient, caller: str) -> httpx.Response:
        files = {"file": ("r.csv", ROSTER_CSV)}
        response: httpx.Response = c.post("/roster/imports", files=files, headers=auth(caller))
        return response

    return {
        ("GET", "/openapi.json"): get("/openapi.json"),
        ("GET", "/docs"): get("/docs"),
        ("GET", "/docs/oauth2-redirect"): get("/docs/oauth2-redirect"),
        ("GET", "/redoc"): get("/redoc"),
        ("POST", "/inmates"): send(
            "POST",
            lambda _: "/inmates",
            lambda caller: person(f"NEW-{caller}", nik=None, birth_date="1999-09-19"),
        ),
        ("GET", "/inmates"): get("/inmates"),
        ("GET", "/inmates/{person_id}"): get(p),
        ("POST", "/inmates/{person_id}/category"): send(
            "POST", lambda _: f"{p}/category", lambda _: {"category": "B.I"}
        ),
        ("POST", "/inmates/{person_id}/transfer"): send(
            "POST",
            lambda caller: f"/inmates/{w.movable['transfer', caller]}/transfer",
            lambda _: {"to_facility": "lapas-banjarmasin", "on": "2024-05-01"},
        ),
        ("POST", "/inmates/{person_id}/release"): send(
            "POST",
            lambda caller: f"/inmates/{w.movable['release', caller]}/release",
            lambda _: {"on": "2024-05-02"},
        ),
        ("PUT", "/inmates/{person_id}/nik"): send(
            "PUT", lambda _: f"{p}/nik", lambda _: {"nik": AHMAD_NIK}
        ),
        ("GET", "/inmates/{person_id}/nik"): get(f"{p}/nik", purpose="authorization test"),
        ("POST", "/inmates/{person_id}/review"): send(
            "POST", lambda _: f"/inmates/{w.matched}/review", lambda _: {"decision": "confirm"}
        ),
        ("POST", "/roster/imports"): upload,
        ("GET", "/roster/imports/{run_id}"): get(f"/roster/imports/{w.run_id}"),
        ("GET", "/duplicates"): get("/duplicates"),
        ("GET", "/lists/needs-recording"): get("/lists/needs-recording"),
        ("GET", "/lists/awaiting-review"): get("/lists/awaiting-review"),
        ("GET", "/reports/nik-status"): get("/reports/nik-status"),
        ("GET", "/reports/usage"): get(
            "/reports/usage", period_start="2024-01-01", period_end="2024-06-30"
        ),
    }


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, BaseRoute]]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRouter):
            yield from _walk(route.routes, prefix)
        elif isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                if method != "HEAD":
                    yield method, prefix + route.path, route


def excluded(path: str, route: BaseRoute) -> bool:
    if path.startswith(EXCLUDED_PREFIXES):
        return True
    endpoint = getattr(route, "endpoint", None)
    if getattr(endpoint, "__module__", "") in EXCLUDED_MODULES:
        return True
    return any(tag in EXCLUDED_TAGS for tag in getattr(route, "tags", None) or ())


def routes_of(client: TestClient) -> set[tuple[str, str]]:
    """Every method and path the app answers and this test answers for."""
    return {
        (method, path)
        for method, path, route in _walk(app_of(client).routes)
        if not excluded(path, route)
    }


def test_every_route_has_a_rule_and_every_rule_a_route(client: TestClient) -> None:
    routes = routes_of(client)
    openapi = {
        (method.upper(), path)
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        for method in operations
        if not path.startswith(EXCLUDED_PREFIXES)
    }

    assert openapi - routes <= {
        (m, p) for m, p, r in _walk(app_of(client).routes) if excluded(p, r)
    }, "OpenAPI operations the route walk missed"
    assert routes - RULES.keys() == set(), "routes without an authorization rule"
    assert RULES.keys() - routes == set(), "rules of routes that no longer exist"


def test_every_route_admits_exactly_the_callers_its_rule_names(
    client: TestClient, api: Api
) -> None:
    world = build_world(client, api)
    calls = requests_for(world)
    assert calls.keys() == RULES.keys()
    failures = []
    for route in sorted(RULES):
        for caller in CALLERS:
            expected = RULES[route][caller]
            response = calls[route](client, caller)
            if response.status_code != expected:
                failures.append(
                    f"{route} as {caller}: {response.status_code}, not {expected}: "
                    f"{response.text[:200]}"
                )
                continue
            if expected >= 400:
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["detail"], (route, caller)
                assert AHMAD_NIK not in response.text
            if expected == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
    assert failures == []


def test_the_same_key_as_a_bearer_token_is_the_same_caller(client: TestClient, api: Api) -> None:
    person_id = api.admit(person("W-001"))
    bearer = {"Authorization": f"Bearer {auth('registration')['X-API-Key']}"}
    partner = {"Authorization": f"Bearer {auth('partner')['X-API-Key']}"}

    ok = client.get(f"/inmates/{person_id}/nik", params={"purpose": "check"}, headers=bearer)
    refused = client.get("/inmates", headers=partner)

    assert (ok.status_code, refused.status_code) == (200, 403)
