"""A small HTTP client of the identity service: the roster import, a matching job, reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from services.cli.service_client import Reply, ServiceClient


class ImportReport(Reply):
    id: str
    file_name: str
    counts: dict[str, int]


class MatchingJob(Reply):
    job_id: str
    status: str
    total: int
    done: int
    outcomes: dict[str, int]
    agreement_id: str
    detail: str | None = None


class CustodyPeriod(Reply):
    facility: str
    since: date
    until: date | None = None


class Inmate(Reply):
    """A person on the roster, as the programs part of the demo needs them (never the NIK)."""

    id: str
    register_number: str
    nik_status: str
    custody_periods: list[CustodyPeriod]

    def in_custody(self, facility: str, on: date) -> bool:
        return any(
            p.facility == facility and p.since <= on and (p.until is None or on < p.until)
            for p in self.custody_periods
        )


class UsageRow(Reply):
    agreement_id: str | None
    action: str
    purpose: str
    accesses: int
    items: int


class IdentityClient(ServiceClient):
    def import_roster(self, path: Path) -> ImportReport:
        with path.open("rb") as content:
            reply = self._call(
                "POST", "/roster/imports", files={"file": (path.name, content, "text/csv")}
            )
        return ImportReport.model_validate(reply)

    def start_matching(self, purpose: str) -> str:
        """409 ``no_legal_basis`` (an :class:`ApiError`) until an agreement covers matching."""
        return str(self._call("POST", "/matching/jobs", json={"purpose": purpose})["job_id"])

    def job(self, job_id: str) -> MatchingJob:
        return MatchingJob.model_validate(self._call("GET", f"/matching/jobs/{job_id}"))

    def inmates(self, page: int = 1000) -> list[Inmate]:
        people: list[Inmate] = []
        while True:
            reply = self._call("GET", "/inmates", params={"offset": len(people), "limit": page})
            people += [Inmate.model_validate(row) for row in reply["data"]]
            if len(reply["data"]) < page:
                return people

    def nik_status_counts(self) -> dict[str, int]:
        counts = self._call("GET", "/reports/nik-status")["counts"]
        return {str(k): int(v) for k, v in counts.items()}

    def needs_recording(self) -> int:
        return int(self._call("GET", "/lists/needs-recording")["count"])

    def usage(self, period_start: date, period_end: date) -> list[UsageRow]:
        reply = self._call(
            "GET",
            "/reports/usage",
            params={"period_start": period_start.isoformat(), "period_end": period_end.isoformat()},
        )
        return [UsageRow.model_validate(row) for row in reply["rows"]]
