"""Alembic environment of the programs service."""

from alembic import context

from services.programs.orm import TABLES, metadata
from shared.persistence.migrations import run_migrations

run_migrations(context, metadata, TABLES)  # type: ignore[arg-type]
