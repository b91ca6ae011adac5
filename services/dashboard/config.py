"""Settings of the dashboard, from `SINERGI_*` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from shared.config import PlatformSettings
from shared.http.auth import ApiKeyEntry

SERVICE = "dashboard"
Language = Literal["id", "en"]


class DashboardSettings(PlatformSettings):
    dashboard_database_url: str = "sqlite:///.sinergi/dashboard.db"
    dashboard_api_keys: list[ApiKeyEntry] = Field(
        default_factory=list,
        description="JSON list of {name, role, sha256, partner?}: only hashes, never keys.",
    )
    dashboard_migrate_on_start: bool = True
    dashboard_session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the login cookie; shared by every replica. Random per process if unset.",
    )
    dashboard_session_hours: float = Field(default=8.0, gt=0)
    dashboard_cookie_secure: bool = Field(
        default=False, description="Send the login cookie over HTTPS only (behind TLS)."
    )
    dashboard_expiry_horizon_days: int = Field(default=90, ge=1)
    dashboard_dead_letters_shown: int = Field(default=10, ge=1, le=100)
    language: Language = Field(default="id", description="Bahasa Indonesia unless `en`.")

    @model_validator(mode="after")
    def _production_is_explicit(self) -> DashboardSettings:
        if self.environment == "production":
            if self.today is not None:
                raise ValueError("SINERGI_TODAY must not be set in production")
            if not self.dashboard_api_keys:
                raise ValueError("SINERGI_DASHBOARD_API_KEYS is required in production")
            if self.dashboard_session_secret is None:
                raise ValueError("SINERGI_DASHBOARD_SESSION_SECRET is required in production")
        return self
