"""A service's own MetaData: only its tables, whatever else the process has imported."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import MetaData


def own_metadata(tables: Iterable[Any]) -> MetaData:
    """SQLModel keeps every imported model in one global MetaData; migrations, schema
    comparisons and `create_all` of a service must see that service's tables only."""
    metadata = MetaData()
    for table in tables:
        table.__table__.to_metadata(metadata)
    return metadata
