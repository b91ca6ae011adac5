"""What each page shows, built from read-model facts: pure functions, no I/O.

A partner's view is scoped here, by `partner`: whoever builds a page for a partner login
passes the partner's code, and nothing of another partner's gets into the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

AGREEMENT_STATUSES = (
    "draft",
    "signed",
    "active",
    "expiring",
    "expired",
    "terminated",
    "renewed",
)
LIVE_STATUSES = frozenset({"signed", "active", "expiring"})
NIK_STATUSES = (
    "validated",
    "matched",
    "partial",
    "unverified",
    "missing",
    "invalid",
    "not_found",
    "rejected",
)
IN_CUSTODY = ("detainee", "convict")


# --- facts, as the queries hand them over -----------------------------------------------


@dataclass(frozen=True)
class Agreement:
    agreement_id: str
    facility: str
    partner_code: str
    facility_number: str
    title: str
    start_date: date
    end_date: date
    status: str


@dataclass(frozen=True)
class Item:
    item_id: str
    agreement_id: str
    partner_code: str
    programme_kind: str
    description: str
    target_quantity: int
    realised_quantity: int
    unit: str
    period_end: date
    milestone: str


@dataclass(frozen=True)
class NikCount:
    facility: str
    nik_status: str
    count: int


@dataclass(frozen=True)
class DeadLetterFact:
    id: str
    stream: str
    group: str
    service: str
    reason_code: str
    reason: str
    dead_lettered_at: str


@dataclass(frozen=True)
class GroupFact:
    stream: str
    group: str
    lag: int
    pending: int


# --- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementLine:
    agreement: Agreement
    partner_name: str
    days_left: int
    sessions_held: int


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int


@dataclass(frozen=True)
class AgreementsPage:
    today: date
    horizon_days: int
    status_counts: list[StatusCount]
    total: int
    expiring: list[AgreementLine]
    agreements: list[AgreementLine]


@dataclass(frozen=True)
class ProgressBar:
    item: Item
    percent: int  # 0..100, what the bar shows
    exceeded: bool


@dataclass(frozen=True)
class ActionPlan:
    line: AgreementLine
    bars: list[ProgressBar]
    percent: int  # the plan as a whole: each item counted up to its target


@dataclass(frozen=True)
class FacilityNik:
    facility: str
    counts: dict[str, int]
    total: int
    validated_percent: int


@dataclass(frozen=True)
class NikPage:
    statuses: tuple[str, ...]
    facilities: list[FacilityNik]
    totals: dict[str, int]
    total: int


@dataclass(frozen=True)
class GroupLag:
    stream: str
    group: str
    lag: int
    pending: int
    behind: bool


@dataclass(frozen=True)
class OperationsPage:
    dead_letter_count: int
    dead_letters: list[DeadLetterFact]
    dead_letters_by_reason: list[tuple[str, int]]
    groups: list[GroupLag]


def visible(agreements: Iterable[Agreement], partner: str | None) -> list[Agreement]:
    """Every agreement for staff and auditors; a partner's own only for a partner login."""
    return [a for a in agreements if partner is None or a.partner_code == partner]


def days_between(today: date, end: date) -> int:
    return (end - today).days


def agreement_lines(
    agreements: Sequence[Agreement],
    today: date,
    partner_names: Mapping[str, str],
    sessions_held: Mapping[str, int],
) -> list[AgreementLine]:
    return [
        AgreementLine(
            agreement=a,
            partner_name=partner_names.get(a.partner_code, a.partner_code),
            days_left=days_between(today, a.end_date),
            sessions_held=sessions_held.get(a.agreement_id, 0),
        )
        for a in sorted(agreements, key=lambda a: (a.end_date, a.facility_number))
    ]


def is_expiring(line: AgreementLine, horizon_days: int) -> bool:
    """Still in force and ending between today and `horizon_days` from now."""
    return line.agreement.status in LIVE_STATUSES and 0 <= line.days_left <= horizon_days


