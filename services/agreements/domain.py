"""Cooperation agreements (PKS) between a facility and its partner agencies.

Pure domain model: aggregates validate their rules and record domain events in
``self.events``; the unit of work collects them. No I/O happens here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import InitVar, dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum


class PartnerKind(StrEnum):
    HEALTH = "health"
    LIBRARY = "library"
    EDUCATION = "education"
    ENVIRONMENT = "environment"
    TRADE = "trade"
    CIVIL_POLICE_FIRE = "civil_police_fire"
    MANPOWER = "manpower"
    CIVIL_REGISTRY = "civil_registry"
    OTHER = "other"


DEFAULT_SECTORS: dict[PartnerKind, tuple[str, ...]] = {
    PartnerKind.HEALTH: ("mobile_clinic", "drug_counselling"),
    PartnerKind.LIBRARY: ("mobile_library", "book_loan"),
    PartnerKind.EDUCATION: ("equivalency_class", "equivalency_exam"),
    PartnerKind.ENVIRONMENT: ("waste_management",),
    PartnerKind.TRADE: ("product_sales",),
    PartnerKind.CIVIL_POLICE_FIRE: ("fire_drill", "fire_safety_check"),
    PartnerKind.MANPOWER: ("job_training",),
    PartnerKind.CIVIL_REGISTRY: ("nik_matching", "id_recording"),
    PartnerKind.OTHER: (),
}

PROGRAMME_KIND_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"
_PROGRAMME_KIND_RE = re.compile(PROGRAMME_KIND_PATTERN)
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DEFAULT_EXPIRY_NOTICE_DAYS = 90
MIN_YEARS, MAX_YEARS = 1, 3


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    RENEWED = "renewed"


IN_FORCE = frozenset({AgreementStatus.SIGNED, AgreementStatus.ACTIVE, AgreementStatus.EXPIRING})
RENEWABLE = IN_FORCE | {AgreementStatus.EXPIRED}
CLOSED = frozenset({AgreementStatus.TERMINATED, AgreementStatus.EXPIRED, AgreementStatus.RENEWED})


class Party(StrEnum):
    FACILITY = "facility"
    PARTNER = "partner"
    BOTH = "both"


class CountingRule(StrEnum):
    """What a held session adds to an item; None on an item: as its programme kind counts."""

    SESSIONS = "sessions"  # 1 per held session
    PARTICIPANTS = "participants"  # the session's attendance
    REPORTED = "reported"  # the quantity reported with the session


class MilestoneStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    PARTIALLY_MET = "partially_met"
    NOT_MET = "not_met"


# --- errors ---------------------------------------------------------------------------------


class DomainError(Exception):
    """A broken business rule; ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidPeriodError(DomainError): ...


class SigningError(DomainError): ...


class OverlapError(DomainError): ...


class InvalidTransitionError(DomainError): ...


class RenewalError(DomainError): ...


class ActionPlanError(DomainError): ...


class ScopeError(DomainError): ...


class AmendmentError(DomainError): ...


def _required(value: str, what: str, error: type[DomainError] = DomainError) -> str:
    stripped = value.strip()
    if not stripped:
        raise error(f"{what.replace(' ', '_')}_required", f"the {what} must not be empty")
    return stripped


def _check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    result = tuple(dict.fromkeys(kinds))
    for kind in result:
        if not _PROGRAMME_KIND_RE.fullmatch(kind):
            raise ScopeError(
                "invalid_programme_kind",
                f"programme kind {kind!r} must match {PROGRAMME_KIND_PATTERN}",
            )
    return result


# --- value objects --------------------------------------------------------------------------


