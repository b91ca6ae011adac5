"""Settings of the agreements service, from `SINERGI_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from shared.config import PlatformSettings
from shared.http.auth import ApiKeyEntry

SERVICE = "agreements"


class AgreementsSettings(PlatformSettings):
    agreements_database_url: str = "sqlite:///.sinergi/agreements.db"
    agreements_documents_dir: Path = Path(".sinergi/documents")
    agreements_api_keys: list[ApiKeyEntry] = Field(
        default_factory=list,
        description="JSON list of {name, role, sha256, partner?}: only hashes, never keys.",
    )
    agreements_expiry_notice_days: int = Field(default=90, ge=1, le=365)
    agreements_clock_interval_s: float = Field(default=60.0, gt=0)
    agreements_migrate_on_start: bool = True
    agreements_max_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1)

    @model_validator(mode="after")
    def _production_is_explicit(self) -> AgreementsSettings:
        if self.environment == "production":
            if self.today is not None:
                raise ValueError("SINERGI_TODAY must not be set in production")
            if not self.agreements_api_keys:
                raise ValueError("SINERGI_AGREEMENTS_API_KEYS is required in production")
        return self
