"""Correlation ids from the `X-Correlation-ID` header into the log context and events."""

from __future__ import annotations

from starlette.middleware.base import RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from shared.observability.context import log_context

CORRELATION_HEADER = "X-Correlation-ID"


async def correlation_middleware(request: Request, call_next: RequestResponseEndpoint) -> Response:
    correlation_id = request.headers.get(CORRELATION_HEADER) or None
    if correlation_id is not None and not 0 < len(correlation_id) <= 64:
        correlation_id = None
    with log_context(correlation_id=correlation_id):
        response = await call_next(request)
    if correlation_id:
        response.headers[CORRELATION_HEADER] = correlation_id
    return response