def add_years(d: date, years: int) -> date:
    """Calendar arithmetic; 29 February falls back to 28 February in common years."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


@dataclass(frozen=True)
class Period:
    """Both ends inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidPeriodError("period_reversed", f"the period {self} ends before it starts")

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    def covers(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: Period) -> bool:
        return self.start <= other.end and other.start <= self.end

    @property
    def years(self) -> int:
        """Whole calendar years covered (2023-03-13..2024-03-12 is 1 year)."""
        n = 0
        while add_years(self.start, n + 1) <= self.end + timedelta(days=1):
            n += 1
        return n

    def describe_length(self) -> str:
        n = self.years
        days = (self.end + timedelta(days=1) - add_years(self.start, n)).days
        parts = [f"{n} year{'s' * (n != 1)}"] if n else []
        if days or not n:
            parts.append(f"{days} day{'s' * (days != 1)}")
        return " and ".join(parts)

    def check_agreement_length(self) -> None:
        earliest_end = add_years(self.start, MIN_YEARS) - timedelta(days=1)
        latest_end = add_years(self.start, MAX_YEARS)
        if not earliest_end <= self.end <= latest_end:
            raise InvalidPeriodError(
                "period_out_of_range",
                f"the period {self} is {self.describe_length()}; an agreement runs "
                f"{MIN_YEARS} to {MAX_YEARS} years (end between {earliest_end} and {latest_end})",
            )


@dataclass(frozen=True)
class Signatory:
    party: Party
    name: str
    position: str

    def __post_init__(self) -> None:
        if self.party is Party.BOTH:
            raise SigningError(
                "invalid_signatory_party", "a signatory signs for the facility or the partner"
            )
        _required(self.name, "signatory name", SigningError)
        _required(self.position, "signatory position", SigningError)


@dataclass(frozen=True)
class Document:
    name: str
    media_type: str
    sha256: str
    size_bytes: int

    def __post_init__(self) -> None:
        _required(self.name, "document name")
        if not _SHA256_RE.fullmatch(self.sha256):
            raise DomainError("invalid_sha256", f"{self.sha256!r} is not a lowercase sha256")
        if self.size_bytes < 0:
            raise DomainError("invalid_size", f"document size {self.size_bytes} is negative")


@dataclass(frozen=True)
class Amendment:
    number: int
    rationale: str
    effective_on: date
    changes: dict[str, str]  # field -> "old -> new"


@dataclass(frozen=True)
class Realisation:
    session_id: str
    quantity: int
    held_on: date
    sequence: int

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise ActionPlanError(
                "negative_quantity", f"session {self.session_id} quantity {self.quantity} < 0"
            )


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainEvent:
    """Small facts; handlers read the aggregate itself for a full snapshot."""

    # the aggregate's version right after the change; set when the aggregate records it
    version: int = field(default=0, kw_only=True)


@dataclass(frozen=True)
class PartnerEvent(DomainEvent):
    partner_id: str


@dataclass(frozen=True)
class PartnerRegistered(PartnerEvent):
    facility: str
    code: str
    kind: PartnerKind


@dataclass(frozen=True)
class PartnerUpdated(PartnerEvent):
    changes: dict[str, str]  # field -> "old -> new"


@dataclass(frozen=True)
class AgreementEvent(DomainEvent):
    agreement_id: str


@dataclass(frozen=True)
class AgreementDrafted(AgreementEvent):
    partner_id: str
    renews: str | None
    gap_days: int | None


@dataclass(frozen=True)
class AgreementSigned(AgreementEvent):
    signed_on: date


@dataclass(frozen=True)
class AgreementActivated(AgreementEvent): ...


@dataclass(frozen=True)
class AgreementExpiring(AgreementEvent):
    end: date


@dataclass(frozen=True)
class AgreementExpired(AgreementEvent):
    status: AgreementStatus  # EXPIRED, or RENEWED when a renewal already exists


@dataclass(frozen=True)
class AgreementTerminated(AgreementEvent):
    reason: str
    terminated_on: date


@dataclass(frozen=True)
class AgreementRenewed(AgreementEvent):
    renewal_id: str


@dataclass(frozen=True)
class AgreementAmended(AgreementEvent):
    number: int
    changes: dict[str, str]  # field -> "old -> new"


@dataclass(frozen=True)
class DocumentAttached(AgreementEvent):
    sha256: str
    name: str


@dataclass(frozen=True)
class ActionPlanItemAdded(AgreementEvent):
    item_id: str
    programme_kind: str


@dataclass(frozen=True)
class RealisationUpdated(AgreementEvent):
    item_id: str
    session_id: str
    realised_quantity: int
    target_quantity: int


@dataclass(frozen=True)
class ActionPlanItemAssessed(AgreementEvent):
    item_id: str
    milestone: MilestoneStatus
    realised_quantity: int
    target_quantity: int


# --- partner --------------------------------------------------------------------------------


