"""The identity service's composition root."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.identity import api, matching_api, subscribers
from services.identity.config import SERVICE, IdentitySettings
from services.identity.container import Container
from services.identity.matching import MatchingService
from services.identity.migrations import upgrade_to_head
from services.identity.protection import NikVault
from services.identity.registry_client import CircuitBreaker, RegistryClient
from services.identity.resync import RegistrySync
from services.identity.unit_of_work import STREAM, UnitOfWork
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


def bootstrap(settings: IdentitySettings | None = None) -> Container:
    settings = settings or IdentitySettings()
    engine = make_engine(settings.identity_database_url)
    redis = connect(settings.redis_url)
    metrics = Metrics(SERVICE)
    runtime: MessagingRuntime

    def uow() -> UnitOfWork:
        return UnitOfWork(
            engine, STREAM, runtime.relay.notify, correlation_id=current_correlation_id()
        )

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

    vault = NikVault(
        settings.identity_nik_key,
        settings.identity_lookup_key,
        key_id=settings.identity_nik_key_id,
        previous_keys=dict(settings.identity_nik_previous_keys),
    )
    registry = RegistryClient(
        settings.registry_url,
        settings.registry_token,
        sender_id=settings.registry_sender_id or settings.facility,
        timeout_s=settings.registry_timeout_s,
        max_attempts=settings.registry_max_attempts,
        breaker=CircuitBreaker(
            settings.registry_breaker_failures, settings.registry_breaker_reset_s
        ),
        poll_interval_s=settings.registry_poll_interval_s,
        result_timeout_s=settings.registry_result_timeout_s,
        metrics_registry=metrics.registry,
        service=SERVICE,
    )
    matching = MatchingService(
        engine=engine,
        uow=uow,
        vault=vault,
        registry=registry,
        batch_size=settings.registry_batch_size,
        concurrency=settings.registry_concurrency,
        today=today,
    )
    return Container(
        settings=settings,
        engine=engine,
        metrics=metrics,
        runtime=runtime,
        vault=vault,
        today=today,
        uow=uow,
        principal=principal_dependency(ApiKeyAuthenticator(settings.identity_api_keys)),
        registry=registry,
        matching=matching,
        resync=RegistrySync(
            engine=engine,
            uow=uow,
            vault=vault,
            registry=registry,
            matching=matching,
            facility=settings.facility,
            today=today,
            interval_s=settings.registry_changes_interval_s,
            revalidation_days=settings.revalidation_days,
        ),
    )


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    c = bootstrap(settings)
    configure_logging(SERVICE, c.settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if c.settings.identity_migrate_on_start:
            await asyncio.to_thread(upgrade_to_head, c.engine)
        await c.runtime.start()
        # Jobs left running by a previous process (crash, deploy) pick up where they were.
        await c.matching.resume()
        stop_resync = asyncio.Event()
        resync = (
            asyncio.create_task(c.resync.run(stop_resync), name="registry resync")
            if c.settings.registry_resync_enabled
            else None
        )
        log.info("identity service started as consumer %s", c.settings.consumer_name)
        try:
            yield
        finally:
            stop_resync.set()
            if resync is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(resync, timeout=c.settings.matching_stop_timeout_s)
            # Batches in flight finish, or stay `sent` and are asked about at the next start.
            await c.matching.stop(c.settings.matching_stop_timeout_s)
            await c.registry.aclose()
            await c.runtime.close()
            log.info("identity service stopped")

    app = service_app(
        title="Sinergi identity",
        summary="The custody roster, NIK checks, matching with the civil registry and validation.",
        lifespan=lifespan,
        metrics=c.metrics,
        readiness=c.runtime.readiness_checks,
        access_log=c.settings.access_log,
    )
    app.state.container = c
    api.install_error_mapping(app)
    app.include_router(api.build_router(c))
    app.include_router(matching_api.build_matching_router(c, c.matching))
    return app
