"""Outbox: events are written in the use case's transaction; a relay publishes them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from shared.events import CloudEvent
from shared.messaging.streams import ENTRY_FIELD
from shared.messaging.tables import OutboxMessage
from shared.messaging.waiting import sleep_or_stop
from shared.observability.metrics import Metrics
from shared.persistence.calls import DatabaseCalls

log = logging.getLogger(__name__)
outbox = OutboxMessage.__table__  # type: ignore[attr-defined]

# Built once: a relay round runs these on every commit it is woken for, and building and
# coercing the statements each time cost more than executing them on SQLite.
_PENDING = (
    select(outbox.c.id, outbox.c.stream, outbox.c.body)
    .where(outbox.c.published_at.is_(None))
    .order_by(outbox.c.id)
    .limit(bindparam("limit"))
)
_ADD = insert(outbox)
_BACKLOG = select(func.count()).where(outbox.c.published_at.is_(None))
_MARK_PUBLISHED = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("now"))
)


def add_to_outbox(session: Session, stream: str, events: Iterable[CloudEvent]) -> int:
    """Stage events in the caller's transaction; they are published only if it commits."""
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": event.id,
            "stream": stream,
            "event_type": event.type,
            "body": event.to_json(),
            "created_at": now,
        }
        for event in events
    ]
    if rows:
        session.execute(_ADD, rows)
    return len(rows)


@dataclass(frozen=True)
class _Pending:
    id: int
    stream: str
    body: str


class OutboxRelay:
    """Publishes unpublished outbox rows in id order with pipelined XADDs, then marks them.

    Wakes when a transaction with events commits (`notify`), and polls as a fallback for
    rows written by other replicas. A crash between XADD and marking republishes those
    rows: consumers' inboxes make that harmless.
    """

    def __init__(
        self,
        engine: Engine,
        redis: aioredis.Redis,
        metrics: Metrics,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 5.0,
        keep_published: timedelta = timedelta(days=7),
    ) -> None:
        self._engine = engine
        self._calls = DatabaseCalls(engine)
        self._redis = redis
        self._metrics = metrics
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._max_backoff_s = max_backoff_s
        self._keep_published = keep_published
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.healthy = True
        self._last_counted = 0.0
        self._next: list[_Pending] = []

    def notify(self) -> None:
        """Wake the relay; safe to call from any thread (use cases may commit in worker threads)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        backoff = 0.1
        rounds = 0
        while not stop.is_set():
            # Cleared before the round reads the outbox, not before waiting: a notify for a
            # commit the round did not see must still wake the next one.
            self._wake.clear()
            try:
                published = await self.publish_pending()
                if not self.healthy:
                    log.info("outbox relay publishing again")
                self.healthy, backoff = True, 0.1
            except (RedisError, OSError, SQLAlchemyError) as error:
                if self.healthy:
                    log.warning("outbox relay cannot publish, will retry: %s", type(error).__name__)
                self.healthy = False
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            rounds += 1
            if rounds % 600 == 0:
                await self._calls(self._forget_published)
            if published < self._batch_size and not self._next:
                await self._wait_for_work(stop)
        await self._final_flush()

    async def publish_pending(self) -> int:
        """One round: publish at most one batch; returns how many rows were published.

        Marking a batch and reading the next one share a database round trip: the rows read
        then are published by the next round (or re-read, if that round finds none kept).
        """
        pending, self._next = self._next or await self._calls(self._fetch_pending), []
        if len(pending) < self._batch_size:
            self._metrics.set_outbox_pending(0)
        if not pending:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for row in pending:
                pipe.xadd(row.stream, {ENTRY_FIELD: row.body})
            await pipe.execute()
        self._next = await self._calls(self._mark_and_fetch, [row.id for row in pending])
        for stream, count in _count_by_stream(pending).items():
            self._metrics.count_published(stream, count)
        return len(pending)

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
        _, still = await asyncio.wait(
            waiters, timeout=self._poll_interval_s, return_when=asyncio.FIRST_COMPLETED
        )
        for task in still:
            task.cancel()

    async def _final_flush(self) -> None:
        try:
            while await self.publish_pending() == self._batch_size:
                pass
        except (RedisError, OSError, SQLAlchemyError):
            log.warning("outbox relay stopped with events still pending; the next start sends them")

    def _fetch_pending(self) -> list[_Pending]:
        with self._engine.connect() as connection:
            return self._select_pending(connection)

    def _mark_and_fetch(self, ids: Sequence[int]) -> list[_Pending]:
        with self._engine.begin() as connection:
            connection.execute(_MARK_PUBLISHED, {"ids": list(ids), "now": datetime.now(UTC)})
            return self._select_pending(connection)

    def _select_pending(self, connection: Connection) -> list[_Pending]:
        rows = connection.execute(_PENDING, {"limit": self._batch_size}).all()
        now = time.monotonic()
        if len(rows) == self._batch_size and now - self._last_counted > 5.0:
            self._last_counted = now
            backlog = connection.execute(_BACKLOG).scalar_one()
            self._metrics.set_outbox_pending(int(backlog))
        return [_Pending(row.id, row.stream, row.body) for row in rows]

    def _forget_published(self) -> None:
        cutoff = datetime.now(UTC) - self._keep_published
        with self._engine.begin() as connection:
            connection.execute(
                delete(outbox).where(
                    outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff
                )
            )


def _count_by_stream(rows: Sequence[_Pending]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.stream] = counts.get(row.stream, 0) + 1
    return counts
