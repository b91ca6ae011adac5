"""The pages: who is asking, in which language, and which view to render for them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.dashboard import operations, queries, views
from services.dashboard.container import Container
from services.dashboard.i18n import LANGUAGES, Language, Messages, language_of
from services.dashboard.sessions import COOKIE_NAME
from shared.http.auth import API_KEY_HEADER, Principal, Role

LANGUAGE_COOKIE = "sinergi_lang"
NIK_ROLES = frozenset({Role.STAFF, Role.AUDITOR, Role.REGISTRATION})
OPERATIONS_ROLES = frozenset({Role.STAFF, Role.AUDITOR})
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Pages:
    def __init__(self, c: Container) -> None:
        self.c = c
        self.zone = ZoneInfo(c.settings.timezone)

    # --- who and in which language -----------------------------------------------------

    def language(self, request: Request) -> Language:
        default = self.c.settings.language
        asked = request.query_params.get("lang")
        if asked in LANGUAGES:
            return language_of(asked, default)
        return language_of(request.cookies.get(LANGUAGE_COOKIE), default)

    def principal(self, request: Request) -> Principal | None:
        header = request.headers.get(API_KEY_HEADER)
        if header is not None:
            return self.c.sessions.from_key(header)
        return self.c.sessions.from_cookie(request.cookies.get(COOKIE_NAME))

    def local_time(self, iso: str) -> str:
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            return iso
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    # --- rendering ---------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        *,
        principal: Principal | None,
        page: str,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        language = self.language(request)
        other = "en" if language == "id" else "id"
        html = self.c.templates.get_template(template).render(
            t=Messages(language),
            lang=language,
            language_link=f"{request.url.path}?{urlencode({'lang': other})}",
            principal=principal,
            page=page,
            today=self.c.today(),
            sees_nik=principal is not None and principal.role in NIK_ROLES,
            sees_operations=principal is not None and principal.role in OPERATIONS_ROLES,
            local_time=self.local_time,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE, language, max_age=365 * 86400, httponly=True, samesite="lax"
            )
        return response

    def gate(
        self, request: Request, allowed: frozenset[Role] | None, page: str
    ) -> Principal | Response:
        """The caller, or the response that stops the request (login form, 401 or 403)."""
        principal = self.principal(request)
        if principal is None:
            if API_KEY_HEADER.lower() in request.headers:
                return self.render(
                    request, "login.html", principal=None, page="login", status_code=401,
                    error=True,
                )  # fmt: skip
            return RedirectResponse("/login", status_code=303)
        if allowed is not None and principal.role not in allowed:
            return self.render(
                request, "forbidden.html", principal=principal, page=page, status_code=403
            )
        return principal


def _scope(principal: Principal) -> str | None:
    """The partner whose data alone this login may see; None for every other role."""
    return principal.partner if principal.role is Role.PARTNER else None


def build_router(c: Container) -> APIRouter:
    pages = Pages(c)
    router = APIRouter(include_in_schema=False)
    settings = c.settings

    @router.get("/")
    async def home() -> RedirectResponse:
        return RedirectResponse("/agreements", status_code=303)

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        if pages.principal(request) is not None:
            return RedirectResponse("/agreements", status_code=303)
        return pages.render(request, "login.html", principal=None, page="login", error=False)

    @router.post("/login")
    async def login(request: Request, api_key: Annotated[str, Form(max_length=512)]) -> Response:
        cookie = c.sessions.issue(api_key.strip())
        if cookie is None:
            return pages.render(
                request, "login.html", principal=None, page="login", status_code=401, error=True
            )
        response = RedirectResponse("/agreements", status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=c.sessions.max_age_s,
            httponly=True,
            secure=settings.dashboard_cookie_secure,
            samesite="lax",
        )
        return response

    @router.post("/logout")
    async def logout() -> RedirectResponse:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE_NAME, httponly=True, samesite="lax")
        return response

    @router.get("/agreements")
    async def agreements(request: Request) -> Response:
        who = pages.gate(request, None, "agreements")
        if isinstance(who, Response):
            return who
        scope = _scope(who)
        facts = await asyncio.to_thread(queries.agreement_facts, c.engine, scope)
        view = views.agreements_page(
            facts.agreements,
            today=c.today(),
            horizon_days=settings.dashboard_expiry_horizon_days,
            partner=scope,
            partner_names=facts.partner_names,
            sessions_held=facts.sessions_held,
        )
        return pages.render(request, "agreements.html", principal=who, page="agreements", view=view)

    @router.get("/action-plans")
    async def action_plans(request: Request) -> Response:
        who = pages.gate(request, None, "action_plans")
        if isinstance(who, Response):
            return who
        scope = _scope(who)
        facts = await asyncio.to_thread(queries.agreement_facts, c.engine, scope)
        items = await asyncio.to_thread(queries.items, c.engine, scope)
        plans = views.action_plans(
            facts.agreements,
            items,
            today=c.today(),
            partner=scope,
            partner_names=facts.partner_names,
            sessions_held=facts.sessions_held,
        )
        return pages.render(
            request, "action_plans.html", principal=who, page="action_plans", plans=plans
        )

    @router.get("/nik")
    async def nik(request: Request) -> Response:
        who = pages.gate(request, NIK_ROLES, "nik")
        if isinstance(who, Response):
            return who
        view = views.nik_page(await asyncio.to_thread(queries.nik_counts, c.engine))
        return pages.render(request, "nik.html", principal=who, page="nik", view=view)

    @router.get("/operations")
    async def operations_view(request: Request) -> Response:
        who = pages.gate(request, OPERATIONS_ROLES, "operations")
        if isinstance(who, Response):
            return who
        count, latest = await operations.dead_letters(
            c.redis, settings.dashboard_dead_letters_shown
        )
        groups = await operations.groups(c.redis, settings.lag_threshold + 1)
        view = views.operations_page(count, latest, groups, lag_threshold=settings.lag_threshold)
        return pages.render(request, "operations.html", principal=who, page="operations", view=view)

    return router
