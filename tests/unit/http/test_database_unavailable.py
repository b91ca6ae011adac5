"""An unreachable database is a 503 problem with Retry-After, never a 500 or a traceback."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shared.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

NIK = "6307061203900001"


def client_raising(error: Exception) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/inmates")
    def admit() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


def refused_connection() -> OperationalError:
    driver_error = ConnectionRefusedError(f"connection refused while inserting {NIK}")
    return OperationalError(
        "INSERT INTO inmates (nik) VALUES (%(nik)s)", {"nik": NIK}, driver_error
    )


@pytest.mark.parametrize(
    "error",
    [
        refused_connection(),
        InterfaceError("SELECT 1", {}, ConnectionResetError("connection already closed")),
        PoolTimeoutError("QueuePool limit of size 10 overflow 10 reached"),
    ],
    ids=["operational", "interface", "pool-timeout"],
)
def test_a_database_that_cannot_be_reached_is_a_503_problem_with_retry_after(
    error: Exception,
) -> None:
    response = client_raising(error).post("/inmates")

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert int(response.headers["retry-after"]) > 0
    assert response.json() == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "the database is unavailable; retry later",
        "instance": "/inmates",
    }


def test_the_503_logs_the_error_type_but_not_the_statement_or_its_parameters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        response = client_raising(refused_connection()).post("/inmates")

    assert response.status_code == 503
    assert NIK not in response.text
    logged = "\n".join(
        record.getMessage() + str(record.exc_info or "") for record in caplog.records
    )
    assert "OperationalError" in logged
    assert NIK not in logged and "INSERT" not in logged


def test_an_integrity_error_is_not_mistaken_for_an_outage() -> None:
    error = IntegrityError("INSERT", {}, Exception("duplicate key"))

    response = client_raising(error).post("/inmates")

    assert response.status_code == 500
    assert "retry-after" not in response.headers
