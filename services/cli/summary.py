"""The demo's closing tables, rendered with rich."""

from __future__ import annotations

from collections import Counter
from datetime import date

from rich.console import Console
from rich.table import Table

from services.cli.agreements_client import AgreementView, RealisationRow
from services.cli.identity_demo import IdentityFigures
from services.cli.scenario import Scenario

NIK_STATUS_LABELS = {
    "matched": "sesuai (matched)",
    "partial": "sebagian sesuai (partial)",
    "not_found": "tidak ditemukan (not found)",
    "invalid": "NIK tidak valid (invalid)",
    "missing": "tanpa NIK (missing)",
    "unverified": "belum dipadankan (unverified)",
    "validated": "disahkan (validated)",
    "rejected": "ditolak (rejected)",
}
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


def nik_status_table(figures: IdentityFigures) -> Table:
    table = Table(title="NIK of the Barabai roster (status pemadanan NIK)")
    table.add_column("status")
    for column in ("people", "intended"):
        table.add_column(column, justify="right")
    intended = figures.intended
    order = list(NIK_STATUS_LABELS)
    statuses = sorted(
        set(figures.nik_status) | set(intended),
        key=lambda s: order.index(s) if s in order else 99,
    )
    for status in statuses:
        table.add_row(
            NIK_STATUS_LABELS.get(status, status),
            str(figures.nik_status.get(status, 0)),
            str(intended.get(status, 0)),
        )
    table.add_row(
        "total", str(sum(figures.nik_status.values())), str(len(figures.roster)), style="bold"
    )
    return table


def usage_table(figures: IdentityFigures) -> Table:
    start, end = figures.period
    table = Table(title=f"Registry access (laporan penggunaan akses) {start} .. {end}")
    for column in ("action", "purpose"):
        table.add_column(column)
    for column in ("accesses", "items"):
        table.add_column(column, justify="right")
    for row in figures.usage:
        table.add_row(row.action, row.purpose, str(row.accesses), str(row.items))
    return table


def print_identity_summary(console: Console, figures: IdentityFigures) -> None:
    console.print(nik_status_table(figures))
    console.print(
        f"needs recording (perlu perekaman KTP-el): [bold]{figures.needs_recording}[/bold] "
        "people without a registry record or without a NIK"
    )
    console.print(usage_table(figures))
