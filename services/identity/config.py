"""Settings of the identity service, from `SINERGI_*` environment variables."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.config import PlatformSettings
from shared.http.auth import ApiKeyEntry

SERVICE = "identity"


class IdentitySettings(PlatformSettings):
    identity_database_url: str = "sqlite:///.sinergi/identity.db"
    identity_api_keys: list[ApiKeyEntry] = Field(default_factory=list)
    identity_nik_key: str = Field(
        default="", description="Base64 AES-256 key encrypting NIKs at rest (required)."
    )
    identity_nik_key_id: int = Field(default=1, ge=1, le=255)
    identity_nik_previous_keys: dict[int, str] = Field(
        default_factory=dict,
        description="Older keys by key id, still accepted for decryption (rotation).",
    )
    identity_lookup_key: str = Field(
        default="", description="Base64 HMAC key of the NIK look-up hash (required)."
    )
    identity_migrate_on_start: bool = True
    identity_max_import_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    registry_url: str = "http://127.0.0.1:8090"
    registry_token: str = ""
    registry_batch_size: int = Field(default=500, ge=1, le=1000)
    registry_concurrency: int = Field(default=4, ge=1, le=64)
    registry_timeout_s: float = Field(default=10.0, gt=0)
    registry_max_attempts: int = Field(default=6, ge=1)
    registry_breaker_failures: int = Field(default=5, ge=1)
    registry_breaker_reset_s: float = Field(default=30.0, gt=0)
    registry_poll_interval_s: float = Field(default=0.2, gt=0)
    registry_changes_interval_s: float = Field(default=60.0, gt=0)
    revalidation_days: int = Field(default=180, ge=1)
    registry_sender_id: str = Field(
        default="",
        description="Our client id at the registry (header.sender_id); empty: SINERGI_FACILITY.",
    )
    registry_result_timeout_s: float = Field(
        default=600.0, gt=0, description="How long one batch's answer may stay pending."
    )
    registry_resync_enabled: bool = Field(
        default=True, description="Run the changes-feed and re-validation loop."
    )
    matching_stop_timeout_s: float = Field(
        default=10.0, ge=0, description="On shutdown, how long batches in flight may finish."
    )

    @model_validator(mode="after")
    def _keys_are_set(self) -> IdentitySettings:
        if not self.identity_nik_key or not self.identity_lookup_key:
            raise ValueError(
                "SINERGI_IDENTITY_NIK_KEY and SINERGI_IDENTITY_LOOKUP_KEY are required"
            )
        if self.environment == "production" and not self.identity_api_keys:
            raise ValueError("SINERGI_IDENTITY_API_KEYS is required in production")
        return self
