"""What a subscriber receives: a validated event with where it came from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.events import CloudEvent, EventPayload


@dataclass(frozen=True)
class Delivery:
    stream: str
    group: str
    entry_id: str
    event: CloudEvent
    payload: EventPayload
    delivery_count: int = 1


# Applies deliveries atomically (all or none), in a worker thread. Raising
# PermanentEventError for a single delivery sends it to the dead letters at once;
# any other exception leaves it pending for a later retry.
BatchHandler = Callable[[Sequence[Delivery]], None]


class PermanentEventError(Exception):
    """The event is valid but can never be applied here; retrying will not help."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Subscription:
    """`skip`: event types that change nothing the handler keeps. They are still validated
    (a malformed one is dead-lettered like any other), then acknowledged without a call to
    the handler, a transaction or an inbox row: applying nothing twice is harmless."""

    stream: str
    group: str
    handler: BatchHandler
    name: str = ""
    skip: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return self.name or f"{self.group}<-{self.stream}"
