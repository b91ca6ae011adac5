"""Inbox: an event's effects and its id commit together, so a redelivery changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from shared.messaging.delivery import Delivery
from shared.messaging.tables import InboxMessage

inbox = InboxMessage.__table__  # type: ignore[attr-defined]
_INSERTS: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql_insert,
    "sqlite": sqlite_insert,
}


def claim_fresh(session: Session, deliveries: Sequence[Delivery], group: str) -> list[Delivery]:
    """Record the deliveries not processed before and return them, in order.

    Runs inside the caller's transaction: if it rolls back, the claims go with it. One
    `INSERT ... ON CONFLICT DO NOTHING RETURNING` both records the ids and says which were
    new. A replica racing on the same event waits on the first one's row: if that commits,
    the event counts as seen here; if it rolls back, this replica applies it.
    """
    unique: dict[str, Delivery] = {}
    for delivery in deliveries:
        unique.setdefault(delivery.event.id, delivery)
    if not unique:
        return []
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": event_id,
            "consumer_group": group,
            "event_type": delivery.event.type,
            "processed_at": now,
        }
        for event_id, delivery in unique.items()
    ]
    dialect = session.get_bind().dialect.name
    insert_ignoring = _INSERTS.get(dialect)
    if insert_ignoring is None:
        return _claim_by_lookup(session, list(unique.values()), rows)
    statement = insert_ignoring(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)
    claimed = set(session.execute(statement, rows).scalars())
    return [delivery for event_id, delivery in unique.items() if event_id in claimed]


def _claim_by_lookup(
    session: Session, deliveries: list[Delivery], rows: list[dict[str, object]]
) -> list[Delivery]:
    seen = set(
        session.execute(
            select(inbox.c.event_id).where(inbox.c.event_id.in_([d.event.id for d in deliveries]))
        ).scalars()
    )
    fresh = [row for row in rows if row["event_id"] not in seen]
    if fresh:
        session.execute(insert(inbox), fresh)
    return [delivery for delivery in deliveries if delivery.event.id not in seen]


def is_newer(current_sequence: int | None, incoming_sequence: int) -> bool:
    """A read model applies a state-carrying event only if it is newer than what it holds."""
    return current_sequence is None or incoming_sequence > current_sequence
