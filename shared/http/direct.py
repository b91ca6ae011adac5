"""Routes served without FastAPI's per-request dependency solving, documented as usual.

FastAPI resolves an endpoint's parameters (security schemes, headers, the body) through a
generic dependency graph on every request; on the busiest command that is a sizeable share of
the service's CPU. A direct route keeps the declared endpoint for the OpenAPI document and
serves requests with a handler that reads the same inputs itself, raising the same errors.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def direct_route(handler: Handler) -> type[APIRoute]:
    """An APIRoute class whose requests go to `handler`; its OpenAPI operation is the one
    FastAPI derives from the declared endpoint."""

    class DirectRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            return handler

    return DirectRoute


async def direct_body(request: Request, model: type[M], errors: list[Any]) -> M | None:
    """The JSON body validated as `model`; its errors join `errors` under `body`, as
    FastAPI reports them."""
    raw = await request.body()
    if not raw:
        errors.append({"type": "missing", "loc": ("body",), "msg": "Field required"})
        return None
    if not _is_json(request.headers.get("content-type")):
        # FastAPI's strict content type: a body not declared JSON is not parsed as JSON
        errors.append({"type": "model_attributes_type", "loc": ("body",), "msg": _NOT_AN_OBJECT})
        return None
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        errors += [
            {"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]}
            for e in error.errors(include_url=False)
        ]
        return None


_NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