def agreements_page(
    agreements: Sequence[Agreement],
    *,
    today: date,
    horizon_days: int,
    partner: str | None,
    partner_names: Mapping[str, str],
    sessions_held: Mapping[str, int],
) -> AgreementsPage:
    lines = agreement_lines(visible(agreements, partner), today, partner_names, sessions_held)
    counts = dict.fromkeys(AGREEMENT_STATUSES, 0)
    for line in lines:
        counts[line.agreement.status] = counts.get(line.agreement.status, 0) + 1
    return AgreementsPage(
        today=today,
        horizon_days=horizon_days,
        status_counts=[StatusCount(status, n) for status, n in counts.items()],
        total=len(lines),
        expiring=[line for line in lines if is_expiring(line, horizon_days)],
        agreements=lines,
    )


def progress(realised: int, target: int) -> int:
    """The bar's fill in whole percent, 0..100 (a target is always positive)."""
    if target <= 0:
        return 100 if realised > 0 else 0
    return min(100, (100 * max(realised, 0)) // target)


def progress_bar(item: Item) -> ProgressBar:
    return ProgressBar(
        item=item,
        percent=progress(item.realised_quantity, item.target_quantity),
        exceeded=item.realised_quantity > item.target_quantity,
    )


def action_plans(
    agreements: Sequence[Agreement],
    items: Sequence[Item],
    *,
    today: date,
    partner: str | None,
    partner_names: Mapping[str, str],
    sessions_held: Mapping[str, int],
) -> list[ActionPlan]:
    """One plan per visible agreement that has items, in order of their end date."""
    by_agreement: dict[str, list[Item]] = {}
    for item in items:
        if partner is None or item.partner_code == partner:
            by_agreement.setdefault(item.agreement_id, []).append(item)
    lines = agreement_lines(visible(agreements, partner), today, partner_names, sessions_held)
    plans = []
    for line in lines:
        own = by_agreement.get(line.agreement.agreement_id)
        if not own:
            continue
        own.sort(key=lambda i: (i.period_end, i.programme_kind, i.item_id))
        target = sum(i.target_quantity for i in own)
        counted = sum(min(i.realised_quantity, i.target_quantity) for i in own)
        plans.append(
            ActionPlan(
                line=line, bars=[progress_bar(i) for i in own], percent=progress(counted, target)
            )
        )
    return plans


def nik_page(counts: Iterable[NikCount]) -> NikPage:
    """People in custody by facility and NIK status (counts only, never a NIK)."""
    table: dict[str, dict[str, int]] = {}
    for c in counts:
        row = table.setdefault(c.facility, dict.fromkeys(NIK_STATUSES, 0))
        row[c.nik_status] = row.get(c.nik_status, 0) + c.count
    facilities = []
    for facility in sorted(table):
        row = table[facility]
        total = sum(row.values())
        facilities.append(
            FacilityNik(facility, row, total, progress(row.get("validated", 0), total))
        )
    totals = {status: sum(f.counts.get(status, 0) for f in facilities) for status in NIK_STATUSES}
    return NikPage(NIK_STATUSES, facilities, totals, sum(f.total for f in facilities))


def operations_page(
    dead_letter_count: int,
    latest: Sequence[DeadLetterFact],
    groups: Iterable[GroupFact],
    *,
    lag_threshold: int,
) -> OperationsPage:
    reasons: dict[str, int] = {}
    for letter in latest:
        reasons[letter.reason_code] = reasons.get(letter.reason_code, 0) + 1
    return OperationsPage(
        dead_letter_count=dead_letter_count,
        dead_letters=list(latest),
        dead_letters_by_reason=sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        groups=[
            GroupLag(g.stream, g.group, g.lag, g.pending, g.lag > lag_threshold)
            for g in sorted(groups, key=lambda g: (g.stream, g.group))
        ],
    )


def expiry_horizon(today: date, horizon_days: int) -> date:
    return today + timedelta(days=horizon_days)
