"""What the composition root hands to the entrypoints (API, subscribers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from services.programs.config import ProgramsSettings
from services.programs.repository import KindCatalogue
from services.programs.unit_of_work import UnitOfWork
from shared.http.auth import Principal
from shared.messaging.runtime import MessagingRuntime
from shared.observability.metrics import Metrics


@dataclass
class Container:
    settings: ProgramsSettings
    engine: Engine
    metrics: Metrics
    runtime: MessagingRuntime
    today: Callable[[], date]
    uow: Callable[[], UnitOfWork]
    kinds: KindCatalogue
    principal: Callable[..., Awaitable[Principal]]
