"""Alembic plumbing shared by every service: run on the service's engine, its tables only."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import Engine, MetaData, text

MIGRATION_LOCK = 7_411_001  # PostgreSQL advisory lock id: replicas starting together queue up


def alembic_config(script_location: Path, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(script_location: Path, engine: Engine) -> None:
    command.upgrade(alembic_config(script_location, engine), "head")


def run_migrations(
    context: EnvironmentContext, metadata: MetaData, own_tables: Iterable[Any]
) -> None:
    """Body of a service's env.py. SQLModel keeps every imported service's tables in one
    metadata, so autogenerate compares only the tables this service owns."""
    names = {table.__tablename__ for table in own_tables}
    engine: Engine = context.config.attributes["engine"]

    def only_own_tables(name: str | None, type_: str, parent_names: object) -> bool:
        return type_ != "table" or name in names

    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
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
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK})
                connection.commit()
