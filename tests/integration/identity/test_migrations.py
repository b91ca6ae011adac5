"""The identity migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from services.identity.migrations import HERE, upgrade_to_head
from services.identity.orm import TABLES, metadata
from shared.persistence.engine import make_engine
from shared.persistence.migrations import alembic_config

OWN_TABLES = {table.__tablename__ for table in TABLES}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    try:
        yield db
    finally:
        db.dispose()


def _own_only(name: str | None, type_: str, parent_names: object) -> bool:
    # SQLModel keeps every imported service's tables in one metadata: compare ours only.
    return type_ != "table" or name in OWN_TABLES


def schema_differences(engine: Engine, target: sa.MetaData = metadata) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": _own_only, "target_metadata": target},
        )
        return list(compare_metadata(context, target))


def test_upgrade_to_head_on_an_empty_database_creates_every_identity_table(
    engine: Engine,
) -> None:
    assert sa.inspect(engine).get_table_names() == []

    upgrade_to_head(engine)

    tables = set(sa.inspect(engine).get_table_names())
    assert tables == OWN_TABLES | {"alembic_version"}
    head = ScriptDirectory.from_config(alembic_config(HERE, engine)).get_current_head()
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head


def test_the_nik_columns_are_nullable_so_a_malformed_number_is_never_stored(
    engine: Engine,
) -> None:
    upgrade_to_head(engine)

    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("inmate")}

    assert columns["nik_hash"]["nullable"] and columns["nik_ciphertext"]["nullable"]
    assert not any(name == "nik" for name in columns)  # no clear-text column


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    upgrade_to_head(engine)
    before = sorted(sa.inspect(engine).get_table_names())

    upgrade_to_head(engine)

    assert sorted(sa.inspect(engine).get_table_names()) == before


def test_the_migrated_schema_matches_the_models_exactly(engine: Engine) -> None:
    upgrade_to_head(engine)

    assert schema_differences(engine) == []


def test_the_comparison_catches_a_model_change_without_a_migration(engine: Engine) -> None:
    """Guards the guard: a column added to the models alone must show up as a difference."""
    upgrade_to_head(engine)
    changed = sa.MetaData()
    for model in TABLES:
        model.__table__.to_metadata(changed)  # type: ignore[union-attr]
    changed.tables["inmate"].append_column(sa.Column("nickname", sa.String(64)))

    differences = schema_differences(engine, changed)

    assert [d[0] for d in differences] == ["add_column"]
    assert differences[0][2:4][0] == "inmate"


def test_jobs_written_before_the_progress_counters_get_them_counted_from_their_items(
    engine: Engine,
) -> None:
    command.upgrade(alembic_config(HERE, engine), "0001")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO matching_job (id, facility, purpose, agreement_id, requested_by,"
                " created_at, status, total) VALUES ('job-1', 'rutan-barabai', 'p', 'a', 'x',"
                " :now, 'running', 6)"
            ),
            {"now": datetime.now(UTC)},
        )
        items = [
            ("p1", "pending", None),
            ("p2", "sent", None),
            ("p3", "done", "matched"),
            ("p4", "done", "matched"),
            ("p5", "done", "not_found"),
            ("p6", "done", "skipped"),
        ]
        connection.execute(
            sa.text(
                "INSERT INTO matching_item (job_id, person_id, state, outcome, attempts)"
                " VALUES ('job-1', :person, :state, :outcome, 1)"
            ),
            [{"person": p, "state": s, "outcome": o} for p, s, o in items],
        )

    upgrade_to_head(engine)

    with engine.connect() as connection:
        counters = connection.execute(
            sa.text(
                "SELECT sent, done, matched, partial, not_found, invalid, skipped"
                " FROM matching_job WHERE id = 'job-1'"
            )
        ).one()
    assert tuple(counters) == (1, 4, 2, 0, 1, 0, 1)
