"""Alembic environment of the identity service."""

from alembic import context

from services.identity.orm import TABLES, metadata
from shared.persistence.migrations import run_migrations

run_migrations(context, metadata, TABLES)  # type: ignore[arg-type]
