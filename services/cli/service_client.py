"""What every small HTTP client of the command line shares: the key header, the context
manager, and reading a problem-details answer into an :class:`ApiError`.

The clients read replies into their own models (ignoring unknown fields) instead of importing
the services' schemas, as any outside client would.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict

from shared.http.auth import API_KEY_HEADER


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {detail}")
        self.status = status
        self.detail = detail


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ServiceClient:
    def __init__(self, base_url: str, api_key: str, timeout_s: float = 30.0) -> None:
        self.base_url = base_url
        self._http = httpx.Client(
            base_url=base_url, headers={API_KEY_HEADER: api_key}, timeout=timeout_s
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(method, path, response.status_code, _problem(response))
        return response.json() if response.content else None


def _problem(response: httpx.Response) -> str:
    """``code: detail`` of a problem-details answer, or what of it there is."""
    try:
        reply = response.json()
    except ValueError:
        return response.text
    if not isinstance(reply, dict):
        return response.text
    code, detail = reply.get("code"), reply.get("detail")
    if code and detail:
        return f"{code}: {detail}"
    return str(code or detail or response.text)