@dataclass
class Partner:
    id: str
    facility: str
    code: str
    name: str
    kind: PartnerKind
    sectors: tuple[str, ...]
    version: int = 1
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def register(
        cls,
        id: str,
        facility: str,
        code: str,
        name: str,
        kind: PartnerKind,
        sectors: Iterable[str] | None = None,
    ) -> Partner:
        partner = cls(
            id=id,
            facility=_required(facility, "facility"),
            code=_required(code, "partner code"),
            name=_required(name, "partner name"),
            kind=kind,
            sectors=_check_kinds(DEFAULT_SECTORS[kind] if sectors is None else sectors),
        )
        partner.events.append(
            PartnerRegistered(id, partner.facility, partner.code, kind, version=1)
        )
        return partner

    def update(self, name: str | None = None, sectors: Iterable[str] | None = None) -> bool:
        """Returns False (and records nothing) when the values are already current."""
        changes: dict[str, str] = {}
        if name is not None and (new_name := _required(name, "partner name")) != self.name:
            changes["name"] = f"{self.name} -> {new_name}"
            self.name = new_name
        if sectors is not None and (new_sectors := _check_kinds(sectors)) != self.sectors:
            changes["sectors"] = f"{', '.join(self.sectors)} -> {', '.join(new_sectors)}"
            self.sectors = new_sectors
        if not changes:
            return False
        self.version += 1
        self.events.append(PartnerUpdated(self.id, changes, version=self.version))
        return True

    def covered_kinds(self, kinds: Iterable[str]) -> tuple[str, ...]:
        """Validates programme kinds of an agreement with this partner."""
        result = _check_kinds(kinds)
        if not result:
            raise ScopeError("programme_kinds_required", "an agreement covers at least one kind")
        for kind in result:
            if kind not in self.sectors:
                raise ScopeError(
                    "programme_kind_outside_sectors",
                    f"programme kind {kind!r} is not among partner {self.code}'s sectors "
                    f"({', '.join(self.sectors) or 'none'})",
                )
        return result


# --- action plan ----------------------------------------------------------------------------


@dataclass
class ActionPlanItem:
    id: str
    programme_kind: str
    description: str
    target_quantity: int
    unit: str
    period: Period
    responsible: Party
    # The ledger entries in hand, by session id: all of them for an item built in memory,
    # only those a use case asked for when read from storage (see `realised`).
    realisations: dict[str, Realisation] = field(default_factory=dict, compare=False)
    milestone: MilestoneStatus = MilestoneStatus.OPEN
    # Applied by the programs service, which knows the kinds' own rules (decision 0010).
    counts: CountingRule | None = None
    # The total over the whole ledger when only part of it is in hand; None: add them up.
    realised_total: InitVar[int | None] = None
    realised: int = field(init=False, default=0)

    def __post_init__(self, realised_total: int | None) -> None:
        self.realised = (
            sum(r.quantity for r in self.realisations.values())
            if realised_total is None
            else realised_total
        )
        self.description = _required(self.description, "item description", ActionPlanError)
        self.unit = _required(self.unit, "item unit", ActionPlanError)
        if self.target_quantity <= 0:
            raise ActionPlanError(
                "target_not_positive",
                f"action plan item {self.id} target {self.target_quantity} must be above 0",
            )

    @property
    def realised_quantity(self) -> int:
        return self.realised

    def apply(self, realisation: Realisation) -> bool:
        """A higher sequence replaces the session's entry (cancel = 0); lower or equal is stale.

        The session's earlier entry, if any, must be in hand (`realisations`): the total
        moves by the difference, so the work is the same however long the ledger is.
        """
        known = self.realisations.get(realisation.session_id)
        if known is not None and realisation.sequence <= known.sequence:
            return False
        self.realisations[realisation.session_id] = realisation
        self.realised += realisation.quantity - (known.quantity if known else 0)
        return True

    def assessment(self) -> MilestoneStatus:
        realised = self.realised_quantity
        if realised >= self.target_quantity:
            return MilestoneStatus.MET
        return MilestoneStatus.PARTIALLY_MET if realised > 0 else MilestoneStatus.NOT_MET


# --- agreement ------------------------------------------------------------------------------


