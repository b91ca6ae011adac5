import asyncio
from typing import Any

import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.observability.health import (
    Check,
    CheckResult,
    database_check,
    health_router,
    redis_check,
)
from shared.observability.metrics import Metrics

NIK = "6307061203900001"


def returning(result: CheckResult) -> Check:
    async def check() -> CheckResult:
        return result

    return check


def sleeping(seconds: float) -> Check:
    async def check() -> CheckResult:
        await asyncio.sleep(seconds)
        return CheckResult(True)

    return check


def raising(exc: Exception) -> Check:
    async def check() -> CheckResult:
        raise exc

    return check


def client_for(checks: Any, timeout_s: float = 2.0) -> TestClient:
    app = FastAPI()
    app.include_router(health_router(checks, Metrics("test"), timeout_s=timeout_s))
    return TestClient(app)


def test_liveness_answers_live_without_running_checks() -> None:
    response = client_for({"redis": raising(RuntimeError("down"))}).get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "live"}


def test_readiness_is_200_when_every_check_passes() -> None:
    client = client_for({"redis": returning(CheckResult(True)), "db": returning(CheckResult(True))})

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"redis": {"ok": True, "detail": ""}, "db": {"ok": True, "detail": ""}},
    }


def test_readiness_is_503_when_one_check_fails() -> None:
    client = client_for(
        {"redis": returning(CheckResult(True)), "db": returning(CheckResult(False, "refused"))}
    )

    response = client.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["db"] == {"ok": False, "detail": "refused"}
    assert body["checks"]["redis"]["ok"] is True


def test_a_slow_check_times_out_and_makes_the_service_not_ready() -> None:
    client = client_for({"slow": sleeping(5), "fast": sleeping(0)}, timeout_s=0.05)

    response = client.get("/health/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["slow"] == {"ok": False, "detail": "timed out"}
    assert checks["fast"] == {"ok": True, "detail": ""}


def test_checks_run_concurrently() -> None:
    client = client_for({name: sleeping(0.2) for name in "abcd"}, timeout_s=1.0)

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.elapsed.total_seconds() < 0.6


def test_a_check_that_raises_is_reported_not_ready_with_a_redacted_reason() -> None:
    client = client_for({"lookup": raising(RuntimeError(f"no person {NIK}"))})

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["lookup"] == {
        "ok": False,
        "detail": "RuntimeError: no person [NIK]",
    }


def test_checks_registered_after_the_router_is_built_are_run() -> None:
    checks: dict[str, Check] = {}
    client = client_for(checks)
    checks["subscriber"] = returning(CheckResult(False, "not started"))

    assert client.get("/health/ready").status_code == 503


def test_checks_can_come_from_a_callable() -> None:
    checks = {"db": returning(CheckResult(True))}

    assert client_for(lambda: checks).get("/health/ready").status_code == 200


def test_each_readiness_answer_is_recorded_as_a_gauge_per_check() -> None:
    metrics = Metrics("programs")
    app = FastAPI()
    checks = {"redis": returning(CheckResult(True)), "database": returning(CheckResult(False))}
    app.include_router(health_router(checks, metrics))

    TestClient(app).get("/health/ready")

    text = metrics.render()[0].decode()
    assert 'sinergi_readiness_check_passing{check="redis",service="programs"} 1.0' in text
    assert 'sinergi_readiness_check_passing{check="database",service="programs"} 0.0' in text


def test_metrics_endpoint_serves_prometheus_text() -> None:
    metrics = Metrics("test")
    metrics.set_outbox_pending(4)
    app = FastAPI()
    app.include_router(health_router({}, metrics))

    response = TestClient(app).get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'sinergi_outbox_pending_messages{service="test"} 4.0' in response.text


async def test_database_check_runs_select_one() -> None:
    engine = sqlalchemy.create_engine("sqlite://")

    assert await database_check(engine)() == CheckResult(True)


async def test_database_check_reports_a_failing_engine() -> None:
    engine = sqlalchemy.create_engine("sqlite:////nonexistent-dir/sinergi.db")

    result = await database_check(engine)()

    assert not result.ok
    assert result.detail.startswith("OperationalError")
    assert len(result.detail) <= 120


class FakeRedis:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def ping(self) -> bool:
        if self.error is not None:
            raise self.error
        return True


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        (FakeRedis(), CheckResult(True)),
        (FakeRedis(ConnectionError("refused")), CheckResult(False, "ConnectionError: refused")),
    ],
)
async def test_redis_check_pings(client: FakeRedis, expected: CheckResult) -> None:
    assert await redis_check(client)() == expected  # type: ignore[arg-type]
