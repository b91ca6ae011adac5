"""Where blocking database work runs when async code asks for it.

On PostgreSQL a transaction waits on the network, so it goes to a worker thread and the
event loop serves other requests meanwhile. On SQLite it never waits on anything but the
CPU and the page cache (WAL, ``synchronous=NORMAL``: no fsync at commit), the database
takes one writer at a time, and the GIL lets one thread run: a worker thread there adds
nothing but hand-offs. Under load those hand-offs cost more than the work (the loop and
the worker pass the GIL back and forth; writers queued in SQLite's busy handler sleep in
growing steps and some starve for seconds), so on SQLite the work runs on the loop itself.
See docs/decisions/0019-sqlite-work-on-the-event-loop.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import Engine

from shared.persistence.engine import is_sqlite

P = ParamSpec("P")
T = TypeVar("T")

Offload = Callable[..., Awaitable[Any]]


class DatabaseCalls:
    """`await calls(work, *args)`: `work(*args)` in a worker thread, or inline on SQLite."""

    def __init__(self, engine: Engine, offload: Offload = asyncio.to_thread) -> None:
        self.inline = is_sqlite(engine)
        self._offload = offload

    async def __call__(self, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self.inline:
            return work(*args, **kwargs)
        return cast(T, await self._offload(work, *args, **kwargs))
