"""Per-task logging context (event id, correlation id) carried in contextvars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

__all__ = ["current_correlation_id", "current_event_id", "log_context"]

_event_id: ContextVar[str | None] = ContextVar("sinergi_event_id", default=None)
_correlation_id: ContextVar[str | None] = ContextVar("sinergi_correlation_id", default=None)


@contextmanager
def log_context(
    *, event_id: str | None = None, correlation_id: str | None = None
) -> Iterator[None]:
    """Tag every log record emitted inside the block; ``None`` keeps the outer value."""
    tokens: list[tuple[ContextVar[str | None], Token[str | None]]] = []
    if event_id is not None:
        tokens.append((_event_id, _event_id.set(event_id)))
    if correlation_id is not None:
        tokens.append((_correlation_id, _correlation_id.set(correlation_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_event_id() -> str | None:
    return _event_id.get()


def current_correlation_id() -> str | None:
    return _correlation_id.get()
