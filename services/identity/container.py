"""What the composition root hands to the identity service's entrypoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from services.identity.config import IdentitySettings
from services.identity.matching import MatchingService
from services.identity.protection import NikVault
from services.identity.registry_client import RegistryClient
from services.identity.resync import RegistrySync
from services.identity.unit_of_work import UnitOfWork
from shared.http.auth import Principal
from shared.messaging.runtime import MessagingRuntime
from shared.observability.metrics import Metrics


@dataclass
class Container:
    settings: IdentitySettings
    engine: Engine
    metrics: Metrics
    runtime: MessagingRuntime
    vault: NikVault
    today: Callable[[], date]
    uow: Callable[[], UnitOfWork]
    principal: Callable[..., Awaitable[Principal]]
    registry: RegistryClient
    matching: MatchingService
    resync: RegistrySync
