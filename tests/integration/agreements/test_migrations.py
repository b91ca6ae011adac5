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

from services.agreements.migrations import alembic_config, upgrade_to_head
from services.agreements.orm import TABLES, metadata
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
    # SQLModel keeps every imported model (other services, test read models) in one
    # metadata; this service's migrations answer only for its own tables.
    return type_ != "table" or name in OWN_TABLES


def schema_differences(engine: Engine, target: sa.MetaData = metadata) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": _own_only, "target_metadata": target},
        )
        return list(compare_metadata(context, target))


def schema_snapshot(engine: Engine) -> dict[str, Any]:
    inspector = sa.inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted(i["name"] or "" for i in inspector.get_indexes(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_upgrade_to_head_on_an_empty_database_creates_every_table(engine: Engine) -> None:
    assert sa.inspect(engine).get_table_names() == []

    upgrade_to_head(engine)

    tables = set(sa.inspect(engine).get_table_names())
    assert tables >= OWN_TABLES, f"missing tables: {OWN_TABLES - tables}"
    assert tables - OWN_TABLES == {"alembic_version"}
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert current_revision(engine) == head


def test_upgrading_a_second_time_changes_nothing(engine: Engine) -> None:
    upgrade_to_head(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO partner (id, facility, code, name, kind, sectors, version) "
                "VALUES ('p-1', 'rutan-barabai', 'dinkes', 'Dinas Kesehatan', 'health', "
                "'[\"mobile_clinic\"]', 1)"
            )
        )
    before, revision = schema_snapshot(engine), current_revision(engine)

    upgrade_to_head(engine)

    assert schema_snapshot(engine) == before
    assert current_revision(engine) == revision
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM partner")).scalar_one() == 1


def test_the_migrated_schema_matches_the_models_exactly(engine: Engine) -> None:
    upgrade_to_head(engine)

    assert schema_differences(engine) == []


def test_the_comparison_catches_a_model_change_without_a_migration(engine: Engine) -> None:
    """Guards the guard: a column added to the models alone must show up as a difference."""
    upgrade_to_head(engine)
    changed = sa.MetaData()
    for name in OWN_TABLES:
        metadata.tables[name].to_metadata(changed)
    changed.tables["agreement"].append_column(sa.Column("region", sa.String(64)))

    differences = schema_differences(engine, changed)

    assert [d[0] for d in differences] == ["add_column"]
    _, _, table, column = differences[0]
    assert (table, column.name) == ("agreement", "region")
