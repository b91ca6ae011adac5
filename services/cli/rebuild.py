"""`sinergi rebuild <service>`: a service's read models again from the event streams.

Only the programs service keeps read models with a rebuild (agreements, action-plan items
and people, from the agreements and identity streams). The rebuild is one transaction, so
it may run while the service runs: readers see the old rows until the new ones commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

import redis.asyncio as aioredis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.messaging.connection import connect
from shared.persistence.engine import make_engine

if TYPE_CHECKING:
    from services.programs.read_models import RebuildReport


class Rebuildable(StrEnum):
    programs = "programs"


class _CountingRedis:
    """The client the rebuild reads with, telling ``advance`` how many entries each read got."""

    def __init__(self, inner: aioredis.Redis, advance: Callable[[int], None]) -> None:
        self._inner = inner
        self._advance = advance

    async def xrange(self, *args: Any, **kwargs: Any) -> Any:
        reply = await self._inner.xrange(*args, **kwargs)
        self._advance(len(reply or ()))
        return reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def rebuild_programs(
    database_url: str, redis_url: str, advance: Callable[[int], None], total: Callable[[int], None]
) -> RebuildReport:
    # Imported here: the rest of the command line must not need the programs service's code.
    from services.programs.migrations import upgrade_to_head
    from services.programs.read_models import SOURCE_STREAMS, rebuild_read_models

    engine = make_engine(database_url)
    redis = connect(redis_url)
    try:
        await asyncio.to_thread(upgrade_to_head, engine)  # what the service does at start
        total(sum([int(await redis.xlen(stream)) for stream in SOURCE_STREAMS]))
        counting = cast(aioredis.Redis, _CountingRedis(redis, advance))
        return await rebuild_read_models(engine, counting)
    finally:
        await redis.aclose()
        engine.dispose()


def run_rebuild(
    service: Rebuildable, database_url: str, redis_url: str, console: Console
) -> RebuildReport:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"rebuilding {service.value} read models", total=None)
        report = asyncio.run(
            rebuild_programs(
                database_url,
                redis_url,
                advance=lambda n: progress.advance(task, n),
                total=lambda n: progress.update(task, total=n),
            )
        )
        progress.update(task, completed=report.entries, total=report.entries)
    return report
