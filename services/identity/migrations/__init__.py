"""Alembic migrations of the identity database, run on start or by `alembic upgrade`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from shared.persistence import migrations

HERE = Path(__file__).parent


def upgrade_to_head(engine: Engine) -> None:
    migrations.upgrade_to_head(HERE, engine)
