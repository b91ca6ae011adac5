"""A small HTTP client of the programs service: sessions, programme kinds, the realisation report.

One client per API key: the facility's staff key, or a partner agency's own key.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict

from services.cli.agreements_client import API_KEY_HEADER, ApiError


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ProgrammeKind(_Reply):
    code: str
    unit: str
    quantity_rule: str


class ReportMonth(_Reply):
    month: str
    realised: int


class ReportItem(_Reply):
    partner_code: str
    agreement_id: str
    facility_number: str
    item_id: str
    programme_kind: str
    description: str | None
    unit: str
    target: int | None
    realised: int
    percent: float | None
    months: list[ReportMonth]


class RealisationReport(_Reply):
    month: str | None
    items: list[ReportItem]


class ProductTotal(_Reply):
    product: str
    unit: str
    quantity: int
    total_idr: int


class SalesReport(_Reply):
    period: str
    sales: int
    total_idr: int
    by_product: list[ProductTotal]


class ProgramsClient:
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
            try:
                reply = response.json()
                detail = str(reply.get("code") or reply.get("detail") or response.text)
                if reply.get("code") and reply.get("detail"):
                    detail = f"{reply['code']}: {reply['detail']}"
            except ValueError:
                detail = response.text
            raise ApiError(method, path, response.status_code, detail)
        return response.json() if response.content else None

    # --- commands ---------------------------------------------------------------------------

    def create_session(self, body: dict[str, Any]) -> str:
        """Schedule a session; with ``held_on`` in the body, record it as held at once."""
        return str(self._call("POST", "/sessions", json=body)["id"])

    def record_held(self, session_id: str, body: dict[str, Any]) -> None:
        """Held again: a correction of the earlier report."""
        self._call("POST", f"/sessions/{session_id}/held", json=body)

    def cancel(self, session_id: str, reason: str) -> None:
        self._call("POST", f"/sessions/{session_id}/cancel", json={"reason": reason})

    def record_sale(self, body: dict[str, Any]) -> str:
        return str(self._call("POST", "/sales", json=body)["id"])

    # --- queries ----------------------------------------------------------------------------

    def kinds(self) -> list[ProgrammeKind]:
        return [ProgrammeKind.model_validate(k) for k in self._call("GET", "/programme-kinds")]

    def sales_report(self, period: str) -> SalesReport:
        """A month's sales (``YYYY-MM``), in rupiah."""
        return SalesReport.model_validate(
            self._call("GET", "/reports/sales", params={"period": period})
        )

    def realisation(self, month: str | None = None) -> RealisationReport:
        params = {"month": month} if month else {}
        reply = self._call("GET", "/reports/realisation", params=params)
        return RealisationReport.model_validate(reply)
