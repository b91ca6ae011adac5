"""The demo's closing tables, rendered with rich, in Bahasa Indonesia (default) or English."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date
from typing import Literal, get_args

from rich.console import Console
from rich.table import Table

from services.cli.agreements_client import AgreementView, RealisationRow
from services.cli.identity_demo import IdentityFigures
from services.cli.programs_client import RealisationReport, SalesReport
from services.cli.scenario import Scenario

Lang = Literal["id", "en"]
LANGUAGES: tuple[Lang, ...] = get_args(Lang)
DEFAULT_LANG: Lang = "id"
LANGUAGE_VARIABLE = "SINERGI_LANGUAGE"

# key -> (Bahasa Indonesia, English)
TEXT: dict[str, tuple[str, str]] = {
    "agreements_on": ("Perjanjian kerja sama per {day}", "Agreements on {day}"),
    "status": ("status", "status"),
    "agreements": ("perjanjian", "agreements"),
    "total": ("jumlah", "total"),
    "agreements_title": ("Perjanjian kerja sama (PKS)", "Agreements (perjanjian kerja sama)"),
    "partner": ("mitra", "partner"),
    "number": ("nomor", "number"),
    "period": ("masa berlaku", "period"),
    "renews": ("memperpanjang", "renews"),
    "realisation_title": (
        "Realisasi rencana aksi (layanan perjanjian)",
        "Realisation of the action plans (agreements service)",
    ),
    "item": ("kegiatan", "item"),
    "unit": ("satuan", "unit"),
    "target": ("target", "target"),
    "realised": ("realisasi", "realised"),
    "percent": ("%", "%"),
    "milestone": ("capaian", "milestone"),
    "counts": ("dihitung", "counts"),
    "programs_title": (
        "Laporan realisasi per bulan (layanan program)",
        "Realisation report by month (programs service)",
    ),
    "sales_title": (
        "Penjualan produk WBP (layanan program)",
        "Sales of inmates' products (programs service)",
    ),
    "month": ("bulan", "month"),
    "sales": ("transaksi", "sales"),
    "pieces": ("barang", "pieces"),
    "value": ("nilai (Rp)", "value (IDR)"),
    "headline": (
        "{facility}: {signed} PKS ditandatangani {days} dengan {partners} mitra "
        "({renewals} perpanjangan), ditambah {priors} PKS sebelumnya.",
        "{facility}: {signed} agreements signed {days} with {partners} partners "
        "({renewals} renewals), plus {priors} earlier ones.",
    ),
    "nik_title": (
        "NIK warga binaan Rutan Barabai (status pemadanan NIK)",
        "NIK of the Barabai roster (NIK matching status)",
    ),
    "people": ("orang", "people"),
    "intended": ("dimaksudkan", "intended"),
    "needs_recording": (
        "perlu perekaman KTP-el: [bold]{count}[/bold] orang tanpa data di Dukcapil atau tanpa NIK",
        "needs recording (KTP-el): [bold]{count}[/bold] people without a registry record "
        "or without a NIK",
    ),
    "usage_title": (
        "Laporan penggunaan akses data kependudukan {start} .. {end}",
        "Registry access (usage report) {start} .. {end}",
    ),
    "action": ("tindakan", "action"),
    "purpose": ("tujuan", "purpose"),
    "accesses": ("akses", "accesses"),
    "items": ("data", "items"),
    "differ": ("✗ {count} angka tidak sesuai:", "✗ {count} figures differ:"),
    "all_match": (
        "✓ semua angka sesuai",
        "✓ all figures match",
    ),
    "all_match_detail": (
        "realisasi dan capaian {items} kegiatan (layanan perjanjian, laporan layanan "
        "program dan dasbor, {sessions} laporan sesi), penjualan {months} bulan, perpanjangan, "
        "PKS per status, tanpa dead letter; status NIK {roster} baris daftar WBP sesuai rencana "
        "(juga di dasbor)",
        "realisation and milestones of {items} items (agreements service, programs report and "
        "dashboard, {sessions} session reports), sales of {months} months, renewal links, "
        "agreements by status, no dead letters; NIK outcomes of {roster} roster rows as "
        "intended (on the dashboard too)",
    ),
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "draft": ("draf", "draft"),
    "signed": ("ditandatangani", "signed"),
    "active": ("berlaku", "active"),
    "expiring": ("segera berakhir", "expiring"),
    "expired": ("berakhir", "expired"),
    "renewed": ("diperpanjang", "renewed"),
    "terminated": ("diakhiri", "terminated"),
}
MILESTONE_LABELS: dict[str, tuple[str, str]] = {
    "open": ("berjalan", "open"),
    "met": ("tercapai", "met"),
    "partially_met": ("tercapai sebagian", "partially met"),
    "not_met": ("tidak tercapai", "not met"),
}
RULE_LABELS: dict[str, tuple[str, str]] = {
    "sessions": ("per sesi", "sessions"),
    "participants": ("per peserta", "participants"),
    "reported": ("dilaporkan", "reported"),
}
NIK_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "matched": ("sesuai", "matched"),
    "partial": ("sebagian sesuai", "partial"),
    "not_found": ("tidak ditemukan", "not found"),
    "invalid": ("NIK tidak valid", "invalid"),
    "missing": ("tanpa NIK", "missing"),
    "unverified": ("belum dipadankan", "unverified"),
    "validated": ("disahkan", "validated"),
    "rejected": ("ditolak", "rejected"),
}
MONTHS_ID = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
STATUS_ORDER = ("draft", "signed", "active", "expiring", "expired", "renewed", "terminated")


def language(value: str | None = None) -> Lang:
    """``value``, else SINERGI_LANGUAGE, else Bahasa Indonesia; refuses anything else."""
    chosen = (value or os.environ.get(LANGUAGE_VARIABLE) or DEFAULT_LANG).strip().lower()
    for lang in LANGUAGES:
        if chosen == lang:
            return lang
    raise ValueError(f"language {chosen!r}: choose one of {', '.join(LANGUAGES)}")


def text(key: str, lang: Lang, **values: object) -> str:
    template = TEXT[key][0 if lang == "id" else 1]
    return template.format(**values) if values else template


def _label(labels: dict[str, tuple[str, str]], key: str, lang: Lang) -> str:
    pair = labels.get(key)
    return key if pair is None else pair[0 if lang == "id" else 1]


def month_label(month: str, lang: Lang) -> str:
    """``2023-04`` -> ``Apr 2023``."""
    year, number = month.split("-")
    names = MONTHS_ID if lang == "id" else MONTHS_EN
    return f"{names[int(number) - 1]} {year}"


def status_table(agreements: list[AgreementView], today: date, lang: Lang = DEFAULT_LANG) -> Table:
    table = Table(title=text("agreements_on", lang, day=today))
    table.add_column(text("status", lang))
    table.add_column(text("agreements", lang), justify="right")
    counts = Counter(a.status for a in agreements)
    for status in sorted(counts, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 99):
        table.add_row(_label(STATUS_LABELS, status, lang), str(counts[status]))
    table.add_row(text("total", lang), str(len(agreements)), style="bold")
    return table


def agreements_table(
    scenario: Scenario, agreements: list[AgreementView], lang: Lang = DEFAULT_LANG
) -> Table:
    table = Table(title=text("agreements_title", lang))
    for column in ("partner", "number", "period", "status", "renews"):
        table.add_column(text(column, lang))
    numbers = {a.id: a.facility_number for a in agreements}
    for agreement in sorted(agreements, key=lambda a: (a.start_date, a.facility_number)):
        table.add_row(
            _partner_name(scenario, agreement.partner_code),
            agreement.facility_number,
            f"{agreement.start_date} .. {agreement.end_date}",
            _label(STATUS_LABELS, agreement.status, lang),
            numbers.get(agreement.renews, "") if agreement.renews else "",
        )
    return table


def realisation_table(rows: list[RealisationRow], lang: Lang = DEFAULT_LANG) -> Table:
    table = Table(title=text("realisation_title", lang))
    for column in ("number", "item", "unit"):
        table.add_column(text(column, lang))
    for column in ("target", "realised", "percent"):
        table.add_column(text(column, lang), justify="right")
    table.add_column(text("milestone", lang))
    for row in sorted(rows, key=lambda r: (r.facility_number, r.description)):
        table.add_row(
            row.facility_number,
            row.description,
            row.unit,
            str(row.target_quantity),
            str(row.realised_quantity),
            f"{row.progress_percent:.0f}",
            _label(MILESTONE_LABELS, row.milestone, lang),
        )
    return table


def programs_report_table(
    report: RealisationReport, rules: dict[str, str], lang: Lang = DEFAULT_LANG
) -> Table:
    """The programs service's realisation report: one column per month with deliveries.

    ``rules``: what a held session adds to each item (by item id).
    """
    months = sorted({m.month for item in report.items for m in item.months})
    table = Table(title=text("programs_title", lang))
    for column in ("partner", "item", "unit", "counts"):
        table.add_column(text(column, lang))
    table.add_column(text("target", lang), justify="right")
    for month in months:
        table.add_column(month_label(month, lang), justify="right")
    table.add_column(text("realised", lang), justify="right")
    table.add_column(text("percent", lang), justify="right")
    for item in sorted(report.items, key=lambda i: (i.facility_number, i.description or "")):
        per_month = {m.month: m.realised for m in item.months}
        table.add_row(
            item.partner_code,
            item.description or item.item_id,
            item.unit,
            _label(RULE_LABELS, rules.get(item.item_id, ""), lang),
            "" if item.target is None else str(item.target),
            *(str(per_month[m]) if m in per_month else "-" for m in months),
            str(item.realised),
            "" if item.percent is None else f"{item.percent:.0f}",
        )
    return table


def print_summary(
    console: Console,
    scenario: Scenario,
    agreements: list[AgreementView],
    rows: list[RealisationRow],
    today: date,
    lang: Lang = DEFAULT_LANG,
) -> None:
    signed = scenario.agreements
    console.print(
        "\n"
        + text(
            "headline",
            lang,
            facility=f"[bold]{scenario.facility.name}[/bold]",
            signed=len(signed),
            days=", ".join(d.isoformat() for d in sorted({a.signed_on for a in signed})),
            partners=len(scenario.partners),
            renewals=sum(1 for a in signed if a.renews is not None),
            priors=len(scenario.prior_agreements),
        )
    )
    console.print(status_table(agreements, today, lang))
    console.print(agreements_table(scenario, agreements, lang))
    console.print(realisation_table(rows, lang))


def sales_table(reports: dict[str, SalesReport], lang: Lang = DEFAULT_LANG) -> Table:
    table = Table(title=text("sales_title", lang))
    table.add_column(text("month", lang))
    for column in ("sales", "pieces", "value"):
        table.add_column(text(column, lang), justify="right")
    for month, report in sorted(reports.items()):
        table.add_row(
            month_label(month, lang),
            str(report.sales),
            str(sum(p.quantity for p in report.by_product)),
            rupiah(report.total_idr, lang),
        )
    table.add_row(
        text("total", lang),
        str(sum(r.sales for r in reports.values())),
        str(sum(p.quantity for r in reports.values() for p in r.by_product)),
        rupiah(sum(r.total_idr for r in reports.values()), lang),
        style="bold",
    )
    return table


def rupiah(amount: int, lang: Lang) -> str:
    """Thousands grouped as written in each language: 1.100.000 or 1,100,000."""
    grouped = f"{amount:,}"
    return grouped.replace(",", ".") if lang == "id" else grouped


def print_programs_summary(
    console: Console,
    report: RealisationReport,
    rules: dict[str, str],
    sales: dict[str, SalesReport] | None = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    console.print(programs_report_table(report, rules, lang))
    if sales:
        console.print(sales_table(sales, lang))


def _partner_name(scenario: Scenario, code: str) -> str:
    try:
        return scenario.partner(code).name
    except KeyError:
        return code


def nik_status_table(figures: IdentityFigures, lang: Lang = DEFAULT_LANG) -> Table:
    table = Table(title=text("nik_title", lang))
    table.add_column(text("status", lang))
    for column in ("people", "intended"):
        table.add_column(text(column, lang), justify="right")
    intended = figures.intended
    order = list(NIK_STATUS_LABELS)
    statuses = sorted(
        set(figures.nik_status) | set(intended),
        key=lambda s: order.index(s) if s in order else 99,
    )
    for status in statuses:
        table.add_row(
            _label(NIK_STATUS_LABELS, status, lang),
            str(figures.nik_status.get(status, 0)),
            str(intended.get(status, 0)),
        )
    table.add_row(
        text("total", lang),
        str(sum(figures.nik_status.values())),
        str(len(figures.roster)),
        style="bold",
    )
    return table


def usage_table(figures: IdentityFigures, lang: Lang = DEFAULT_LANG) -> Table:
    start, end = figures.period
    table = Table(title=text("usage_title", lang, start=start, end=end))
    for column in ("action", "purpose"):
        table.add_column(text(column, lang))
    for column in ("accesses", "items"):
        table.add_column(text(column, lang), justify="right")
    for row in figures.usage:
        table.add_row(row.action, row.purpose, str(row.accesses), str(row.items))
    return table


def print_identity_summary(
    console: Console, figures: IdentityFigures, lang: Lang = DEFAULT_LANG
) -> None:
    console.print(nik_status_table(figures, lang))
    console.print(text("needs_recording", lang, count=figures.needs_recording))
    console.print(usage_table(figures, lang))
