"""Who may call what: every route of the API against every kind of caller.

The table below is the rule book. A route added to the app without a row here fails the
test, and so does a row whose route is gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Route

from tests.integration.agreements.support import (
    OTHER_PARTNER,
    OWN_PARTNER,
    SIGNATORIES,
    STAFF,
    Api,
    app_of,
    auth,
)

# Callers, in the order they call each route: staff, whose writes succeed, comes last.
CALLERS = ("none", "invalid", "auditor", "partner-other", "partner-own", "staff")
HIDDEN = "200, without the other partner's data"  # lists and reports: filtered, not refused


def public() -> dict[str, int | str]:
    return dict.fromkeys(CALLERS, 200)


def read() -> dict[str, int | str]:
    return {"none": 401, "invalid": 401, "auditor": 200, "partner-other": 404,
            "partner-own": 200, "staff": 200}  # fmt: skip


def listing() -> dict[str, int | str]:
    return {**read(), "partner-other": HIDDEN}


def staff_only(status: int) -> dict[str, int | str]:
    return {"none": 401, "invalid": 401, "auditor": 403, "partner-other": 403,
            "partner-own": 403, "staff": status}  # fmt: skip


RULES: dict[tuple[str, str], dict[str, int | str]] = {
    ("GET", "/openapi.json"): public(),
    ("GET", "/docs"): public(),
    ("GET", "/docs/oauth2-redirect"): public(),
    ("GET", "/redoc"): public(),
    ("GET", "/health/live"): public(),
    ("GET", "/health/ready"): public(),
    ("GET", "/metrics"): public(),
    ("GET", "/partners"): listing(),
    ("POST", "/partners"): staff_only(201),
    ("GET", "/partners/{partner_id}"): read(),
    ("PATCH", "/partners/{partner_id}"): staff_only(204),
    ("GET", "/agreements"): listing(),
    ("POST", "/agreements"): staff_only(201),
    ("GET", "/agreements/{agreement_id}"): read(),
    ("POST", "/agreements/{agreement_id}/sign"): staff_only(204),
    ("POST", "/agreements/{agreement_id}/terminate"): staff_only(204),
    ("POST", "/agreements/{agreement_id}/renewals"): staff_only(201),
    ("POST", "/agreements/{agreement_id}/amendments"): staff_only(201),
    ("POST", "/agreements/{agreement_id}/action-plan/items"): staff_only(201),
    # a partner may attach documents to its own agreements, and sees no other's
    ("POST", "/agreements/{agreement_id}/documents"): {
        **staff_only(201),
        "partner-own": 201,
        "partner-other": 404,
    },
    ("GET", "/agreements/{agreement_id}/documents/{sha256}"): read(),
    ("GET", "/reports/realisation"): listing(),
    ("POST", "/calendar/advance"): staff_only(200),
}


@dataclass
class World:
    own_partner: str
    other_partner: str
    agreement: str  # the own partner's active agreement
    to_sign: str
    to_terminate: str
    document: str
    other_agreement: str


def build_world(api: Api) -> World:
    own = api.register_partner(OWN_PARTNER, "health")
    other = api.register_partner(OTHER_PARTNER, "education")
    agreement = api.active_agreement(own, ["mobile_clinic"], "PKS-DINKES")
    api.add_item(agreement, "mobile_clinic", "2024-01-01", "2024-12-31")
    content = b"signed agreement"
    uploaded = api.client.post(
        f"/agreements/{agreement}/documents", files={"file": ("pks.pdf", content)}, headers=STAFF
    )
    assert uploaded.status_code == 201
    to_sign = api.draft(own, "2030-01-01", "2030-12-31", ["drug_counselling"], "PKS-TO-SIGN")
    to_terminate = api.draft(own, "2027-01-01", "2027-12-31", ["mobile_clinic"], "PKS-TO-END")
    api.sign(to_terminate, "2024-05-01")
    other_agreement = api.active_agreement(other, ["equivalency_class"], "PKS-DISDIK")
    api.add_item(other_agreement, "equivalency_class", "2024-01-01", "2024-12-31")
    return World(
        own, other, agreement, to_sign, to_terminate, hashlib.sha256(content).hexdigest(),
        other_agreement,
    )  # fmt: skip


Request = Callable[[TestClient, dict[str, str]], httpx.Response]


def requests_for(w: World) -> dict[tuple[str, str], Request]:
    a = f"/agreements/{w.agreement}"
    item = {
        "programme_kind": "mobile_clinic",
        "description": "Mobile clinic visits",
        "target_quantity": 4,
        "unit": "visits",
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
        "responsible": "partner",
    }
    draft = {
        "partner_id": w.own_partner,
        "facility_number": "PKS-NEW",
        "partner_number": "P-NEW",
        "title": "New",
        "programme_kinds": ["mobile_clinic"],
        "start_date": "2031-01-01",
        "end_date": "2031-12-31",
    }
    renewal = {
        "facility_number": "PKS-RENEWAL",
        "partner_number": "P-RENEWAL",
        "start_date": "2027-01-01",
        "end_date": "2029-12-31",
    }

    def get(path: str, **params: Any) -> Request:
        return lambda c, h: c.get(path, params=params, headers=h)

    def post(path: str, body: dict[str, Any] | None = None) -> Request:
        return lambda c, h: c.post(path, json=body, headers=h)

    def upload(c: TestClient, h: dict[str, str]) -> httpx.Response:
        files = {"file": ("annex.pdf", f"annex sent with {h}".encode(), "application/pdf")}
        response: httpx.Response = c.post(f"{a}/documents", files=files, headers=h)
        return response

    return {
        ("GET", "/openapi.json"): get("/openapi.json"),
        ("GET", "/docs"): get("/docs"),
        ("GET", "/docs/oauth2-redirect"): get("/docs/oauth2-redirect"),
        ("GET", "/redoc"): get("/redoc"),
        ("GET", "/health/live"): get("/health/live"),
        ("GET", "/health/ready"): get("/health/ready"),
        ("GET", "/metrics"): get("/metrics"),
        ("GET", "/partners"): get("/partners"),
        ("POST", "/partners"): post(
            "/partners", {"code": "dlh", "name": "DLH", "kind": "environment"}
        ),
        ("GET", "/partners/{partner_id}"): get(f"/partners/{w.own_partner}"),
        ("PATCH", "/partners/{partner_id}"): lambda c, h: c.patch(
            f"/partners/{w.own_partner}", json={"name": "Dinas Kesehatan HST"}, headers=h
        ),
        ("GET", "/agreements"): get("/agreements"),
        ("POST", "/agreements"): post("/agreements", draft),
        ("GET", "/agreements/{agreement_id}"): get(a),
        ("POST", "/agreements/{agreement_id}/sign"): post(
            f"/agreements/{w.to_sign}/sign", {"signed_on": "2024-05-01", "signatories": SIGNATORIES}
        ),
        ("POST", "/agreements/{agreement_id}/terminate"): post(
            f"/agreements/{w.to_terminate}/terminate",
            {"reason": "budget cut", "terminated_on": "2024-06-01"},
        ),
        ("POST", "/agreements/{agreement_id}/renewals"): post(f"{a}/renewals", renewal),
        ("POST", "/agreements/{agreement_id}/amendments"): post(
            f"{a}/amendments",
            {"rationale": "clearer title", "effective_on": "2024-06-01", "title": "Clinic visits"},
        ),
        ("POST", "/agreements/{agreement_id}/action-plan/items"): post(
            f"{a}/action-plan/items", item
        ),
        ("POST", "/agreements/{agreement_id}/documents"): upload,
        ("GET", "/agreements/{agreement_id}/documents/{sha256}"): get(
            f"{a}/documents/{w.document}"
        ),
        ("GET", "/reports/realisation"): get("/reports/realisation"),
        ("POST", "/calendar/advance"): post("/calendar/advance"),
    }


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
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
                    yield method, prefix + route.path


def routes_of(client: TestClient) -> set[tuple[str, str]]:
    """Every method and path the app answers, however its routers are nested."""
    return set(_walk(app_of(client).routes))


def assert_hidden(path: str, response: httpx.Response, w: World) -> None:
    """The other partner got a 200 answer holding none of the own partner's data."""
    text = response.text
    assert w.agreement not in text and w.own_partner not in text, path
    assert f'"{OWN_PARTNER}"' not in text, path
    body = response.json()
    if path == "/partners":
        assert [p["code"] for p in body] == [OTHER_PARTNER]
    elif path == "/agreements":
        assert [a["id"] for a in body["data"]] == [w.other_agreement]
    else:
        assert {r["agreement_id"] for r in body["rows"]} == {w.other_agreement}


