"""Alembic environment: runs against the engine the service built (same URL, same pragmas)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from services.agreements.orm import TABLES, metadata

MIGRATION_LOCK = 7_411_001  # PostgreSQL advisory lock id: replicas starting together queue up

OWN_TABLES = {table.__tablename__ for table in TABLES}
engine: Engine = context.config.attributes["engine"]


def only_own_tables(name: str | None, type_: str, parent_names: object) -> bool:
    # SQLModel keeps every imported service's tables in one metadata: compare only ours.
    return type_ != "table" or name in OWN_TABLES


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
            include_name=only_own_tables,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK})
            connection.commit()
