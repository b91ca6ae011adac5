"""What the composition root hands to the entrypoints (API, subscribers, clock)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from services.agreements.config import AgreementsSettings
from services.agreements.documents import DocumentStore
from services.agreements.handlers import Calendar
from services.agreements.unit_of_work import UnitOfWork
from shared.http.auth import Principal
from shared.messaging.runtime import MessagingRuntime
from shared.observability.metrics import Metrics


@dataclass
class Container:
    settings: AgreementsSettings
    engine: Engine
    metrics: Metrics
    runtime: MessagingRuntime
    calendar: Calendar
    documents: DocumentStore
    uow: Callable[[], UnitOfWork]
    principal: Callable[..., Awaitable[Principal]]
