"""The demo's closing tables, rendered with rich."""

from __future__ import annotations

from collections import Counter
from datetime import date

from rich.console import Console
from rich.table import Table

from services.cli.agreements_client import AgreementView, RealisationRow
from services.cli.scenario import Scenario

STATUS_ORDER = ("draft", "signed", "active", "expiring", "expired", "renewed", "terminated")


def status_table(agreements: list[AgreementView], today: date) -> Table:
    table = Table(title=f"Agreements on {today}")
    table.add_column("status")
    table.add_column("agreements", justify="right")
    counts = Counter(a.status for a in agreements)
    for status in sorted(counts, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 99):
        table.add_row(status, str(counts[status]))
    table.add_row("total", str(len(agreements)), style="bold")
    return table


def agreements_table(scenario: Scenario, agreements: list[AgreementView]) -> Table:
    table = Table(title="Agreements (perjanjian kerja sama)")
    for column in ("partner", "number", "period", "status", "renews"):
        table.add_column(column)
    numbers = {a.id: a.facility_number for a in agreements}
    for agreement in sorted(agreements, key=lambda a: (a.start_date, a.facility_number)):
        table.add_row(
            _partner_name(scenario, agreement.partner_code),
            agreement.facility_number,
            f"{agreement.start_date} .. {agreement.end_date}",
            agreement.status,
            numbers.get(agreement.renews, "") if agreement.renews else "",
        )
    return table


def realisation_table(rows: list[RealisationRow]) -> Table:
    table = Table(title="Realisation of the action plans (realisasi rencana aksi)")
    for column in ("number", "item", "unit"):
        table.add_column(column)
    for column in ("target", "realised", "%"):
        table.add_column(column, justify="right")
    table.add_column("milestone")
    for row in sorted(rows, key=lambda r: (r.facility_number, r.description)):
        table.add_row(
            row.facility_number,
            row.description,
            row.unit,
            str(row.target_quantity),
            str(row.realised_quantity),
            f"{row.progress_percent:.0f}",
            row.milestone,
        )
    return table


def print_summary(
    console: Console,
    scenario: Scenario,
    agreements: list[AgreementView],
    rows: list[RealisationRow],
    today: date,
) -> None:
    signed = scenario.agreements
    renewals = sum(1 for a in signed if a.renews is not None)
    signing_days = sorted({a.signed_on for a in signed})
    console.print(
        f"\n[bold]{scenario.facility.name}[/bold]: {len(signed)} agreements signed "
        f"{', '.join(d.isoformat() for d in signing_days)} with {len(scenario.partners)} "
        f"partners ({renewals} renewals), plus {len(scenario.prior_agreements)} earlier ones."
    )
    console.print(status_table(agreements, today))
    console.print(agreements_table(scenario, agreements))
    console.print(realisation_table(rows))


def _partner_name(scenario: Scenario, code: str) -> str:
    try:
        return scenario.partner(code).name
    except KeyError:
        return code
