"""The composition root: the only place that builds and wires the dashboard's parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.dashboard import subscribers, web
from services.dashboard.config import SERVICE, DashboardSettings
from services.dashboard.container import Container
from services.dashboard.migrations import upgrade_to_head
from services.dashboard.sessions import SessionKeeper
from shared.http.service_app import service_app
from shared.messaging.connection import connect
from shared.messaging.runtime import MessagingRuntime
from shared.observability.logging import configure_logging
from shared.observability.metrics import Metrics
from shared.persistence.engine import make_engine

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


def templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def bootstrap(settings: DashboardSettings | None = None) -> Container:
    settings = settings or DashboardSettings()
    engine = make_engine(settings.dashboard_database_url)
    redis = connect(settings.redis_url)
    metrics = Metrics(SERVICE)
    runtime = MessagingRuntime(
        service=SERVICE,
        settings=settings,
        redis=redis,
        engine=engine,
        metrics=metrics,
        subscriptions=subscribers.subscriptions(engine),
        owned_streams=[],
    )
    zone = ZoneInfo(settings.timezone)

    def today() -> date:
        return settings.today or datetime.now(zone).date()

    secret = settings.dashboard_session_secret
    sessions = SessionKeeper(
        settings.dashboard_api_keys,
        secret.get_secret_value().encode() if secret else secrets.token_bytes(32),
        int(settings.dashboard_session_hours * 3600),
    )
    return Container(
        settings=settings,
        engine=engine,
        redis=redis,
        metrics=metrics,
        runtime=runtime,
        today=today,
        sessions=sessions,
        templates=templates(),
    )


def create_app(settings: DashboardSettings | None = None) -> FastAPI:
    c = bootstrap(settings)
    configure_logging(SERVICE, c.settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if c.settings.dashboard_migrate_on_start:
            await asyncio.to_thread(upgrade_to_head, c.engine)
        await c.runtime.start()
        log.info("dashboard started as consumer %s", c.settings.consumer_name)
        try:
            yield
        finally:
            await c.runtime.close()
            log.info("dashboard stopped")

    app = service_app(
        title="Sinergi dashboard",
        summary="Agreements, action-plan realisation, NIK status and delivery health, as pages.",
        lifespan=lifespan,
        metrics=c.metrics,
        readiness=c.runtime.readiness_checks,
        access_log=c.settings.access_log,
    )
    app.state.container = c
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(web.build_router(c))
    return app
