"""Settings of the programs service, from `SINERGI_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from shared.config import PlatformSettings
from shared.http.auth import ApiKeyEntry

SERVICE = "programs"
KINDS_FILE = Path(__file__).with_name("kinds.json")


class ProgramsSettings(PlatformSettings):
    programs_database_url: str = "sqlite:///.sinergi/programs.db"
    programs_api_keys: list[ApiKeyEntry] = Field(
        default_factory=list,
        description="JSON list of {name, role, sha256, partner?}: only hashes, never keys.",
    )
    programs_migrate_on_start: bool = True
    programs_kinds_file: Path = Field(
        default=KINDS_FILE, description="Programme kinds, seeded into the database at start."
    )

    @model_validator(mode="after")
    def _production_is_explicit(self) -> ProgramsSettings:
        if self.environment == "production":
            if self.today is not None:
                raise ValueError("SINERGI_TODAY must not be set in production")
            if not self.programs_api_keys:
                raise ValueError("SINERGI_PROGRAMS_API_KEYS is required in production")
        return self
