"""The benchmark's workload: realistic `sinergi.session.held` events and a service-like handler.

The handler does what a consuming service does with a batch: one transaction holding the
inbox claim (`claim_fresh`) and a sequence-checked upsert into a read model, then commit.
It times its own phases so the report can say where a batch's time goes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from shared.events import CloudEvent, build_event
from shared.events.programs import SessionHeld, SessionState
from shared.messaging import BatchHandler, Delivery, PermanentEventError, claim_fresh, is_newer
from shared.messaging.tables import InboxMessage, OutboxMessage

FACILITY = "LP-CIPINANG"
PARTNERS = ("PKBM-BINA-INSAN", "BLK-JAKTIM", "YAYASAN-MANDIRI", "SMK-TEKNIK-NUSANTARA")
KINDS = ("vocational_training", "literacy_class", "counselling", "religious_guidance")

read_model = MetaData()
session_view = Table(
    "session_view",
    read_model,
    Column("session_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("delivered_quantity", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    # How many events this row has folded in: sums to N when every event applied once.
    Column("applied", Integer, nullable=False),
)
inbox = InboxMessage.__table__  # type: ignore[attr-defined]
outbox = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Workload:
    events: list[CloudEvent]
    bodies: list[bytes]
    # session id -> (final sequence, final delivered quantity): what the read model must hold.
    expected: dict[str, tuple[int, int]]

    @property
    def sessions(self) -> int:
        return len(self.expected)


def build_workload(n: int) -> Workload:
    """`n` held-session events over n/4 sessions (at least 100), sequences rising per session.

    Consecutive events belong to different sessions, so a batch of 100 touches 100 rows,
    and every event is newer than what the read model holds when it arrives.
    """
    sessions = max(100, n // 4)
    ids = [str(uuid.UUID(int=index + 1)) for index in range(sessions)]
    agreements = [str(uuid.UUID(int=(1 << 64) + index // 8)) for index in range(sessions)]
    items = [str(uuid.UUID(int=(2 << 64) + index // 2)) for index in range(sessions)]
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    events: list[CloudEvent] = []
    expected: dict[str, tuple[int, int]] = {}
    for index in range(n):
        slot, sequence = index % sessions, index // sessions + 1
        scheduled = date(2026, 3, 2) + timedelta(days=slot % 60)
        quantity = 2 * sequence + slot % 3
        state = SessionState(
            session_id=ids[slot],
            agreement_id=agreements[slot],
            action_plan_item_id=items[slot],
            partner_code=PARTNERS[slot % len(PARTNERS)],
            programme_kind=KINDS[slot % len(KINDS)],
            status="held",
            scheduled_on=scheduled,
            held_on=scheduled,
            delivered_quantity=quantity,
            unit="hours",
            participant_count=12 + slot % 17,
        )
        correlation = str(uuid.UUID(int=(3 << 64) + index))
        events.append(
            build_event(
                SessionHeld(session=state),
                subject=ids[slot],
                facility=FACILITY,
                sequence=sequence,
                correlation_id=correlation,
                event_id=str(uuid.UUID(int=(5 << 64) + index)),
                time=start + timedelta(milliseconds=index),
            )
        )
        expected[ids[slot]] = (sequence, quantity)
    return Workload(events, [event.to_json().encode() for event in events], expected)


@dataclass
class HandlerStats:
    """Wall time of the handler's phases, summed over calls (seconds)."""

    calls: int = 0
    single_calls: int = 0
    deliveries: int = 0
    total: float = 0.0
    claim: float = 0.0
    upsert: float = 0.0
    commit: float = 0.0
    durations: list[float] = field(default_factory=list)

    def tenths_ms(self) -> tuple[float, float]:
        """Mean handler ms per batch over the first and the last tenth of the batches."""
        if not self.durations:
            return 0.0, 0.0
        tenth = max(len(self.durations) // 10, 1)
        first, last = self.durations[:tenth], self.durations[-tenth:]
        return 1000 * sum(first) / len(first), 1000 * sum(last) / len(last)


def _upsert(engine: Engine) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE, applied only where it is newer; run as executemany.

    (A multi-row VALUES statement was tried: SQLAlchemy compiles it afresh for every batch,
    ~20 ms per batch of 100 on this machine, so it is slower than executemany here.)
    """
    dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(session_view)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[session_view.c.session_id],
        set_={
            "status": excluded.status,
            "delivered_quantity": excluded.delivered_quantity,
            "sequence": excluded.sequence,
            "applied": session_view.c.applied + excluded.applied,
        },
        where=session_view.c.sequence < excluded.sequence,
    )


def read_model_handler(engine: Engine, group: str, stats: HandlerStats) -> BatchHandler:
    upsert = _upsert(engine)

    def handle(deliveries: Sequence[Delivery]) -> None:
        started = time.perf_counter()
        stats.calls += 1
        stats.single_calls += len(deliveries) == 1
        with Session(engine, expire_on_commit=False) as session:
            fresh = claim_fresh(session, deliveries, group)
            claimed = time.perf_counter()
            rows: dict[str, dict[str, Any]] = {}
            if fresh:
                subjects = {delivery.event.subject for delivery in fresh}
                current: dict[str, int] = {
                    row.session_id: row.sequence
                    for row in session.execute(
                        select(session_view.c.session_id, session_view.c.sequence).where(
                            session_view.c.session_id.in_(subjects)
                        )
                    )
                }
                for delivery in fresh:
                    payload = delivery.payload
                    if not isinstance(payload, SessionHeld):
                        raise PermanentEventError("unexpected", delivery.event.type)
                    state = payload.session
                    if not is_newer(current.get(state.session_id), delivery.event.sequence):
                        continue
                    current[state.session_id] = delivery.event.sequence
                    folded = rows.get(state.session_id, {}).get("applied", 0)
                    rows[state.session_id] = {
                        "session_id": state.session_id,
                        "status": state.status,
                        "delivered_quantity": state.delivered_quantity,
                        "sequence": delivery.event.sequence,
                        "applied": folded + 1,
                    }
                if rows:
                    session.execute(upsert, list(rows.values()))
            upserted = time.perf_counter()
            session.commit()
        finished = time.perf_counter()
        stats.deliveries += len(deliveries)
        stats.claim += claimed - started
        stats.upsert += upserted - claimed
        stats.commit += finished - upserted
        stats.total += finished - started
        stats.durations.append(finished - started)

    return handle


SEED_GROUP = "seed"


def seed_tables(engine: Engine, rows: int) -> None:
    """Make the tables look like a service's that has run a while, then ANALYZE them.

    `rows` earlier events in the inbox (another group's) and rows/4 other sessions in the
    read model, so query plans are made for tables of realistic size, as autovacuum's
    ANALYZE would leave them on a running service.
    """
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for start in range(0, rows, 5000):
            connection.execute(
                inbox.insert(),
                [
                    {
                        "event_id": str(uuid.UUID(int=(6 << 64) + index)),
                        "consumer_group": SEED_GROUP,
                        "event_type": "sinergi.session.held",
                        "processed_at": now,
                    }
                    for index in range(start, min(start + 5000, rows))
                ],
            )
        sessions = rows // 4
        for start in range(0, sessions, 5000):
            connection.execute(
                session_view.insert(),
                [
                    {
                        "session_id": str(uuid.UUID(int=(7 << 64) + index)),
                        "status": "scheduled",
                        "delivered_quantity": 0,
                        "sequence": 1,
                        "applied": 0,
                    }
                    for index in range(start, min(start + 5000, sessions))
                ],
            )
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


@dataclass(frozen=True)
class ReadModelCheck:
    inbox_rows: int
    view_rows: int
    applied_sum: int
    mismatched_rows: int


def check_read_model(engine: Engine, workload: Workload, group: str) -> ReadModelCheck:
    """Only this group's inbox rows and this workload's sessions count (seeds are left out)."""
    with engine.connect() as connection:
        inbox_rows = connection.execute(
            select(func.count()).select_from(inbox).where(inbox.c.consumer_group == group)
        ).scalar_one()
        rows = connection.execute(
            select(
                session_view.c.session_id,
                session_view.c.sequence,
                session_view.c.delivered_quantity,
                session_view.c.applied,
                session_view.c.status,
            )
        ).all()
    rows = [row for row in rows if row.session_id in workload.expected]
    mismatched = sum(
        1
        for row in rows
        if workload.expected.get(row.session_id) != (row.sequence, row.delivered_quantity)
        or row.status != "held"
    )
    return ReadModelCheck(
        inbox_rows=int(inbox_rows),
        view_rows=len(rows),
        applied_sum=sum(int(row.applied) for row in rows),
        mismatched_rows=mismatched,
    )
