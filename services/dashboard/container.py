"""What the composition root hands to the entrypoints (pages, subscribers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import redis.asyncio as aioredis
from jinja2 import Environment
from sqlalchemy import Engine

from services.dashboard.config import DashboardSettings
from services.dashboard.sessions import SessionKeeper
from shared.messaging.runtime import MessagingRuntime
from shared.observability.metrics import Metrics


@dataclass
class Container:
    settings: DashboardSettings
    engine: Engine
    redis: aioredis.Redis
    metrics: Metrics
    runtime: MessagingRuntime
    today: Callable[[], date]
    sessions: SessionKeeper
    templates: Environment