@dataclass
class Agreement:
    id: str
    facility: str
    partner_id: str
    partner_code: str
    facility_number: str
    partner_number: str
    title: str
    programme_kinds: tuple[str, ...]
    period: Period
    status: AgreementStatus = AgreementStatus.DRAFT
    signed_on: date | None = None
    signatories: tuple[Signatory, ...] = ()
    renews: str | None = None
    gap_days: int | None = None  # days between the renewed agreement's end and this start
    renewed_by: str | None = None
    termination_reason: str | None = None
    terminated_on: date | None = None
    amendments: list[Amendment] = field(default_factory=list)
    action_plan: list[ActionPlanItem] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    version: int = 1
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def draft(
        cls,
        id: str,
        facility: str,
        partner: Partner,
        facility_number: str,
        partner_number: str,
        title: str,
        programme_kinds: Iterable[str],
        period: Period,
        renews: Agreement | None = None,
    ) -> Agreement:
        if partner.facility != facility:
            raise ScopeError(
                "partner_of_other_facility",
                f"partner {partner.code} belongs to facility {partner.facility}, not {facility}",
            )
        period.check_agreement_length()
        agreement = cls(
            id=id,
            facility=facility,
            partner_id=partner.id,
            partner_code=partner.code,
            facility_number=_required(facility_number, "facility number"),
            partner_number=_required(partner_number, "partner number"),
            title=_required(title, "title"),
            programme_kinds=partner.covered_kinds(programme_kinds),
            period=period,
        )
        if renews is not None:
            renews._check_renewable()
            if renews.partner_id != partner.id or renews.facility != facility:
                raise RenewalError(
                    "renewal_partner_mismatch",
                    f"agreement {renews.facility_number} is with partner {renews.partner_code}, "
                    f"not {partner.code}",
                )
            if period.start <= renews.period.end:
                raise RenewalError(
                    "renewal_overlaps_prior",
                    f"the renewal starts {period.start}, before agreement "
                    f"{renews.facility_number} ends ({renews.period.end})",
                )
            agreement.renews = renews.id
            agreement.gap_days = (period.start - renews.period.end).days - 1
        agreement.events.append(
            AgreementDrafted(id, partner.id, agreement.renews, agreement.gap_days, version=1)
        )
        return agreement

    def _record(self, event: AgreementEvent) -> AgreementEvent:
        self.version += 1
        recorded = replace(event, version=self.version)
        self.events.append(recorded)
        return recorded

    def _require_status(self, allowed: Iterable[AgreementStatus], action: str) -> None:
        allowed = sorted(allowed)
        if self.status not in allowed:
            raise InvalidTransitionError(
                f"cannot_{action}",
                f"agreement {self.facility_number} is {self.status}; it can {action} only when "
                + " or ".join(allowed),
            )

    def _check_renewable(self) -> None:
        if self.status not in RENEWABLE:
            raise RenewalError(
                "not_renewable",
                f"agreement {self.facility_number} is {self.status} and cannot be renewed",
            )
        if self.renewed_by is not None:
            raise RenewalError(
                "already_renewed",
                f"agreement {self.facility_number} is already renewed by {self.renewed_by}",
            )

    def _check_overlap(
        self, period: Period, kinds: tuple[str, ...], others: Iterable[Agreement]
    ) -> None:
        for other in others:
            if (
                other.id == self.id
                or other.partner_id != self.partner_id
                or other.status not in IN_FORCE
                or not other.period.overlaps(period)
            ):
                continue
            if shared := [k for k in kinds if k in other.programme_kinds]:
                raise OverlapError(
                    "agreement_overlap",
                    f"agreement {other.facility_number} ({other.period}) already covers "
                    f"{', '.join(shared)} with partner {self.partner_code} during {period}",
                )

    def sign(
        self,
        signed_on: date,
        signatories: Iterable[Signatory],
        today: date,
        other_agreements: Iterable[Agreement],
        expiry_notice_days: int = DEFAULT_EXPIRY_NOTICE_DAYS,
    ) -> None:
        self._require_status([AgreementStatus.DRAFT], "sign")
        signers = tuple(signatories)
        parties = {s.party for s in signers}
        if missing := [p.value for p in (Party.FACILITY, Party.PARTNER) if p not in parties]:
            raise SigningError("signatory_missing", f"no signatory for the {' or '.join(missing)}")
        if signed_on > today:
            raise SigningError("signed_in_future", f"signing date {signed_on} is after {today}")
        if self.period.start < signed_on:
            raise SigningError(
                "starts_before_signing",
                f"the agreement starts {self.period.start}, before it was signed ({signed_on})",
            )
        self._check_overlap(self.period, self.programme_kinds, other_agreements)
        self.status, self.signed_on, self.signatories = AgreementStatus.SIGNED, signed_on, signers
        self._record(AgreementSigned(self.id, signed_on))
        self.advance(today, expiry_notice_days)

    def advance(
        self, today: date, expiry_notice_days: int = DEFAULT_EXPIRY_NOTICE_DAYS
    ) -> list[AgreementEvent]:
        """Applies the passing of time; returns the events emitted (none when nothing is due)."""
        if expiry_notice_days < 0:
            raise ValueError(f"expiry_notice_days {expiry_notice_days} is negative")
        emitted: list[AgreementEvent] = []
        notice_from = self.period.end - timedelta(days=expiry_notice_days)
        if self.status is AgreementStatus.SIGNED and today >= self.period.start:
            self.status = AgreementStatus.ACTIVE
            emitted.append(self._record(AgreementActivated(self.id)))
        # only an amendment that moved the end date later brings an expiring agreement back
        if self.status is AgreementStatus.EXPIRING and today < notice_from:
            self.status = AgreementStatus.ACTIVE
            emitted.append(self._record(AgreementActivated(self.id)))
        if self.status is AgreementStatus.ACTIVE and today >= notice_from:
            self.status = AgreementStatus.EXPIRING
            emitted.append(self._record(AgreementExpiring(self.id, self.period.end)))
        if self.status is AgreementStatus.EXPIRING and today > self.period.end:
            renewed = self.renewed_by is not None
            self.status = AgreementStatus.RENEWED if renewed else AgreementStatus.EXPIRED
            emitted.append(self._record(AgreementExpired(self.id, self.status)))
        if self.status is not AgreementStatus.DRAFT:
            for item in self.action_plan:
                if item.milestone is MilestoneStatus.OPEN and item.period.end < today:
                    emitted.append(self._assess(item))
        return emitted

    def _assess(self, item: ActionPlanItem) -> AgreementEvent:
        item.milestone = item.assessment()
        return self._record(
            ActionPlanItemAssessed(
                self.id, item.id, item.milestone, item.realised_quantity, item.target_quantity
            )
        )

    def terminate(self, reason: str, on: date) -> None:
        self._require_status(IN_FORCE, "terminate")
        reason = _required(reason, "termination reason", InvalidTransitionError)
        if self.signed_on is not None and on < self.signed_on:
            raise InvalidTransitionError(
                "terminated_before_signing", f"termination {on} precedes signing {self.signed_on}"
            )
        self.status = AgreementStatus.TERMINATED
        self.termination_reason, self.terminated_on = reason, on
        self._record(AgreementTerminated(self.id, reason, on))

    def mark_renewed_by(self, renewal_id: str) -> bool:
        """Returns False when already marked with this renewal (redelivery)."""
        if self.renewed_by == renewal_id:
            return False
        self._check_renewable()
        self.renewed_by = renewal_id
        if self.status is AgreementStatus.EXPIRED:
            self.status = AgreementStatus.RENEWED
        self._record(AgreementRenewed(self.id, renewal_id))
        return True

    def amend(
        self,
        rationale: str,
        effective_on: date,
        *,
        partner: Partner,
        other_agreements: Iterable[Agreement],
        today: date,
        title: str | None = None,
        programme_kinds: Iterable[str] | None = None,
        end_date: date | None = None,
        expiry_notice_days: int = DEFAULT_EXPIRY_NOTICE_DAYS,
    ) -> Amendment:
        self._require_status(IN_FORCE, "amend")
        rationale = _required(rationale, "amendment rationale", AmendmentError)
        if partner.id != self.partner_id:
            raise AmendmentError(
                "partner_mismatch", f"partner {partner.code} is not party to this agreement"
            )
        new_title = self.title if title is None else _required(title, "title", AmendmentError)
        kinds = self.programme_kinds
        if programme_kinds is not None:
            kinds = partner.covered_kinds(programme_kinds)
        period = self.period if end_date is None else Period(self.period.start, end_date)
        changes: dict[str, str] = {}
        if new_title != self.title:
            changes["title"] = f"{self.title} -> {new_title}"
        if set(kinds) != set(self.programme_kinds):
            changes["programme_kinds"] = f"{', '.join(self.programme_kinds)} -> {', '.join(kinds)}"
        if period != self.period:
            changes["end_date"] = f"{self.period.end} -> {period.end}"
        if not changes:
            raise AmendmentError("no_changes", "an amendment must change something")
        if not period.contains(effective_on) or effective_on < (self.signed_on or effective_on):
            raise AmendmentError(
                "effective_date_out_of_range",
                f"effective date {effective_on} is before signing or outside {period}",
            )
        if period.end < today:
            raise AmendmentError(
                "end_in_past", f"the new end {period.end} is before {today}; terminate instead"
            )
        period.check_agreement_length()
        self._check_overlap(period, kinds, other_agreements)
        for item in self.action_plan:
            if item.programme_kind not in kinds or not period.covers(item.period):
                raise AmendmentError(
                    "action_plan_item_uncovered",
                    f"action plan item {item.id} ({item.programme_kind}, {item.period}) "
                    "would fall outside the amended agreement",
                )
        amendment = Amendment(len(self.amendments) + 1, rationale, effective_on, changes)
        self.title, self.programme_kinds, self.period = new_title, kinds, period
        self.amendments.append(amendment)
        self._record(AgreementAmended(self.id, amendment.number, changes))
        self.advance(today, expiry_notice_days)
        return amendment

    def add_action_plan_item(
        self,
        item_id: str,
        programme_kind: str,
        description: str,
        target_quantity: int,
        unit: str,
        period: Period,
        responsible: Party,
        counts: CountingRule | None = None,
    ) -> ActionPlanItem:
        if self.status in CLOSED:
            raise ActionPlanError(
                "agreement_closed", f"agreement {self.facility_number} is {self.status}"
            )
        if any(i.id == item_id for i in self.action_plan):
            raise ActionPlanError("duplicate_item", f"action plan item {item_id} already exists")
        if programme_kind not in self.programme_kinds:
            raise ScopeError(
                "programme_kind_not_covered",
                f"programme kind {programme_kind!r} is not covered by agreement "
                f"{self.facility_number} ({', '.join(self.programme_kinds)})",
            )
        if not self.period.covers(period):
            raise ActionPlanError(
                "item_period_outside_agreement",
                f"item period {period} is outside the agreement period {self.period}",
            )
        item = ActionPlanItem(
            item_id,
            programme_kind,
            description,
            target_quantity,
            unit,
            period,
            responsible,
            counts=counts,
        )
        self.action_plan.append(item)
        self._record(ActionPlanItemAdded(self.id, item_id, programme_kind))
        return item

    def record_realisation(
        self, item_id: str, session_id: str, quantity: int, held_on: date, sequence: int
    ) -> bool:
        """Returns True if the ledger changed; a stale (lower/equal sequence) report is ignored."""
        item = self.item(item_id)
        if not item.period.contains(held_on):
            raise ActionPlanError(
                "realisation_outside_item_period",
                f"session {session_id} held {held_on} is outside item {item_id} ({item.period})",
            )
        if not item.apply(Realisation(session_id, quantity, held_on, sequence)):
            return False
        self._record(
            RealisationUpdated(
                self.id, item_id, session_id, item.realised_quantity, item.target_quantity
            )
        )
        # a late report or correction re-assesses an item already assessed
        if item.milestone is not MilestoneStatus.OPEN and item.assessment() != item.milestone:
            self._assess(item)
        return True

    def attach_document(self, document: Document) -> bool:
        """Returns False when a document with the same sha256 is already attached."""
        if any(d.sha256 == document.sha256 for d in self.documents):
            return False
        self.documents.append(document)
        self._record(DocumentAttached(self.id, document.sha256, document.name))
        return True

    def item(self, item_id: str) -> ActionPlanItem:
        for item in self.action_plan:
            if item.id == item_id:
                return item
        raise ActionPlanError(
            "unknown_item", f"agreement {self.id} has no action plan item {item_id}"
        )

    def is_in_force_on(self, d: date) -> bool:
        return self.status in IN_FORCE and self.period.contains(d)