def test_every_route_admits_exactly_the_callers_its_rule_names(
    client: TestClient, api: Api
) -> None:
    routes = routes_of(client)
    openapi = {
        (method.upper(), path)
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        for method in operations
    }
    assert openapi <= routes
    assert routes - RULES.keys() == set(), "routes without an authorization rule"
    assert RULES.keys() - routes == set(), "rules of routes that no longer exist"

    world = build_world(api)
    calls = requests_for(world)
    assert calls.keys() == RULES.keys()
    failures = []
    for route in sorted(RULES):
        for caller in CALLERS:
            expected = RULES[route][caller]
            response = calls[route](client, auth(caller))
            status = 200 if expected == HIDDEN else expected
            if response.status_code != status:
                failures.append(f"{route} as {caller}: {response.status_code}, not {expected}")
                continue
            if status >= 400:
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["detail"], (route, caller)
            if status == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
            if expected == HIDDEN:
                assert_hidden(route[1], response, world)
    assert failures == []


def test_a_partner_never_reads_another_partners_agreements(client: TestClient, api: Api) -> None:
    world = build_world(api)
    other = auth("partner-other")
    own = auth("partner-own")

    def get(path: str, headers: dict[str, str], **params: str) -> httpx.Response:
        response: httpx.Response = client.get(path, params=params, headers=headers)
        return response

    # asking by the other partner's code gives nothing, never their data
    assert get("/agreements", other, partner=OWN_PARTNER).json() == {"data": [], "count": 0}
    assert get("/reports/realisation", other, partner=OWN_PARTNER).status_code == 404
    assert get("/partners", other, facility="rutan-barabai").json()[0]["code"] == OTHER_PARTNER
    own_report = get("/reports/realisation", own, agreement_id=world.other_agreement)
    assert own_report.status_code == 200 and own_report.json() == {"rows": []}
    csv = get("/reports/realisation", other, format="csv").text
    assert world.agreement not in csv and world.other_agreement in csv
    # the own partner sees its agreement and its documents
    assert [a["id"] for a in get("/agreements", own, status="active").json()["data"]] == [
        world.agreement
    ]
    assert get(f"/agreements/{world.agreement}/documents/{world.document}", own).status_code == 200
    # the Bearer form of the same key is the same caller
    bearer = {"Authorization": f"Bearer {own['X-API-Key']}"}
    assert get(f"/agreements/{world.other_agreement}", bearer).status_code == 404
    assert get(f"/agreements/{world.agreement}", bearer).status_code == 200
