"""The FastAPI application every service starts from: problems, correlation, metrics, health."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from shared.http.correlation import CorrelationMiddleware
from shared.http.problems import install_problem_handlers
from shared.observability.health import ChecksSource, health_router
from shared.observability.metrics import AccessLog, Metrics, instrument_http


def service_app(
    *,
    title: str,
    summary: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    metrics: Metrics,
    readiness: ChecksSource,
    access_log: AccessLog = "errors",
) -> FastAPI:
    app = FastAPI(title=title, summary=summary, version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(CorrelationMiddleware)
    instrument_http(app, metrics, access_log)
    app.include_router(health_router(readiness, metrics))
    return app
