"""Stream names and the wire format of a stream entry."""

from __future__ import annotations

from collections.abc import Mapping

# One field holding the CloudEvent JSON. FastStream subscribers read a `__data__` field
# holding plain JSON as the message body, so the same entry serves them and any other client.
ENTRY_FIELD = "__data__"
DEADLETTER_STREAM = "sinergi.deadletter"
MAX_ENTRY_BYTES = 1_048_576


def stream_of(service: str) -> str:
    return f"sinergi.{service}"


def entry_body(fields: Mapping[bytes, bytes] | None) -> bytes | None:
    if not fields:
        return None
    return fields.get(ENTRY_FIELD.encode())


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
