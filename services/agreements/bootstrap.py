"""The composition root: the only place that builds and wires the service's parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.agreements import api, handlers, subscribers
from services.agreements.config import SERVICE, AgreementsSettings
from services.agreements.container import Container
from services.agreements.documents import DocumentStore
from services.agreements.migrations import upgrade_to_head
from services.agreements.unit_of_work import UnitOfWork
from shared.http.auth import ApiKeyAuthenticator, principal_dependency
from shared.http.service_app import service_app
from shared.messaging.connection import connect
from shared.messaging.runtime import MessagingRuntime
from shared.messaging.streams import stream_of
from shared.observability.context import current_correlation_id
from shared.observability.logging import configure_logging
from shared.observability.metrics import Metrics
from shared.persistence.engine import make_engine

log = logging.getLogger(__name__)


def bootstrap(settings: AgreementsSettings | None = None) -> Container:
    settings = settings or AgreementsSettings()
    engine = make_engine(settings.agreements_database_url)
    redis = connect(settings.redis_url)
    metrics = Metrics(SERVICE)
    runtime: MessagingRuntime

    def uow() -> UnitOfWork:
        return UnitOfWork(engine, runtime.relay.notify, correlation_id=current_correlation_id())

    runtime = MessagingRuntime(
        service=SERVICE,
        settings=settings,
        redis=redis,
        engine=engine,
        metrics=metrics,
        subscriptions=subscribers.subscriptions(uow),
        owned_streams=[stream_of(SERVICE)],
    )
    zone = ZoneInfo(settings.timezone)

    def today() -> date:
        return settings.today or datetime.now(zone).date()

    return Container(
        settings=settings,
        engine=engine,
        metrics=metrics,
        runtime=runtime,
        calendar=handlers.Calendar(today, settings.agreements_expiry_notice_days),
        documents=DocumentStore(settings.agreements_documents_dir),
        uow=uow,
        principal=principal_dependency(ApiKeyAuthenticator(settings.agreements_api_keys)),
    )


def create_app(settings: AgreementsSettings | None = None) -> FastAPI:
    c = bootstrap(settings)
    configure_logging(SERVICE, c.settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if c.settings.agreements_migrate_on_start:
            await asyncio.to_thread(upgrade_to_head, c.engine)
        await c.runtime.start()
        clock = asyncio.create_task(_run_calendar(c), name="calendar")
        log.info("agreements service started as consumer %s", c.settings.consumer_name)
        try:
            yield
        finally:
            clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock
            await c.runtime.close()
            log.info("agreements service stopped")

    app = service_app(
        title="Sinergi agreements",
        summary="Partners, cooperation agreements (PKS), action plans and their realisation.",
        lifespan=lifespan,
        metrics=c.metrics,
        readiness=c.runtime.readiness_checks,
        access_log=c.settings.access_log,
    )
    app.state.container = c
    api.install_error_mapping(app)
    app.include_router(api.build_router(c))
    return app


async def _run_calendar(c: Container) -> None:
    """Apply the day's transitions at start and then every interval, on every replica."""
    while True:
        try:
            changed = await asyncio.to_thread(handlers.advance_calendar, c.uow, c.calendar)
            if changed:
                log.info("calendar moved %d agreements on %s", changed, c.calendar.today())
        except Exception:
            log.exception("calendar round failed; retrying at the next interval")
        await asyncio.sleep(c.settings.agreements_clock_interval_s)
