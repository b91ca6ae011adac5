"""RFC 9457 problem details (``application/problem+json``) for every error response."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.observability.redaction import redact_value
from shared.persistence.errors import DATABASE_UNAVAILABLE

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "Problem",
    "ProblemDetails",
    "install_problem_handlers",
    "problem_response",
    "problem_responses",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
DATABASE_RETRY_AFTER_S = 5

logger = logging.getLogger(__name__)


class Problem(Exception):
    """Raise from a route to answer with a problem document.

    ``extensions`` become extra members of the document; ``headers`` are sent with
    the response (e.g. ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        type_: str = "about:blank",
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: object,
    ) -> None:
        super().__init__(f"{status} {title}" + (f": {detail}" if detail else ""))
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.headers = dict(headers or {})
        self.extensions = extensions


class ProblemDetails(BaseModel):
    """OpenAPI schema of a problem document, for ``responses=`` declarations."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem documents for the given status codes."""
    return {
        status: {
            "model": ProblemDetails,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    type_: str = "about:blank",
    *,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, object] | None = None,
) -> JSONResponse:
    """Build a redacted problem response; ``instance`` defaults to the request path."""
    body: dict[str, Any] = {"instance": request.url.path}
    body.update(jsonable_encoder(dict(extensions or {})))
    body.update({"type": type_, "title": title, "status": status})
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(
        status_code=status,
        content=redact_value(body),
        headers=dict(headers) if headers else None,
        media_type=PROBLEM_MEDIA_TYPE,
    )


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        request,
        exc.status,
        exc.title,
        exc.detail,
        exc.type,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _phrase(exc.status_code)
    extensions: dict[str, object] = {}
    detail: str | None = None
    if isinstance(exc.detail, str):
        detail = exc.detail if exc.detail != title else None
    elif exc.detail is not None:
        extensions["details"] = exc.detail
    return problem_response(
        request, exc.status_code, title, detail, headers=exc.headers, extensions=extensions
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only loc/msg/type: pydantic's ``input`` and ``ctx`` would echo the submitted value.
    errors = [
        {
            "loc": list(error.get("loc", ())),
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    return problem_response(
        request,
        422,
        _phrase(422),
        "request validation failed",
        extensions={"errors": errors},
    )


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After``: the database cannot be reached.

    The transaction in hand rolled back with the connection; a command made of one
    transaction changed nothing, and the roster import (rows in chunks, then its report)
    is completed by sending the same file again. Only the error's type is logged (the
    message can hold the statement's parameters).
    """
    logger.warning(
        "database unavailable (%s) on %s %s: answered 503",
        type(exc).__name__,
        request.method,
        request.url.path,
    )
    return problem_response(
        request,
        503,
        _phrase(503),
        "the database is unavailable; retry later",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def _on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    logger.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return problem_response(request, 500, _phrase(500), "internal error")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_problem_handlers(app: FastAPI) -> None:
    """Answer ``Problem``, HTTP errors, validation errors and crashes with problem documents;
    an unreachable database with 503 and ``Retry-After``.

    Unhandled exceptions still propagate after the 500 is sent (Starlette re-raises so
    the server can log them); use ``TestClient(app, raise_server_exceptions=False)``.
    """
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _on_database_error)
    app.add_exception_handler(Exception, _on_unhandled)
