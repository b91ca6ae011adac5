"""The dashboard's migrations build exactly the schema its models describe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from services.dashboard.migrations import upgrade_to_head
from services.dashboard.orm import TABLES, metadata
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


def test_the_migrated_dashboard_schema_matches_the_models_exactly(engine: Engine) -> None:
    upgrade_to_head(engine)

    assert set(sa.inspect(engine).get_table_names()) == OWN_TABLES | {"alembic_version"}
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": _own_only, "target_metadata": metadata},
        )
        differences: list[Any] = list(compare_metadata(context, metadata))
    assert differences == []
