"""Liveness, readiness and ``/metrics`` endpoints."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass

import redis.asyncio
import sqlalchemy
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from shared.observability.metrics import Metrics
from shared.observability.redaction import redact

__all__ = [
    "Check",
    "CheckResult",
    "ChecksSource",
    "database_check",
    "health_router",
    "redis_check",
]

logger = logging.getLogger(__name__)

_MAX_DETAIL = 120


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str = ""


Check = Callable[[], Awaitable[CheckResult]]
# A mapping read on every request (so later insertions count), or a callable returning one.
ChecksSource = Mapping[str, Check] | Callable[[], Mapping[str, Check]]


def _failure(exc: BaseException) -> CheckResult:
    """A failed result with a short, redacted reason; the full error goes to the log."""
    lines = str(exc).strip().splitlines()
    reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    if len(reason) > _MAX_DETAIL:
        reason = reason[: _MAX_DETAIL - 3] + "..."
    return CheckResult(False, redact(reason))


def redis_check(client: redis.asyncio.Redis) -> Check:
    async def check() -> CheckResult:
        try:
            await client.ping()
        except Exception as exc:
            logger.warning("redis readiness check failed", exc_info=True)
            return _failure(exc)
        return CheckResult(True)

    return check


def database_check(engine: sqlalchemy.Engine) -> Check:
    def select_one() -> None:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))

    async def check() -> CheckResult:
        try:
            await asyncio.to_thread(select_one)
        except Exception as exc:
            logger.warning("database readiness check failed", exc_info=True)
            return _failure(exc)
        return CheckResult(True)

    return check


async def _bounded(check: Check, timeout_s: float) -> CheckResult:
    try:
        async with asyncio.timeout(timeout_s):
            return await check()
    except TimeoutError:
        return CheckResult(False, "timed out")
    except Exception as exc:
        logger.warning("readiness check raised", exc_info=True)
        return _failure(exc)


def health_router(checks: ChecksSource, metrics: Metrics, timeout_s: float = 2.0) -> APIRouter:
    """``GET /health/live``, ``GET /health/ready`` (checks run concurrently) and ``/metrics``."""
    router = APIRouter(tags=["health"])

    def current_checks() -> Mapping[str, Check]:
        return checks() if callable(checks) else checks

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "live"}

    @router.get(
        "/health/ready",
        responses={503: {"description": "At least one dependency is not ready"}},
    )
    async def ready() -> JSONResponse:
        named = dict(current_checks())
        results = await asyncio.gather(*(_bounded(check, timeout_s) for check in named.values()))
        ok = all(result.ok for result in results)
        for name, result in zip(named, results, strict=True):
            metrics.set_readiness(name, result.ok)
        return JSONResponse(
            status_code=200 if ok else 503,
            content={
                "status": "ready" if ok else "not_ready",
                "checks": {
                    name: asdict(result) for name, result in zip(named, results, strict=True)
                },
            },
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        payload, content_type = metrics.render()
        return Response(content=payload, media_type=content_type)

    return router
