"""The civil registry (Dukcapil) stand-in: NIK verification over HTTP, DCI-style.

Client API (``Authorization: Bearer <client token>``):

- ``POST /registry/sync/search``: at most 100 items; 200 with the on-search answer.
- ``POST /registry/async/search``: at most 1000 items; 202 with
  ``{"message": {"ack_status": "ACK", "timestamp", "transaction_id", "correlation_id"}}``;
  the answer is POSTed to ``header.callback_url`` if given, and kept for
- ``POST /registry/txn/status`` ``{"transaction_id"}``: 200 with the answer when done,
  202 ``{"status": "pending", ...}`` before, 404 if unknown (or another client's).
- ``GET /registry/changes?after=<cursor>&limit=<1..1000>``: the deaths/corrections feed.

Admin API (``Authorization: Bearer <SINERGI_REGISTRY_ADMIN_TOKEN>``): ``GET|PUT
/admin/faults``, ``POST /admin/changes``, ``GET /admin/usage``. Health: ``/health/live``,
``/health/ready``, ``/metrics``. Errors are problem documents with a ``code`` member.

All state lives in memory in one process: run a single worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter as PromCounter
from pydantic import BaseModel, ValidationError

from services.civil_registry.config import SERVICE, RegistrySettings
from services.civil_registry.guards import (
    FaultDecision,
    Faults,
    RateLimiter,
    SeenIds,
    Usage,
    retry_after_header,
)
from services.civil_registry.population import Population
from services.civil_registry.registry import Registry, UnknownNik, now_iso
from services.civil_registry.schemas import (
    ChangeRequest,
    FaultConfig,
    SearchRequest,
    TxnStatusRequest,
)
from services.civil_registry.transactions import CallbackSender, Transaction, Transactions
from shared.http.problems import Problem, install_problem_handlers, problem_responses
from shared.observability.health import CheckResult, health_router
from shared.observability.logging import configure_logging
from shared.observability.metrics import Metrics, instrument_http

__all__ = ["RegistryService", "create_app"]

log = logging.getLogger(__name__)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dukcapil"'}
_JSON = "application/json"
_M = TypeVar("_M", bound=BaseModel)


def _problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    headers: dict[str, str] | None = None,
    **extensions: object,
) -> Problem:
    return Problem(status, title, detail, "about:blank", headers=headers, code=code, **extensions)


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class RegistryService:
    """Everything the routes share; built once per app."""

    settings: RegistrySettings
    metrics: Metrics
    limiter: RateLimiter
    seen: SeenIds
    faults: Faults
    usage: Usage
    transactions: Transactions
    items_total: PromCounter
    registry: Registry | None = None
    callbacks: CallbackSender | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: RegistrySettings) -> RegistryService:
        metrics = Metrics(SERVICE)
        return cls(
            settings=settings,
            metrics=metrics,
            limiter=RateLimiter(settings.registry_rate_limit_per_s, settings.registry_rate_burst),
            seen=SeenIds(settings.registry_seen_ids_capacity, settings.registry_seen_ids_ttl_s),
            faults=Faults(settings.default_faults(), settings.registry_fault_seed),
            usage=Usage(),
            transactions=Transactions(
                settings.registry_results_capacity, settings.registry_results_ttl_s
            ),
            items_total=PromCounter(
                "sinergi_registry_items_total",
                "Search items answered, by client and outcome (found, not_found, rejected).",
                ("service", "client", "outcome"),
                registry=metrics.registry,
            ),
        )

    # -- startup ------------------------------------------------------------------------

    def build_population(self) -> None:
        s = self.settings
        started = time.perf_counter()
        people = Population(s.registry_population, s.registry_seed).build()
        self.registry = Registry(people, s.registry_id)
        # A million long-lived records would make every full collection walk them all:
        # move them out of the collector's sight, keeping pauses off the lookup path.
        gc.collect()
        gc.freeze()
        log.info(
            "population of %d people built in %.2f s (seed %d)",
            len(people),
            time.perf_counter() - started,
            s.registry_seed,
        )

    # -- auth and the gate in front of every client request -------------------------------

    def client_of(self, request: Request) -> str:
        token = _bearer_token(request)
        if token is None:
            raise _problem(401, "Unauthorized", "missing bearer token", "unauthorized", _CHALLENGE)
        found: str | None = None
        for candidate, client in self.settings.registry_client_tokens.items():
            if hmac.compare_digest(candidate.encode(), token.encode()):  # no early exit
                found = client
        if found is None:
            raise _problem(401, "Unauthorized", "invalid bearer token", "unauthorized", _CHALLENGE)
        return found

    def require_admin(self, request: Request) -> None:
        expected = self.settings.registry_admin_token
        token = _bearer_token(request)
        if not expected or token is None or not hmac.compare_digest(expected, token):
            detail = "admin API disabled" if not expected else "admin token required"
            raise _problem(401, "Unauthorized", detail, "unauthorized", _CHALLENGE)

    async def gate(self, request: Request, kind: str) -> tuple[str, FaultDecision]:
        """Outage, auth, rate limit, injected error and latency, in that order."""
        if self.faults.config.outage:
            raise _problem(
                503, "Service Unavailable", "registry outage", "unavailable", {"Retry-After": "5"}
            )
        client = self.client_of(request)
        usage = self.usage.of(client)
        usage.requests[kind] += 1
        wait_s = self.limiter.acquire(client)
        if wait_s is not None:
            usage.responses["throttled"] += 1
            raise _problem(
                429,
                "Too Many Requests",
                f"rate limit of {self.limiter.rate:g} requests/s exceeded",
                "rjct.rate_limited",
                {"Retry-After": retry_after_header(wait_s)},
                retry_after_s=round(wait_s, 3),
            )
        decision = self.faults.decide()
        if decision.latency_s > 0:
            await asyncio.sleep(decision.latency_s)
        if decision.error:
            usage.responses["unavailable"] += 1
            raise _problem(
                503, "Service Unavailable", "registry temporarily unavailable", "unavailable"
            )
        if self.registry is None:
            raise _problem(503, "Service Unavailable", "registry is starting", "unavailable")
        return client, decision

    @staticmethod
    async def hang(decision: FaultDecision) -> None:
        if decision.hang_s > 0:
            await asyncio.sleep(decision.hang_s)

    # -- search -------------------------------------------------------------------------

    def admit_search(self, search: SearchRequest, client: str, max_items: int) -> None:
        items = len(search.message.search_request)
        if items > max_items:
            raise _problem(
                413,
                "Content Too Large",
                f"at most {max_items} items per request on this endpoint",
                "rjct.search_request.too_large",
            )
        if search.header.total_count != items:
            raise _problem(
                400,
                "Bad Request",
                "header.total_count differs from the number of search_request items",
                "rjct.total_count.invalid",
            )
        if search.header.sender_id != client:
            raise _problem(
                403,
                "Forbidden",
                "header.sender_id is not the client this token was issued to",
                "rjct.sender_id.invalid",
            )
        ids = (
            ("message_id", search.header.message_id),
            ("transaction_id", search.message.transaction_id),
        )
        for kind, value in ids:
            if self.seen.contains(client, kind, value):
                self.usage.of(client).responses["duplicate"] += 1
                raise _problem(
                    409, "Conflict", f"{kind} was already used", "rjct.duplicate", duplicate=kind
                )
        for kind, value in ids:
            self.seen.add(client, kind, value)

    def answer(self, search: SearchRequest, client: str, correlation_id: str) -> bytes:
        assert self.registry is not None
        body, outcomes = self.registry.on_search(search, client, correlation_id)
        self.count_items(client, outcomes)
        return _dumps(body)

    def count_items(self, client: str, outcomes: Counter[str]) -> None:
        usage = self.usage.of(client)
        for outcome, n in outcomes.items():
            usage.items[outcome] += n
            self.items_total.labels(SERVICE, client, outcome).inc(n)

    async def process_async(self, txn: Transaction, search: SearchRequest) -> None:
        delay_ms = self.faults.config.async_delay_ms
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000.0)
        txn.result = self.answer(search, txn.client, txn.correlation_id)
        log.debug(
            "async search done: %d items", len(search.message.search_request),
            extra={"transaction_id": txn.transaction_id, "client": txn.client},
        )  # fmt: skip
        url = search.header.callback_url
        if url and self.callbacks is not None:
            await self.callbacks.send(url, txn.result, txn.transaction_id)

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("async search task failed", exc_info=task.exception())

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for the background transactions (and callbacks) still running."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout_s)

    # -- faults -------------------------------------------------------------------------

    def set_faults(self, config: FaultConfig) -> None:
        self.faults.configure(config)
        s = self.settings
        if config.rate_limit_per_s is None:
            rate, burst = s.registry_rate_limit_per_s, s.registry_rate_burst
        else:
            rate = config.rate_limit_per_s
            burst = config.rate_burst or max(1.0, 2.0 * rate)
        self.limiter.configure(rate, config.rate_burst or burst)

    def faults_view(self) -> dict[str, Any]:
        return {
            **self.faults.config.model_dump(),
            "effective_rate_limit_per_s": self.limiter.rate,
            "effective_rate_burst": self.limiter.burst,
        }


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def _parse(request: Request, model: type[_M]) -> _M:
    """Validate the raw body (after the gate, so auth and limits come first)."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise RequestValidationError(errors) from None


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body the route parses itself (see ``_parse``)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {_JSON: {"schema": ref}}}}


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    configure_logging(SERVICE, settings.log_level)
    svc = RegistryService.from_settings(settings)
    if not settings.registry_client_tokens:
        log.warning("no client tokens configured (SINERGI_REGISTRY_CLIENT_TOKENS)")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(svc.build_population)
        svc.callbacks = CallbackSender(
            settings.registry_callback_attempts,
            settings.registry_callback_backoff_s,
            settings.registry_callback_timeout_s,
        )
        log.info("civil registry stand-in ready on port %d", settings.http_port)
        try:
            yield
        finally:
            for task in list(svc.tasks):
                task.cancel()
            await svc.drain(timeout_s=5.0)
            await svc.callbacks.aclose()
            log.info("civil registry stand-in stopped")

    app = FastAPI(
        title="Sinergi civil registry stand-in",
        summary="Dukcapil NIK verification (SESUAI / TIDAK SESUAI), DCI-style, for development.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.registry_service = svc
    install_problem_handlers(app)
    instrument_http(app, svc.metrics, svc.settings.access_log)

    async def population_ready() -> CheckResult:
        if svc.registry is None:
            return CheckResult(False, "population is being built")
        return CheckResult(True, f"{len(svc.registry)} people")

    app.include_router(health_router({"population": population_ready}, svc.metrics))

    client_problems = problem_responses(400, 401, 403, 409, 413, 422, 429, 503)

    @app.post(
        "/registry/sync/search",
        tags=["registry"],
        responses=client_problems,
        openapi_extra=_body_schema(SearchRequest),
    )
    async def sync_search(request: Request) -> Response:
        client, decision = await svc.gate(request, "sync_search")
        search = await _parse(request, SearchRequest)
        svc.admit_search(search, client, settings.registry_sync_max_items)
        payload = svc.answer(search, client, str(uuid.uuid4()))
        await svc.hang(decision)
        return Response(payload, media_type=_JSON)

    @app.post(
        "/registry/async/search",
        status_code=202,
        tags=["registry"],
        responses=client_problems,
        openapi_extra=_body_schema(SearchRequest),
    )
    async def async_search(request: Request) -> JSONResponse:
        client, decision = await svc.gate(request, "async_search")
        search = await _parse(request, SearchRequest)
        svc.admit_search(search, client, settings.registry_async_max_items)
        correlation_id = str(uuid.uuid4())
        txn = svc.transactions.open(client, search.message.transaction_id, correlation_id)
        svc.spawn(svc.process_async(txn, search))
        ack = {
            "message": {
                "ack_status": "ACK",
                "timestamp": now_iso(),
                "transaction_id": txn.transaction_id,
                "correlation_id": correlation_id,
            }
        }
        await svc.hang(decision)
        return JSONResponse(ack, status_code=202)

    @app.post(
        "/registry/txn/status",
        tags=["registry"],
        responses={
            202: {"description": "still pending"},
            **problem_responses(401, 404, 422, 429, 503),
        },
        openapi_extra=_body_schema(TxnStatusRequest),
    )
    async def txn_status(request: Request) -> Response:
        client, decision = await svc.gate(request, "txn_status")
        query = await _parse(request, TxnStatusRequest)
        txn = svc.transactions.get(client, query.transaction_id)
        if txn is None:
            raise _problem(404, "Not Found", "no such transaction", "rjct.transaction_id.unknown")
        await svc.hang(decision)
        if txn.result is None:
            pending = {
                "status": "pending",
                "transaction_id": txn.transaction_id,
                "correlation_id": txn.correlation_id,
            }
            return JSONResponse(pending, status_code=202)
        return Response(txn.result, media_type=_JSON)

    @app.get(
        "/registry/changes", tags=["registry"], responses=problem_responses(401, 422, 429, 503)
    )
    async def changes(
        request: Request,
        after: int = Query(default=0, ge=0),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> JSONResponse:
        _, decision = await svc.gate(request, "changes")
        assert svc.registry is not None
        page, next_cursor = svc.registry.changes_after(after, limit)
        await svc.hang(decision)
        return JSONResponse({"changes": [c.as_dict() for c in page], "next": next_cursor})

    @app.get("/admin/faults", tags=["admin"], responses=problem_responses(401))
    async def get_faults(request: Request) -> JSONResponse:
        svc.require_admin(request)
        return JSONResponse(svc.faults_view())

    @app.put(
        "/admin/faults",
        tags=["admin"],
        responses=problem_responses(401, 422),
        openapi_extra=_body_schema(FaultConfig),
    )
    async def put_faults(request: Request) -> JSONResponse:
        svc.require_admin(request)
        submitted = await _parse(request, FaultConfig)
        defaults = settings.default_faults().model_dump()
        config = FaultConfig.model_validate(
            {**defaults, **submitted.model_dump(include=submitted.model_fields_set)}
        )
        svc.set_faults(config)
        log.info("faults set", extra={"faults": config.model_dump()})
        return JSONResponse(svc.faults_view())

    @app.post(
        "/admin/changes",
        status_code=201,
        tags=["admin"],
        responses=problem_responses(401, 404, 422),
        openapi_extra=_body_schema(ChangeRequest),
    )
    async def post_change(request: Request) -> JSONResponse:
        svc.require_admin(request)
        body = await _parse(request, ChangeRequest)
        if svc.registry is None:
            raise _problem(503, "Service Unavailable", "registry is starting", "unavailable")
        try:
            change = svc.registry.apply_change(
                body.nik,
                body.change,
                body.fields,
                {str(name): value for name, value in (body.new_values or {}).items()},
            )
        except UnknownNik:
            raise _problem(404, "Not Found", "no such NIK", "rjct.nik.unknown") from None
        except ValueError as exc:
            raise _problem(422, "Unprocessable Content", str(exc), "rjct.change.invalid") from None
        log.info("registry change %d applied: %s", change.cursor, change.change)
        return JSONResponse(change.as_dict(), status_code=201)

    @app.get("/admin/usage", tags=["admin"], responses=problem_responses(401))
    async def get_usage(request: Request) -> JSONResponse:
        svc.require_admin(request)
        return JSONResponse({"clients": svc.usage.snapshot()})

    _register_schemas(app, SearchRequest, TxnStatusRequest, FaultConfig, ChangeRequest)
    return app


def _register_schemas(app: FastAPI, *models: type[BaseModel]) -> None:
    """Put the manually parsed bodies' schemas into the OpenAPI components."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            own = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(own.pop("$defs", {}))
            components[model.__name__] = own
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
