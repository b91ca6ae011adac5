"""A test-only read model of programme sessions, and helpers to drive the delivery plumbing.

`session_view` lives on its own MetaData; the shared `outbox`/`inbox` tables are created
next to it. The handler applies a batch in one transaction: inbox claim, then an upsert
that only moves a row forward (`is_newer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlmodel import Session, SQLModel

from shared.config import PlatformSettings
from shared.events import CloudEvent, build_event
from shared.events.programs import SessionHeld, SessionScheduled, SessionState
from shared.messaging import (
    ENTRY_FIELD,
    BatchHandler,
    Delivery,
    Subscription,
    claim_fresh,
    is_newer,
)
from shared.messaging.consumer import ConsumerSettings, GroupConsumer
from shared.messaging.runtime import MessagingRuntime
from shared.messaging.tables import InboxMessage, OutboxMessage
from shared.observability.health import CheckResult
from shared.observability.metrics import Metrics
from shared.persistence.engine import make_engine, read_only

STREAM = "sinergi.programs"
GROUP = "readmodel"
FACILITY = "rutan-barabai"

metadata = MetaData()
session_view = Table(
    "session_view",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("delivered_quantity", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
)
inbox = InboxMessage.__table__  # type: ignore[attr-defined]
outbox = OutboxMessage.__table__  # type: ignore[attr-defined]


def create_database(url: str) -> Engine:
    """An engine on `url` with the read model, the outbox and the inbox created."""
    engine = make_engine(url)
    metadata.create_all(engine)
    SQLModel.metadata.create_all(engine, tables=[outbox, inbox])
    return engine


# --- events -------------------------------------------------------------------------------


def session_event(
    session_id: str,
    sequence: int,
    *,
    quantity: int | None = None,
    status: str = "held",
    event_id: str | None = None,
) -> CloudEvent:
    """A `session.held` (or `session.scheduled`) event carrying the session's state."""
    state = SessionState(
        session_id=session_id,
        agreement_id="agreement-1",
        partner_code="partner-1",
        programme_kind="vocational",
        status="held" if status == "held" else "scheduled",
        scheduled_on=date(2026, 3, 2),
        held_on=date(2026, 3, 2) if status == "held" else None,
        delivered_quantity=sequence * 10 if quantity is None else quantity,
    )
    payload = SessionHeld(session=state) if status == "held" else SessionScheduled(session=state)
    return build_event(
        payload, subject=session_id, facility=FACILITY, sequence=sequence, event_id=event_id
    )


def expected_final(session_id: str, sequence: int) -> tuple[str, str, int, int]:
    return (session_id, "held", sequence * 10, sequence)


async def xadd_events(
    redis: aioredis.Redis, events: Iterable[CloudEvent], stream: str = STREAM
) -> list[str]:
    """Write events the way the relay does, with plain redis-py; returns the entry ids."""
    ids: list[str] = []
    batch: list[CloudEvent] = []

    async def flush() -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for event in batch:
                pipe.xadd(stream, {ENTRY_FIELD: event.to_json()})
            ids.extend(entry_id.decode() for entry_id in await pipe.execute())
        batch.clear()

    for event in events:
        batch.append(event)
        if len(batch) == 500:
            await flush()
    if batch:
        await flush()
    return ids


# --- the read model's handler ---------------------------------------------------------------


@dataclass
class HandlerLog:
    """What the handler saw: every call (subjects per call) and every event it applied."""

    calls: list[list[str]] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempts(self, subject: str, *, alone: bool = False) -> int:
        with self.lock:
            return sum(
                1 for call in self.calls if subject in call and (not alone or len(call) == 1)
            )


Failure = Callable[[Delivery, HandlerLog], Exception | None]


def make_handler(
    engine: Engine,
    group: str = GROUP,
    *,
    delay_s: float = 0.0,
    fail: Failure | None = None,
    log: HandlerLog | None = None,
) -> BatchHandler:
    """Apply a batch atomically: claim in the inbox, then move rows forward only.

    `fail(delivery, log)` returning an exception makes the whole transaction roll back with
    it; `delay_s` is slept inside the transaction, so a kill lands mid-batch.
    """
    log = log if log is not None else HandlerLog()

    def handle(deliveries: Sequence[Delivery]) -> None:
        with log.lock:
            log.calls.append([d.event.subject for d in deliveries])
        with Session(engine) as session, session.begin():
            fresh = claim_fresh(session, deliveries, group)
            for delivery in fresh:
                error = fail(delivery, log) if fail is not None else None
                if error is not None:
                    raise error
            upsert(session, fresh)
            if delay_s:
                time.sleep(delay_s)
        with log.lock:
            log.applied.extend(d.event.id for d in fresh)

    return handle


