"""A small HTTP client of the agreements service: only what the command line needs.

It reads replies into its own models (ignoring unknown fields) instead of importing the
service's schemas, as any outside client would.
"""

from __future__ import annotations

from datetime import date
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict

API_KEY_HEADER = "X-API-Key"


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {detail}")
        self.status = status
        self.detail = detail


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AgreementView(_Reply):
    id: str
    partner_code: str
    facility_number: str
    title: str
    start_date: date
    end_date: date
    status: str
    signed_on: date | None
    renews: str | None
    renewed_by: str | None


class RealisationRow(_Reply):
    partner_code: str
    agreement_id: str
    facility_number: str
    agreement_status: str
    item_id: str
    programme_kind: str
    description: str
    unit: str
    target_quantity: int
    realised_quantity: int
    progress_percent: float
    milestone: str


class AgreementsClient:
    def __init__(self, base_url: str, api_key: str, timeout_s: float = 10.0) -> None:
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

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail", response.text))
            except ValueError:
                detail = response.text
            raise ApiError(method, path, response.status_code, detail)
        return response.json() if response.content else None

    def _create(self, path: str, body: dict[str, Any]) -> str:
        return str(self._call("POST", path, body)["id"])

    # --- commands ---------------------------------------------------------------------------

    def register_partner(self, body: dict[str, Any]) -> str:
        return self._create("/partners", body)

    def draft_agreement(self, body: dict[str, Any]) -> str:
        return self._create("/agreements", body)

    def draft_renewal(self, prior_id: str, body: dict[str, Any]) -> str:
        return self._create(f"/agreements/{prior_id}/renewals", body)

    def add_action_plan_item(self, agreement_id: str, body: dict[str, Any]) -> str:
        return self._create(f"/agreements/{agreement_id}/action-plan/items", body)

    def sign(self, agreement_id: str, body: dict[str, Any]) -> None:
        self._call("POST", f"/agreements/{agreement_id}/sign", body)

    def advance_calendar(self) -> int:
        return int(self._call("POST", "/calendar/advance")["changed"])

    # --- queries ----------------------------------------------------------------------------

    def agreements(self) -> list[AgreementView]:
        reply = self._call("GET", "/agreements?limit=1000")
        return [AgreementView.model_validate(row) for row in reply["data"]]

    def realisation(self) -> list[RealisationRow]:
        reply = self._call("GET", "/reports/realisation")
        return [RealisationRow.model_validate(row) for row in reply["rows"]]
