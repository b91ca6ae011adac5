"""Alembic environment of the dashboard."""

from alembic import context

from services.dashboard.orm import TABLES, metadata
from shared.persistence.migrations import run_migrations

run_migrations(context, metadata, TABLES)  # type: ignore[arg-type]
