"""`sinergi import`: a roster file (CSV or XLSX) through the identity service's HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.cli.endpoints import Endpoint

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REFUSED = "refused"
IMPORT_TIMEOUT_S = 600.0  # a large roster is imported within the request
SHOWN_REFUSALS = 50


class ImportFailedError(RuntimeError):
    pass


@dataclass(frozen=True)
class ImportResult:
    run_id: str
    file_name: str
    counts: dict[str, int]
    refused: list[tuple[int, str]]  # (spreadsheet row, reason)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def content_type(path: Path) -> str:
    return XLSX_TYPE if path.suffix.lower() in (".xlsx", ".xlsm") else "text/csv"


def upload(endpoint: Endpoint, path: Path, facility: str | None = None) -> ImportResult:
    params = {"facility": facility} if facility else {}
    with httpx.Client(timeout=IMPORT_TIMEOUT_S) as http:
        response = http.post(
            f"{endpoint.url}/roster/imports",
            params=params,
            headers={"X-API-Key": endpoint.api_key},
            files={"file": (path.name, path.read_bytes(), content_type(path))},
        )
    if response.status_code != 201:
        raise ImportFailedError(f"{response.status_code}: {_problem(response)}")
    report: dict[str, Any] = response.json()
    refused = [
        (int(row["row"]), str(row.get("reason") or ""))
        for row in report.get("rows", [])
        if row.get("outcome") == REFUSED
    ]
    return ImportResult(
        run_id=str(report["id"]),
        file_name=str(report["file_name"]),
        counts={str(k): int(v) for k, v in report.get("counts", {}).items()},
        refused=refused,
    )


def print_result(console: Console, result: ImportResult) -> None:
    table = Table(title=f"Roster import {result.run_id} ({result.file_name})")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for outcome, count in sorted(result.counts.items()):
        table.add_row(outcome, str(count), style="red" if outcome == REFUSED else None)
    table.add_row("total", str(result.rows), style="bold")
    console.print(table)
    if result.refused:
        refusals = Table(title=f"Refused rows ({len(result.refused)})")
        refusals.add_column("row", justify="right")
        refusals.add_column("reason", overflow="fold")
        for row, reason in result.refused[:SHOWN_REFUSALS]:
            refusals.add_row(str(row), reason)
        console.print(refusals)
        if len(result.refused) > SHOWN_REFUSALS:
            console.print(
                f"… and {len(result.refused) - SHOWN_REFUSALS} more: "
                f"GET /roster/imports/{result.run_id}"
            )


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)
    return str(body)[:300]
