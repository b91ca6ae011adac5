"""Alembic environment of the agreements service."""

from alembic import context

from services.agreements.orm import TABLES, metadata
from shared.persistence.migrations import run_migrations

run_migrations(context, metadata, TABLES)  # type: ignore[arg-type]
