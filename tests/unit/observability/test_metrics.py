import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from shared.observability.metrics import UNMATCHED_ROUTE, AccessLog, Metrics, instrument_http

NIK = "6307061203900001"


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    payload, _ = metrics.render()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(payload.decode())
        for sample in family.samples
    }


def test_render_exposes_every_sinergi_metric_name() -> None:
    metrics = Metrics("agreements")
    metrics.count_published("agreements.events")
    metrics.count_consumed("agreements.events", "matching", "AgreementSigned")
    metrics.count_failed("agreements.events", "matching", "AgreementSigned")
    metrics.count_dead_lettered("agreements.events", "matching", "invalid_schema")
    metrics.observe_handling("agreements.events", "matching", 0.002)
    metrics.set_lag("agreements.events", "matching", lag=5, pending=2)
    metrics.set_outbox_pending(3)
    metrics.observe_http("GET", "/health/live", 200, 0.001)

    payload, content_type = metrics.render()

    assert content_type.startswith("text/plain")
    text = payload.decode()
    for name in (
        "sinergi_events_published_total",
        "sinergi_events_consumed_total",
        "sinergi_events_failed_total",
        "sinergi_events_dead_lettered_total",
        "sinergi_consumer_lag_entries",
        "sinergi_consumer_pending_entries",
        "sinergi_event_handling_seconds_bucket",
        "sinergi_outbox_pending_messages",
        "sinergi_http_requests_total",
        "sinergi_http_request_duration_seconds_bucket",
    ):
        assert name in text


def test_convenience_methods_fill_in_the_service_label() -> None:
    metrics = Metrics("matching")
    metrics.count_published("s", n=3)
    metrics.set_lag("s", "g", lag=7, pending=1)

    values = samples(metrics)

    service_stream = frozenset({("service", "matching"), ("stream", "s")})
    service_group = service_stream | {("group", "g")}
    assert values[("sinergi_events_published_total", service_stream)] == 3
    assert values[("sinergi_consumer_lag_entries", service_group)] == 7
    assert values[("sinergi_consumer_pending_entries", service_group)] == 1


def test_two_instances_in_one_process_keep_separate_registries() -> None:
    first, second = Metrics("a"), Metrics("b")
    first.count_published("s")

    assert "sinergi_events_published_total{" in first.render()[0].decode()
    assert "sinergi_events_published_total{" not in second.render()[0].decode()


def test_http_metrics_use_the_route_template_not_the_raw_path() -> None:
    metrics = Metrics("agreements")
    app = FastAPI()

    @app.get("/agreements/{agreement_id}")
    async def get_agreement(agreement_id: str) -> dict[str, str]:
        return {"id": agreement_id}

    instrument_http(app, metrics)
    client = TestClient(app)
    client.get(f"/agreements/{NIK}")
    client.get(f"/unknown/{NIK}")

    text = metrics.render()[0].decode()
    assert NIK not in text
    values = samples(metrics)
    matched = frozenset(
        {
            ("service", "agreements"),
            ("method", "GET"),
            ("route", "/agreements/{agreement_id}"),
            ("status", "200"),
        }
    )
    unmatched = frozenset(
        {
            ("service", "agreements"),
            ("method", "GET"),
            ("route", UNMATCHED_ROUTE),
            ("status", "404"),
        }
    )
    assert values[("sinergi_http_requests_total", matched)] == 1
    assert values[("sinergi_http_requests_total", unmatched)] == 1


def test_http_metrics_count_an_unhandled_exception_as_500() -> None:
    metrics = Metrics("agreements")
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    instrument_http(app, metrics)
    TestClient(app, raise_server_exceptions=False).get("/boom")

    assert 'route="/boom",service="agreements",status="500"' in metrics.render()[0].decode()


def access_lines(mode: AccessLog, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    app = FastAPI()

    @app.get("/agreements/{agreement_id}")
    async def get_agreement(agreement_id: str) -> dict[str, str]:
        return {"id": agreement_id}

    instrument_http(app, Metrics("agreements"), mode)
    client = TestClient(app)
    with caplog.at_level(logging.INFO, logger="sinergi.access"):
        client.get(f"/agreements/{NIK}")
        client.get(f"/unknown/{NIK}")
    return [r for r in caplog.records if r.name == "sinergi.access"]


def test_the_default_access_log_keeps_refusals_and_failures_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (line,) = access_lines("errors", caplog)

    assert line.getMessage().startswith(f"GET {UNMATCHED_ROUTE} 404 ")
    assert line.__dict__["status"] == 404
    assert line.__dict__["duration_ms"] >= 0


def test_the_full_access_log_names_route_templates_and_never_the_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = access_lines("all", caplog)

    assert [(r.__dict__["route"], r.__dict__["status"]) for r in lines] == [
        ("/agreements/{agreement_id}", 200),
        (UNMATCHED_ROUTE, 404),
    ]
    assert not any(NIK in r.getMessage() for r in lines)


def test_an_access_log_turned_off_writes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    assert access_lines("off", caplog) == []
