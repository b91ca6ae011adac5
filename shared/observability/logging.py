"""JSON-lines logging on stdout with NIK redaction applied to every record."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

from shared.observability.context import (
    current_correlation_id,
    current_event_id,
    log_context,
)
from shared.observability.redaction import redact, redact_value

__all__ = [
    "JsonFormatter",
    "RedactionFilter",
    "configure_logging",
    "current_correlation_id",
    "log_context",
]

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")
# uvicorn's access line is replaced by ``sinergi.access`` (shared.observability.metrics).
# uvicorn decides per connection whether to format it by asking this logger
# ``hasHandlers()``, so it is left with none and not propagating: muted, not filtered.
UVICORN_ACCESS_LOGGER = "uvicorn.access"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
# uvicorn adds ``color_message`` (the message with ANSI colours), useless in JSON.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__
) | {"message", "asctime", "taskName", "color_message"}
_JSON_SCALARS = (str, int, float, bool, type(None))


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
    }


def _safe(value: object) -> object:
    """Redact and reduce to JSON-native types, so ``str()`` of an object cannot leak."""
    if isinstance(value, dict):
        return {str(_safe(key)): _safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_safe(item) for item in value]
    if isinstance(value, _JSON_SCALARS):
        return redact_value(value)
    return redact(str(value))


class RedactionFilter(logging.Filter):
    """Masks NIKs in the rendered message, the ``extra`` fields and the exception text.

    The record is rewritten in place (message pre-rendered, args dropped), so every
    handler downstream sees only the redacted form.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A broken format string must not crash the caller; the args are dropped
            # rather than rendered, since they may hold exactly what we mask.
            message = f"{record.msg} [unformattable log arguments dropped]"
        record.msg = redact(message)
        record.args = None
        for key, value in _extras(record).items():
            setattr(record, key, _safe(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, service, message, context, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "service": self._service,
            "message": record.getMessage(),
        }
        for key, value in (
            ("event_id", current_event_id()),
            ("correlation_id", current_correlation_id()),
        ):
            if value is not None:
                payload[key] = redact(value)
        for key, value in _extras(record).items():
            payload.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False, default=str)


class _SinergiHandler(logging.StreamHandler[TextIO]):
    """Marker type so ``configure_logging`` can find and replace its own handler."""


def configure_logging(service: str, level: str = "INFO", *, stream: TextIO | None = None) -> None:
    """Send the root logger (and uvicorn's loggers) to stdout as redacted JSON lines.

    Idempotent: a previous handler installed by this function is replaced. ``stream``
    exists for tests; it defaults to ``sys.stdout``.
    """
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _SinergiHandler)]:
        root.removeHandler(existing)
        existing.close()
    handler = _SinergiHandler(stream if stream is not None else sys.stdout)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    uvicorn_access = logging.getLogger(UVICORN_ACCESS_LOGGER)
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
