"""Prometheus metrics shared by the Sinergi services, one registry per ``Metrics``."""

from __future__ import annotations

import logging
import time
from typing import Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "HANDLING_BUCKETS",
    "HTTP_BUCKETS",
    "SLOW_REQUEST_S",
    "UNMATCHED_ROUTE",
    "AccessLog",
    "HttpMetricsMiddleware",
    "Metrics",
    "instrument_http",
]

HANDLING_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Which requests get an access-log line: every one, only refusals, failures and slow ones
# (the default), or none. Rates and latencies of all of them are in the metrics either way.
AccessLog = Literal["all", "errors", "off"]
SLOW_REQUEST_S = 1.0
access_log = logging.getLogger("sinergi.access")

# Route label for requests no route matched (404s, scanners): one series, not one per path.
UNMATCHED_ROUTE = "<unmatched>"

_STREAM = ("service", "stream")
_GROUP = ("service", "stream", "group")


class Metrics:
    """All Sinergi series; ``service`` is a label on every one of them."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        registry = self.registry
        ProcessCollector(registry=registry)
        self.published = Counter(
            "sinergi_events_published_total",
            "Events appended to a stream.",
            _STREAM,
            registry=registry,
        )
        self.consumed = Counter(
            "sinergi_events_consumed_total",
            "Events handled successfully by a consumer group.",
            (*_GROUP, "type"),
            registry=registry,
        )
        self.failed = Counter(
            "sinergi_events_failed_total",
            "Event handling attempts that raised.",
            (*_GROUP, "type"),
            registry=registry,
        )
        self.dead_lettered = Counter(
            "sinergi_events_dead_lettered_total",
            "Events moved to the dead-letter stream, by reason code.",
            (*_GROUP, "reason"),
            registry=registry,
        )
        self.lag = Gauge(
            "sinergi_consumer_lag_entries",
            "Stream entries not yet delivered to the consumer group.",
            _GROUP,
            registry=registry,
        )
        self.pending = Gauge(
            "sinergi_consumer_pending_entries",
            "Entries delivered to the consumer group but not yet acknowledged.",
            _GROUP,
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "sinergi_event_handling_seconds",
            "Time spent handling one event.",
            _GROUP,
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "sinergi_outbox_pending_messages",
            "Outbox rows not yet published.",
            ("service",),
            registry=registry,
        )
        self.readiness = Gauge(
            "sinergi_readiness_check_passing",
            "1 if the readiness check passed when /health/ready was last asked, else 0.",
            ("service", "check"),
            registry=registry,
        )
        self.http_requests = Counter(
            "sinergi_http_requests_total",
            "HTTP requests by route template and status code.",
            ("service", "method", "route", "status"),
            registry=registry,
        )
        self.http_seconds = Histogram(
            "sinergi_http_request_duration_seconds",
            "HTTP request duration by route template.",
            ("service", "method", "route"),
            buckets=HTTP_BUCKETS,
            registry=registry,
        )

    def count_published(self, stream: str, n: int = 1) -> None:
        self.published.labels(self.service, stream).inc(n)

    def count_consumed(self, stream: str, group: str, type: str, n: int = 1) -> None:
        self.consumed.labels(self.service, stream, group, type).inc(n)

    def count_failed(self, stream: str, group: str, type: str) -> None:
        self.failed.labels(self.service, stream, group, type).inc()

    def count_dead_lettered(self, stream: str, group: str, reason: str) -> None:
        self.dead_lettered.labels(self.service, stream, group, reason).inc()

    def observe_handling(self, stream: str, group: str, seconds: float) -> None:
        self.handling_seconds.labels(self.service, stream, group).observe(seconds)

    def set_lag(self, stream: str, group: str, lag: int, pending: int) -> None:
        self.lag.labels(self.service, stream, group).set(lag)
        self.pending.labels(self.service, stream, group).set(pending)

    def set_outbox_pending(self, n: int) -> None:
        self.outbox_pending.labels(self.service).set(n)

    def set_readiness(self, check: str, ok: bool) -> None:
        self.readiness.labels(self.service, check).set(1 if ok else 0)

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(self.service, method, route, str(status)).inc()
        self.http_seconds.labels(self.service, method, route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """Prometheus text exposition of this registry and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class HttpMetricsMiddleware:
    """Pure ASGI middleware; labels by the matched route template, never the raw path.

    Also the access log (uvicorn's own is off): one line per request chosen by `access_log`,
    with the route template rather than the path, so no identifier in a URL reaches a log.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: AccessLog = "errors") -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # if the app raises before responding
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe_http(scope["method"], route, status, seconds)
            if self.access_log == "all" or (
                self.access_log == "errors" and (status >= 400 or seconds >= SLOW_REQUEST_S)
            ):
                _log_access(scope["method"], route, status, seconds)


def _log_access(method: str, route: str, status: int, seconds: float) -> None:
    access_log.info(
        "%s %s %d %.1f ms",
        method,
        route,
        status,
        seconds * 1000,
        extra={
            "http_method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        },
    )


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/agreements/{agreement_id}``) set by the router."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


def instrument_http(app: Starlette, metrics: Metrics, access_log: AccessLog = "errors") -> None:
    """Record ``http_requests``/``http_seconds`` for every request, and the access log lines
    `access_log` asks for; call before startup."""
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics, access_log=access_log)
