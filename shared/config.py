"""Settings every service shares; each service's own settings extend these.

Everything comes from the environment with the `SINERGI_` prefix, the same names in
compose.yaml and on bare processes.
"""

from __future__ import annotations

import os
import socket
from datetime import date
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SINERGI_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    facility: str = Field(
        default="rutan-barabai", description="The UPT this instance serves by default."
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: str = "INFO"
    access_log: Literal["all", "errors", "off"] = Field(
        default="errors",
        description="Access-log lines: every request, refusals/failures/slow ones, or none.",
    )
    timezone: str = Field(default="Asia/Makassar", description="The facility's calendar (WITA).")
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8000, ge=1, le=65535)

    consumer_name: str = Field(default_factory=_default_consumer_name)
    batch_size: int = Field(default=100, ge=1, le=1000)
    block_ms: int = Field(default=1000, ge=10)
    claim_idle_ms: int = Field(default=30_000, ge=10)
    claim_interval_s: float = Field(default=5.0, gt=0)
    max_deliveries: int = Field(default=5, ge=1)
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_interval_s: float = Field(default=1.0, gt=0)
    lag_threshold: int = Field(default=10_000, ge=1, description="Readiness fails above this lag.")
    monitor_interval_s: float = Field(default=5.0, gt=0)
    stream_retention_days: float = Field(default=365.0, gt=0)
    trim_interval_s: float = Field(default=300.0, gt=0)
    today: date | None = Field(
        default=None,
        description="Pins the service's calendar day (demos and tests only; never in production).",
    )
