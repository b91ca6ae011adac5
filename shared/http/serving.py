"""Running a service under uvicorn the same way everywhere: JSON logs, clean SIGTERM."""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn

from shared.config import PlatformSettings


def _stopped(signum: int, frame: FrameType | None) -> None:
    # uvicorn stops gracefully on SIGTERM (batches in hand finished, outbox flushed) and
    # then raises the signal again; by then the stop has succeeded, so exit with status 0.
    raise SystemExit(0)


def serve(app_factory: str, settings: PlatformSettings) -> None:
    """Serve `module:create_app` on the configured host and port until SIGTERM or SIGINT."""
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        # the C event loop and HTTP parser (uvicorn's "standard" choice) rather than the
        # pure-Python asyncio loop and h11
        loop="uvloop",
        http="httptools",
        log_config=None,
        # the services' own access log (shared.observability.metrics) replaces uvicorn's
        access_log=False,
        timeout_graceful_shutdown=30,
    )
