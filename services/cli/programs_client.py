"""A small HTTP client of the programs service: sessions, programme kinds, the realisation report.

One client per API key: the facility's staff key, or a partner agency's own key.
"""

from __future__ import annotations

from typing import Any

from services.cli.service_client import Reply, ServiceClient


class ProgrammeKind(Reply):
    code: str
    unit: str
    quantity_rule: str


class ReportMonth(Reply):
    month: str
    realised: int


class ReportItem(Reply):
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


class RealisationReport(Reply):
    month: str | None
    items: list[ReportItem]


class ProductTotal(Reply):
    product: str
    unit: str
    quantity: int
    total_idr: int


class SalesReport(Reply):
    period: str
    sales: int
    total_idr: int
    by_product: list[ProductTotal]


class ProgramsClient(ServiceClient):
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
