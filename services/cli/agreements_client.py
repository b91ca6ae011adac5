"""A small HTTP client of the agreements service: only what the command line needs.

It reads replies into its own models (ignoring unknown fields) instead of importing the
service's schemas, as any outside client would.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.cli.service_client import Reply, ServiceClient


class AgreementView(Reply):
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


class RealisationRow(Reply):
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


class AgreementsClient(ServiceClient):
    def __init__(self, base_url: str, api_key: str, timeout_s: float = 10.0) -> None:
        super().__init__(base_url, api_key, timeout_s)

    def _create(self, path: str, body: dict[str, Any]) -> str:
        return str(self._call("POST", path, json=body)["id"])

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
        self._call("POST", f"/agreements/{agreement_id}/sign", json=body)

    def advance_calendar(self) -> int:
        return int(self._call("POST", "/calendar/advance")["changed"])

    # --- queries ----------------------------------------------------------------------------

    def agreements(self) -> list[AgreementView]:
        reply = self._call("GET", "/agreements?limit=1000")
        return [AgreementView.model_validate(row) for row in reply["data"]]

    def realisation(self) -> list[RealisationRow]:
        reply = self._call("GET", "/reports/realisation")
        return [RealisationRow.model_validate(row) for row in reply["rows"]]
