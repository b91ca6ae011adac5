"""`sinergi report`: reports of the running services, fetched over HTTP.

``realisation``: the programs service's realisation of every action-plan item (it renders
CSV and XLSX itself). ``usage``: the identity service's registry accesses per agreement and
purpose (JSON; CSV and XLSX are made here from the same rows).
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.cli.endpoints import Endpoint

REPORT_TIMEOUT_S = 300.0
USAGE_COLUMNS = ("agreement_id", "action", "purpose", "accesses", "items")


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class ReportFailedError(RuntimeError):
    pass


def fetch(
    endpoint: Endpoint, path: str, params: dict[str, str], console: Console, what: str
) -> bytes:
    """GET with a progress display of the bytes received (reports can take a while)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), DownloadColumn())
    with (
        Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress,
        httpx.Client(timeout=REPORT_TIMEOUT_S) as http,
        http.stream(
            "GET", endpoint.url + path, params=params, headers={"X-API-Key": endpoint.api_key}
        ) as response,
    ):
        if response.status_code != 200:
            response.read()
            raise ReportFailedError(f"{path} -> {response.status_code}: {response.text[:300]}")
        length = response.headers.get("Content-Length")
        task = progress.add_task(what, total=int(length) if length else None)
        chunks = []
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            progress.advance(task, len(chunk))
    return b"".join(chunks)


def realisation(
    endpoint: Endpoint,
    format: ReportFormat,
    console: Console,
    *,
    month: str | None = None,
    partner: str | None = None,
    agreement_id: str | None = None,
    lang: str = "id",
) -> bytes:
    params = {"format": format.value, "lang": lang}
    for name, value in (("month", month), ("partner", partner), ("agreement_id", agreement_id)):
        if value is not None:
            params[name] = value
    return fetch(endpoint, "/reports/realisation", params, console, "realisation report")


def usage(
    endpoint: Endpoint,
    format: ReportFormat,
    console: Console,
    *,
    period_start: date,
    period_end: date,
    facility: str | None = None,
) -> bytes:
    params = {"period_start": period_start.isoformat(), "period_end": period_end.isoformat()}
    if facility is not None:
        params["facility"] = facility
    body = fetch(endpoint, "/reports/usage", params, console, "usage report")
    if format is ReportFormat.json:
        return body
    from services.programs.reports import to_csv, to_xlsx  # the same files programs makes

    rows = [[row.get(c) for c in USAGE_COLUMNS] for row in json.loads(body)["rows"]]
    if format is ReportFormat.csv:
        return to_csv(USAGE_COLUMNS, rows)
    return to_xlsx(f"usage {period_start}..{period_end}", USAGE_COLUMNS, rows)


def realisation_table(body: bytes) -> Table:
    report: dict[str, Any] = json.loads(body)
    items = report.get("items", [])
    table = Table(title=f"Realisation ({len(items)} action-plan items)")
    columns = ("partner_code", "facility_number", "programme_kind", "unit", "target", "realised")
    for column in (*columns, "percent"):
        numeric = column in ("target", "realised", "percent")
        table.add_column(column, justify="right" if numeric else "left")
    for item in items:
        table.add_row(*(_cell(item.get(column)) for column in (*columns, "percent")))
    return table


def usage_table(body: bytes) -> Table:
    report: dict[str, Any] = json.loads(body)
    rows = report.get("rows", [])
    table = Table(
        title=f"Registry usage {report.get('period_start')}..{report.get('period_end')} "
        f"({report.get('facility')})"
    )
    for column in USAGE_COLUMNS:
        table.add_column(column, justify="right" if column in ("accesses", "items") else "left")
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in USAGE_COLUMNS))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def write_or_show(
    body: bytes, format: ReportFormat, out: Path | None, console: Console, table: Table | None
) -> None:
    """To ``out``; without it, JSON as a table and CSV as text (XLSX needs ``out``)."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(body)
        console.print(f"[green]✓[/] {len(body)} bytes written to {out}")
    elif format is ReportFormat.json and table is not None:
        console.print(table)
    else:
        console.print(body.decode("utf-8-sig"), end="", markup=False, highlight=False)
