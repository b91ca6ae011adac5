"""Alembic migrations of the dashboard database, run on start or by `alembic upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine

from shared.persistence import migrations

HERE = Path(__file__).parent


def alembic_config(engine: Engine) -> Config:
    return migrations.alembic_config(HERE, engine)


def upgrade_to_head(engine: Engine) -> None:
    migrations.upgrade_to_head(HERE, engine)
