"""The shared event schema: the CloudEvents envelope and every payload Sinergi publishes."""

from shared.events.catalogue import CATALOGUE, InvalidEventError, build_event, parse_event
from shared.events.envelope import CloudEvent, EventPayload

__all__ = [
    "CATALOGUE",
    "CloudEvent",
    "EventPayload",
    "InvalidEventError",
    "build_event",
    "parse_event",
]
