"""The composition root: the only place that builds and wires the service's parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.programs import api, subscribers
from services.programs.config import SERVICE, ProgramsSettings
from services.programs.container import Container
from services.programs.kinds import seed_kinds
from services.programs.migrations import upgrade_to_head
from services.programs.repository import KindCatalogue
from services.programs.unit_of_work import STREAM, UnitOfWork
from shared.http.auth import ApiKeyAuthenticator, principal_dependency
from shared.http.service_app import service_app
from shared.messaging.connection import connect
from shared.messaging.runtime import MessagingRuntime
from shared.observability.context import current_correlation_id
from shared.observability.logging import configure_logging
from shared.observability.metrics import Metrics
from shared.persistence.engine import make_engine

log = logging.getLogger(__name__)


def bootstrap(settings: ProgramsSettings | None = None) -> Container:
    settings = settings or ProgramsSettings()
    engine = make_engine(settings.programs_database_url)
    redis = connect(settings.redis_url)
    metrics = Metrics(SERVICE)
    runtime: MessagingRuntime
    kinds = KindCatalogue()

    def uow() -> UnitOfWork:
        return UnitOfWork(
            engine,
            STREAM,
            runtime.relay.notify,
            correlation_id=current_correlation_id(),
            kinds=kinds,
        )

    runtime = MessagingRuntime(
        service=SERVICE,
        settings=settings,
        redis=redis,
        engine=engine,
        metrics=metrics,
        subscriptions=subscribers.subscriptions(uow),
        owned_streams=[STREAM],
    )
    zone = ZoneInfo(settings.timezone)

    def today() -> date:
        return settings.today or datetime.now(zone).date()

    return Container(
        settings=settings,
        engine=engine,
        metrics=metrics,
        runtime=runtime,
        today=today,
        uow=uow,
        kinds=kinds,
        principal=principal_dependency(ApiKeyAuthenticator(settings.programs_api_keys)),
    )


def create_app(settings: ProgramsSettings | None = None) -> FastAPI:
    c = bootstrap(settings)
    configure_logging(SERVICE, c.settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if c.settings.programs_migrate_on_start:
            await asyncio.to_thread(upgrade_to_head, c.engine)
        kinds = await asyncio.to_thread(seed_kinds, c.engine, c.settings.programs_kinds_file)
        c.kinds.forget()
        await c.runtime.start()
        log.info(
            "programs service started as consumer %s (%d kinds)", c.settings.consumer_name, kinds
        )
        try:
            yield
        finally:
            await c.runtime.close()
            log.info("programs service stopped")

    app = service_app(
        title="Sinergi programs",
        summary="Sessions, attendance, enrolments, certificates and exam results, product sales.",
        lifespan=lifespan,
        metrics=c.metrics,
        readiness=c.runtime.readiness_checks,
        access_log=c.settings.access_log,
    )
    app.state.container = c
    api.install_error_mapping(app)
    app.include_router(api.build_router(c))
    return app
