"""Errors that say the database is unreachable, not that the request or the event is wrong."""

from __future__ import annotations

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# Connection refused or dropped, a server gone away, a pool with no connection to give, a
# SQLite file locked for longer than its busy timeout: retrying later can succeed.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
)
