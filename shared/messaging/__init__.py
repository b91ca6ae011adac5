"""Delivery over Redis Streams: outbox relay, inbox, consumer groups, reclaim, dead letters."""

from shared.messaging.delivery import BatchHandler, Delivery, PermanentEventError, Subscription
from shared.messaging.inbox import claim_fresh, is_newer
from shared.messaging.outbox import OutboxRelay, add_to_outbox
from shared.messaging.streams import DEADLETTER_STREAM, ENTRY_FIELD, stream_of

__all__ = [
    "DEADLETTER_STREAM",
    "ENTRY_FIELD",
    "BatchHandler",
    "Delivery",
    "OutboxRelay",
    "PermanentEventError",
    "Subscription",
    "add_to_outbox",
    "claim_fresh",
    "is_newer",
    "stream_of",
]
