"""Alembic environment: runs against the engine the service built (same URL, same pragmas)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from services.agreements.orm import metadata

MIGRATION_LOCK = 7_411_001  # PostgreSQL advisory lock id: replicas starting together queue up

engine: Engine = context.config.attributes["engine"]
with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK})
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK})
            connection.commit()
