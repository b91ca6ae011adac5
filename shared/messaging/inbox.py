"""Inbox: an event's effects and its id commit together, so a redelivery changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlmodel import Session

from shared.messaging.delivery import Delivery
from shared.messaging.tables import InboxMessage

inbox = InboxMessage.__table__  # type: ignore[attr-defined]


def claim_fresh(session: Session, deliveries: Sequence[Delivery], group: str) -> list[Delivery]:
    """Record the deliveries not processed before and return them, in order.

    Runs inside the caller's transaction: if it rolls back, the claims go with it. Two
    replicas racing on one event both insert its id; the second commit fails on the primary
    key and its entry stays pending, to be acknowledged as a duplicate on the next delivery.
    """
    ids = [delivery.event.id for delivery in deliveries]
    seen = set(session.execute(select(inbox.c.event_id).where(inbox.c.event_id.in_(ids))).scalars())
    fresh: list[Delivery] = []
    for delivery in deliveries:
        if delivery.event.id not in seen:
            seen.add(delivery.event.id)
            fresh.append(delivery)
    if fresh:
        now = datetime.now(UTC)
        session.execute(
            insert(inbox),
            [
                {
                    "event_id": delivery.event.id,
                    "consumer_group": group,
                    "event_type": delivery.event.type,
                    "processed_at": now,
                }
                for delivery in fresh
            ],
        )
    return fresh


def is_newer(current_sequence: int | None, incoming_sequence: int) -> bool:
    """A read model applies a state-carrying event only if it is newer than what it holds."""
    return current_sequence is None or incoming_sequence > current_sequence
