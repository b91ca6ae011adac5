"""A case as data (facility, partners, agreements, action plans, programme sessions).

The file is the demo's input and its oracle: :func:`expected_realisation` says what the
agreements service must report once the sessions have been consumed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "barabai" / "barabai.json"
EXPIRY_NOTICE_DAYS = 90  # the agreements service's default

PartyName = Literal["facility", "partner", "both"]
CountingRule = Literal["sessions", "participants", "reported"]
ItemKey = tuple[str, str]  # (agreement key, action-plan item key)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Facility(_Frozen):
    code: str
    name: str
    regency: str
    province: str
    timezone: str


class Partner(_Frozen):
    code: str
    name: str
    kind: str


class Signatory(_Frozen):
    party: Literal["facility", "partner"]
    name: str | None = Field(default=None, description="Left out where the report names none.")
    position: str

    @property
    def display_name(self) -> str:
        return self.name or self.position


class ActionPlanItem(_Frozen):
    key: str
    programme_kind: str
    description: str
    target_quantity: int = Field(gt=0)
    unit: str
    counts: CountingRule | None = Field(
        default=None, description="What a held session adds; left out: as its kind counts."
    )
    period_start: date
    period_end: date
    responsible: PartyName


class Agreement(_Frozen):
    key: str
    partner: str
    renews: str | None = None
    facility_number: str
    partner_number: str
    title: str
    programme_kinds: tuple[str, ...]
    start_date: date
    end_date: date
    signed_on: date
    signatories: tuple[Signatory, ...]
    action_plan: tuple[ActionPlanItem, ...] = ()

    def item(self, key: str) -> ActionPlanItem:
        for item in self.action_plan:
            if item.key == key:
                return item
        raise KeyError(f"agreement {self.key} has no action plan item {key}")


class Activity(_Frozen):
    """One report of a programme session; a later ``sequence`` replaces an earlier one."""

    session_id: str
    agreement: str
    item: str
    status: Literal["held", "cancelled"] = "held"
    held_on: date = Field(description="For a cancelled session, the day it was planned.")
    delivered_quantity: int = Field(default=0, ge=0)
    participant_count: int = Field(default=0, ge=0)
    sequence: int = Field(default=1, ge=1)
    reason: str | None = None
    note: str | None = None

    @property
    def counted_quantity(self) -> int:
        return self.delivered_quantity if self.status == "held" else 0


class SaleLine(_Frozen):
    product: str
    quantity: int = Field(gt=0)
    unit: str
    unit_price_idr: int = Field(ge=0)


class Sale(_Frozen):
    """Inmates' products sold under an agreement that covers product sales."""

    agreement: str
    sold_on: date
    buyer_type: Literal["public", "government", "business", "staff", "other"]
    lines: tuple[SaleLine, ...] = Field(min_length=1)


class Scenario(_Frozen):
    illustrative: str
    source: str
    facility: Facility
    partners: tuple[Partner, ...]
    prior_agreements: tuple[Agreement, ...] = ()
    agreements: tuple[Agreement, ...]
    activities: tuple[Activity, ...] = ()
    sales: tuple[Sale, ...] = ()

    @property
    def all_agreements(self) -> tuple[Agreement, ...]:
        return (*self.prior_agreements, *self.agreements)

    def agreement(self, key: str) -> Agreement:
        for agreement in self.all_agreements:
            if agreement.key == key:
                return agreement
        raise KeyError(f"no agreement {key}")

    def partner(self, code: str) -> Partner:
        for partner in self.partners:
            if partner.code == code:
                return partner
        raise KeyError(f"no partner {code}")

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        """Only what a loader needs; the unit tests check the finer consistency rules."""
        partners = {p.code for p in self.partners}
        keys = [a.key for a in self.all_agreements]
        if len(set(keys)) != len(keys):
            raise ValueError("agreement keys must be unique")
        for agreement in self.all_agreements:
            if agreement.partner not in partners:
                raise ValueError(f"agreement {agreement.key} names unknown partner")
            if agreement.renews is not None and agreement.renews not in keys:
                raise ValueError(f"agreement {agreement.key} renews unknown {agreement.renews}")
        for activity in self.activities:
            try:
                self.agreement(activity.agreement).item(activity.item)
            except KeyError as missing:
                raise ValueError(f"session {activity.session_id}: {missing.args[0]}") from None
        for sale in self.sales:
            if sale.agreement not in keys:
                raise ValueError(f"sale of {sale.sold_on} names unknown agreement {sale.agreement}")
        return self


def load_scenario(path: Path = DEFAULT_SCENARIO) -> Scenario:
    return Scenario.model_validate_json(path.read_bytes())


def latest_reports(scenario: Scenario) -> dict[str, Activity]:
    """The last report of every session (highest sequence wins, as in the service's ledger)."""
    latest: dict[str, Activity] = {}
    for activity in scenario.activities:
        known = latest.get(activity.session_id)
        if known is None or activity.sequence > known.sequence:
            latest[activity.session_id] = activity
    return latest


def expected_realisation(scenario: Scenario) -> dict[ItemKey, int]:
    """Realised quantity per action-plan item; every item appears, untouched ones with 0."""
    totals: dict[ItemKey, int] = defaultdict(int)
    for agreement in scenario.all_agreements:
        for item in agreement.action_plan:
            totals[(agreement.key, item.key)] = 0
    for activity in latest_reports(scenario).values():
        totals[(activity.agreement, activity.item)] += activity.counted_quantity
    return dict(totals)


def expected_milestone(item: ActionPlanItem, realised: int, today: date) -> str:
    """An item is assessed once its period has ended; until then it stays open."""
    if item.period_end >= today:
        return "open"
    if realised >= item.target_quantity:
        return "met"
    return "partially_met" if realised > 0 else "not_met"


def renewed_keys(scenario: Scenario) -> set[str]:
    return {a.renews for a in scenario.all_agreements if a.renews is not None}


def expected_status(
    scenario: Scenario, agreement: Agreement, today: date, notice_days: int = EXPIRY_NOTICE_DAYS
) -> str:
    """The status a signed agreement has on ``today`` (renewals are signed before ``today``)."""
    if today > agreement.end_date:
        return "renewed" if agreement.key in renewed_keys(scenario) else "expired"
    if today >= agreement.end_date - timedelta(days=notice_days):
        return "expiring"
    return "active" if today >= agreement.start_date else "signed"


def expected_status_counts(scenario: Scenario, today: date) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for agreement in scenario.all_agreements:
        counts[expected_status(scenario, agreement, today)] += 1
    return dict(counts)