def upsert(session: Session, deliveries: Sequence[Delivery]) -> None:
    """Move each session's row to the newest state in `deliveries`, if newer than the row."""
    newest: dict[str, tuple[int, SessionState]] = {}
    for delivery in deliveries:
        payload = delivery.payload
        assert isinstance(payload, SessionHeld | SessionScheduled)
        state, sequence = payload.session, delivery.event.sequence
        held = newest.get(state.session_id)
        if held is None or is_newer(held[0], sequence):
            newest[state.session_id] = (sequence, state)
    if not newest:
        return
    current: dict[str, int] = {
        row.session_id: row.sequence
        for row in session.execute(
            select(session_view.c.session_id, session_view.c.sequence).where(
                session_view.c.session_id.in_(list(newest))
            )
        )
    }
    values = [
        {
            "key": session_id,
            "status": state.status,
            "delivered_quantity": state.delivered_quantity,
            "sequence": sequence,
        }
        for session_id, (sequence, state) in newest.items()
        if is_newer(current.get(session_id), sequence)
    ]
    new = [row for row in values if row["key"] not in current]
    moved = [row for row in values if row["key"] in current]
    if new:
        session.execute(
            insert(session_view).values(
                session_id=bindparam("key"),
                status=bindparam("status"),
                delivered_quantity=bindparam("delivered_quantity"),
                sequence=bindparam("sequence"),
            ),
            new,
        )
    if moved:
        session.execute(
            update(session_view)
            .where(session_view.c.session_id == bindparam("key"))
            .values(
                status=bindparam("status"),
                delivered_quantity=bindparam("delivered_quantity"),
                sequence=bindparam("sequence"),
            ),
            moved,
        )


async def xadd_raw(redis: aioredis.Redis, fields: dict[str, bytes], stream: str = STREAM) -> str:
    """XADD arbitrary fields (poison entries); returns the entry id."""
    entry_id: bytes = await redis.xadd(stream, fields)  # type: ignore[arg-type,assignment]
    return entry_id.decode()


async def entries(
    redis: aioredis.Redis, stream: str = STREAM, *, min: str = "-", max: str = "+"
) -> list[tuple[str, dict[bytes, bytes]]]:
    """XRANGE with the types redis-py leaves open pinned down."""
    reply: list[Any] = await redis.xrange(stream, min=min, max=max)  # type: ignore[assignment]
    return [(entry_id.decode(), dict(fields)) for entry_id, fields in reply]


# --- reading state back ---------------------------------------------------------------------


# Reads go through `read_only`: on SQLite a plain BEGIN reads a WAL snapshot at once, where
# the engine's BEGIN IMMEDIATE would queue for the write lock behind the consumer under test
# (a poll could then wait out whole batches and miss the state it is waiting for).


def rows(engine: Engine) -> list[tuple[str, str, int, int]]:
    with read_only(engine).connect() as connection:
        result = connection.execute(
            select(
                session_view.c.session_id,
                session_view.c.status,
                session_view.c.delivered_quantity,
                session_view.c.sequence,
            ).order_by(session_view.c.session_id)
        )
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in result]


def count(engine: Engine, table: Table) -> int:
    with read_only(engine).connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


async def pending_count(redis: aioredis.Redis, stream: str = STREAM, group: str = GROUP) -> int:
    summary: dict[str, Any] = await redis.xpending(stream, group)
    return int(summary["pending"])


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.02,
    what: str = "condition",
) -> float:
    """Poll until `condition` holds; fail after `timeout_s`. Returns the seconds waited."""
    started = time.monotonic()
    deadline = started + timeout_s
    while not await _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(interval_s)
    return time.monotonic() - started


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return bool(await result) if inspect.isawaitable(result) else bool(result)


# --- running consumers ----------------------------------------------------------------------


def group_consumer(
    redis: aioredis.Redis,
    handler: BatchHandler,
    metrics: Metrics,
    *,
    name: str = "replica-1",
    group: str = GROUP,
    stream: str = STREAM,
    skip: frozenset[str] = frozenset(),
    **settings: Any,
) -> GroupConsumer:
    options: dict[str, Any] = {"block_ms": 50, **settings}
    return GroupConsumer(
        redis,
        Subscription(stream, group, handler, skip=skip),
        ConsumerSettings(consumer=name, service="readmodel-test", **options),
        metrics,
    )


@contextlib.asynccontextmanager
async def running(consumer: GroupConsumer) -> AsyncIterator[GroupConsumer]:
    """The consumer's reader runs in the background for the block; stopped within 10 s."""
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield consumer
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


def platform_settings(**overrides: Any) -> PlatformSettings:
    """Settings for a runtime under test: fast polling, background loops that stay out of the way
    (reclaim, lag monitor and trimmer only when a test asks)."""
    values: dict[str, Any] = {
        "environment": "test",
        "consumer_name": "replica-1",
        "block_ms": 50,
        "claim_interval_s": 3600.0,
        "relay_poll_interval_s": 0.2,
        "monitor_interval_s": 3600.0,
        "trim_interval_s": 3600.0,
        **overrides,
    }
    return PlatformSettings(**values)


def messaging_runtime(
    redis: aioredis.Redis,
    engine: Engine,
    metrics: Metrics,
    handler: BatchHandler,
    **settings: Any,
) -> MessagingRuntime:
    return MessagingRuntime(
        service="readmodel-test",
        settings=platform_settings(**settings),
        redis=redis,
        engine=engine,
        metrics=metrics,
        subscriptions=[Subscription(STREAM, GROUP, handler)],
        owned_streams=[],
    )


@contextlib.asynccontextmanager
async def runtime_running(runtime: MessagingRuntime) -> AsyncIterator[MessagingRuntime]:
    await runtime.start()
    try:
        yield runtime
    finally:
        await asyncio.wait_for(runtime.stop(timeout_s=10), timeout=15)


async def check(runtime: MessagingRuntime, name: str) -> CheckResult:
    return await runtime.readiness_checks()[name]()
