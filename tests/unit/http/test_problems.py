import logging

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from shared.http.problems import (
    PROBLEM_MEDIA_TYPE,
    Problem,
    ProblemDetails,
    install_problem_handlers,
    problem_responses,
)

NIK = "6307061203900001"


class Registration(BaseModel):
    nik: str = Field(pattern=r"^\d{15}$")
    age: int


def make_client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/agreements/{agreement_id}", responses=problem_responses(404))
    async def get_agreement(agreement_id: str) -> None:
        raise Problem(
            404,
            "Agreement not found",
            f"no agreement {agreement_id}",
            "https://sinergi.example/problems/not-found",
            agreement_id=agreement_id,
        )

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, headers={"X-Reason": "short and stout"})

    @app.get("/starlette-detail")
    async def detailed() -> None:
        raise HTTPException(409, detail=f"person {NIK} already registered")

    @app.post("/registrations")
    async def register(registration: Registration) -> None:
        return None

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError(f"database exploded for {NIK}")

    return TestClient(app, raise_server_exceptions=False)


def test_a_raised_problem_becomes_a_problem_document() -> None:
    response = make_client().get("/agreements/A-1")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json() == {
        "type": "https://sinergi.example/problems/not-found",
        "title": "Agreement not found",
        "status": 404,
        "detail": "no agreement A-1",
        "instance": "/agreements/A-1",
        "agreement_id": "A-1",
    }


def test_a_nik_in_a_problem_detail_extension_or_path_is_redacted() -> None:
    response = make_client().get(f"/agreements/{NIK}")

    assert NIK not in response.text
    body = response.json()
    assert body["detail"] == "no agreement [NIK]"
    assert body["instance"] == "/agreements/[NIK]"
    assert body["agreement_id"] == "[NIK]"


def test_an_http_exception_keeps_its_status_and_headers() -> None:
    response = make_client().get("/teapot")

    assert response.status_code == 418
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["x-reason"] == "short and stout"
    assert response.json() == {
        "type": "about:blank",
        "title": "I'm a Teapot",
        "status": 418,
        "instance": "/teapot",
    }


def test_an_http_exception_detail_is_redacted() -> None:
    response = make_client().get("/starlette-detail")

    assert response.status_code == 409
    assert response.json()["detail"] == "person [NIK] already registered"


def test_an_unknown_route_is_a_404_problem() -> None:
    response = make_client().get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["title"] == "Not Found"


def test_a_validation_error_lists_errors_without_echoing_the_input() -> None:
    response = make_client().post("/registrations", json={"nik": NIK, "age": "old"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert NIK not in response.text
    body = response.json()
    assert body["title"] == "Unprocessable Entity"
    assert body["status"] == 422
    assert body["instance"] == "/registrations"
    assert {tuple(error["loc"]) for error in body["errors"]} == {
        ("body", "nik"),
        ("body", "age"),
    }
    for error in body["errors"]:
        assert set(error) == {"loc", "msg", "type"}
    assert "old" not in response.text


def test_an_unhandled_exception_is_a_generic_500_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="shared.http.problems"):
        response = make_client().get("/crash")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "internal error",
        "instance": "/crash",
    }
    (record,) = [r for r in caplog.records if r.name == "shared.http.problems"]
    assert record.exc_info is not None


def test_problem_details_documents_problem_responses_in_openapi() -> None:
    app = FastAPI()

    @app.get("/x", responses=problem_responses(404, 409))
    async def x() -> None:
        return None

    operation = app.openapi()["paths"]["/x"]["get"]["responses"]
    assert PROBLEM_MEDIA_TYPE in operation["404"]["content"]
    assert "ProblemDetails" in str(operation["409"])
    assert ProblemDetails(title="t", status=400, code="x").model_dump()["code"] == "x"
