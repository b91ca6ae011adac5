"""Correlation ids from the `X-Correlation-ID` header into the log context and events."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability.context import log_context

CORRELATION_HEADER = "X-Correlation-ID"


class CorrelationMiddleware:
    """Pure ASGI (no extra task or stream per request, unlike BaseHTTPMiddleware).

    A valid header (1 to 64 characters) is put in the log context while the request is
    handled, where use cases take it for the events they record, and is echoed back.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = Headers(scope=scope).get(CORRELATION_HEADER) or None
        if correlation_id is not None and not 0 < len(correlation_id) <= 64:
            correlation_id = None
        if correlation_id is None:
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        with log_context(correlation_id=correlation_id):
            await self.app(scope, receive, send_with_header)
