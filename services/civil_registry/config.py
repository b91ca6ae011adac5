"""Settings of the civil registry stand-in, from `SINERGI_*` environment variables."""

from __future__ import annotations

from pydantic import Field

from services.civil_registry.schemas import FaultConfig
from shared.config import PlatformSettings

SERVICE = "civil_registry"


class RegistrySettings(PlatformSettings):
    http_port: int = Field(default=8090, ge=1, le=65535)

    registry_id: str = Field(default="dukcapil", description="Our sender_id in answers.")
    registry_client_tokens: dict[str, str] = Field(
        default_factory=dict,
        description='JSON map bearer token -> client id, e.g. {"dev-token": "rutan-barabai"}.',
    )
    registry_admin_token: str | None = Field(
        default=None, description="Bearer token of /admin/*; unset disables the admin API."
    )
    registry_population: int = Field(default=20_000, ge=0, le=20_000_000)
    registry_seed: int = 2023

    registry_sync_max_items: int = Field(default=100, ge=1)
    registry_async_max_items: int = Field(default=1000, ge=1)
    registry_rate_limit_per_s: float = Field(default=20.0, gt=0)
    registry_rate_burst: float = Field(default=40.0, ge=1)

    registry_seen_ids_capacity: int = Field(default=200_000, ge=1)
    registry_seen_ids_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    registry_results_capacity: int = Field(
        default=1000, ge=1, description="Async results kept for txn/status (oldest go first)."
    )
    registry_results_ttl_s: float = Field(default=3600.0, gt=0)

    registry_callback_attempts: int = Field(default=4, ge=1, le=20)
    registry_callback_backoff_s: float = Field(default=0.5, ge=0)
    registry_callback_timeout_s: float = Field(default=10.0, gt=0)

    registry_fault_seed: int = 2023
    registry_fault_latency_ms: int = Field(default=0, ge=0)
    registry_fault_error_rate: float = Field(default=0.0, ge=0, le=1)
    registry_fault_timeout_rate: float = Field(default=0.0, ge=0, le=1)
    registry_fault_hang_s: float = Field(default=30.0, ge=0)
    registry_fault_outage: bool = False
    registry_async_delay_ms: int = Field(default=0, ge=0)

    def default_faults(self) -> FaultConfig:
        return FaultConfig(
            latency_ms=self.registry_fault_latency_ms,
            error_rate=self.registry_fault_error_rate,
            timeout_rate=self.registry_fault_timeout_rate,
            hang_s=self.registry_fault_hang_s,
            outage=self.registry_fault_outage,
            async_delay_ms=self.registry_async_delay_ms,
        )
