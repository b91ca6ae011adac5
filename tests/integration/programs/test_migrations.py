"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from services.programs.config import KINDS_FILE
from services.programs.kinds import seed_kinds
from services.programs.migrations import alembic_config, upgrade_to_head
from services.programs.orm import TABLES, metadata
from shared.persistence.engine import make_engine

OWN_TABLES = {table.__tablename__ for table in TABLES}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    try:
        yield db
    finally:
        db.dispose()


def _own_only(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or name in OWN_TABLES


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": _own_only, "target_metadata": metadata},
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_to_head_on_an_empty_database_creates_every_table(engine: Engine) -> None:
    upgrade_to_head(engine)

    tables = set(sa.inspect(engine).get_table_names())
    assert tables == OWN_TABLES | {"alembic_version"}
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert current == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_the_migrated_schema_matches_the_models_exactly(engine: Engine) -> None:
    upgrade_to_head(engine)

    assert schema_differences(engine) == []


def test_upgrading_and_seeding_the_kinds_twice_changes_nothing(engine: Engine) -> None:
    upgrade_to_head(engine)
    seeded = seed_kinds(engine, KINDS_FILE)

    upgrade_to_head(engine)
    assert seed_kinds(engine, KINDS_FILE) == seeded

    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM programme_kind")).scalar_one()
    assert count == seeded == 13
