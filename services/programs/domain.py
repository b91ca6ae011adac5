"""Programmes delivered under cooperation agreements: sessions, enrolments, outcomes, sales.

Pure domain model. What other services know (agreements in force, people in custody, their
NIK status) arrives here as read-model values (`AgreementTerms`, `ItemTerms`, `Person`);
aggregates check their rules against them and record domain events in ``self.events``.
Programme kinds are data (`ProgrammeKind`, seeded from kinds.json), never code branches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

SALES_KIND = "product_sales"
VALIDATED = "validated"
# statuses whose period counts (an expired or renewed agreement was in force in its period)
IN_FORCE_IN_PERIOD = frozenset({"signed", "active", "expiring", "expired", "renewed"})


class QuantityRule(StrEnum):
    SESSIONS = "sessions"  # each held session counts 1
    PARTICIPANTS = "participants"  # the attendance counts
    REPORTED = "reported"  # the partner enters the delivered quantity


# the unit of a session's quantity when its item counts otherwise than its kind
RULE_UNITS = {QuantityRule.SESSIONS: "sessions", QuantityRule.PARTICIPANTS: "participants"}


class OutcomeKind(StrEnum):
    CERTIFICATE = "certificate"
    EXAM_RESULT = "exam_result"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class EnrolmentStatus(StrEnum):
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    EXITED = "exited"


class BuyerType(StrEnum):
    PUBLIC = "public"
    GOVERNMENT = "government"
    BUSINESS = "business"
    STAFF = "staff"
    OTHER = "other"


# --- errors ---------------------------------------------------------------------------------


class DomainError(Exception):
    """A broken business rule; ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AgreementRuleError(DomainError):
    """No agreement in force on the date, or it does not cover the kind or the item."""


class CustodyError(DomainError): ...


class NikNotValidatedError(DomainError): ...


class QuantityError(DomainError): ...


class InvalidTransitionError(DomainError): ...


class DuplicateError(DomainError): ...


def _required(value: str, what: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise DomainError(f"{what.replace(' ', '_')}_required", f"the {what} must not be empty")
    return stripped


# --- what this service knows of the others (read models) -----------------------------------


@dataclass(frozen=True)
class ProgrammeKind:
    code: str
    label_id: str
    label_en: str
    unit: str
    quantity_rule: QuantityRule
    enrolment: bool
    outcome: OutcomeKind | None
    enrolment_needs_validated_nik: bool = False

    def delivered_quantity(
        self, attendance: int, reported: int | None, rule: QuantityRule | None = None
    ) -> int:
        """The quantity a held session delivers, by ``rule`` (its item's) or else the kind's."""
        rule = rule or self.quantity_rule
        what = self.code if rule is self.quantity_rule else f"this {self.code} item"
        if rule is not QuantityRule.REPORTED:
            if reported is not None:
                raise QuantityError(
                    "quantity_not_reported",
                    f"{what} counts {rule.value}; leave delivered_quantity out",
                )
            return 1 if rule is QuantityRule.SESSIONS else attendance
        if reported is None:
            raise QuantityError(
                "delivered_quantity_required",
                f"{what} counts the quantity delivered ({self.unit}): report it",
            )
        if reported < 0:
            raise QuantityError("negative_quantity", f"delivered quantity {reported} is below 0")
        return reported

    def unit_by(self, rule: QuantityRule | None) -> str:
        """The unit of a session's quantity: the kind's, unless its item counts otherwise."""
        if rule is None or rule is self.quantity_rule:
            return self.unit
        return RULE_UNITS.get(rule, self.unit)


@dataclass(frozen=True)
class AgreementTerms:
    """An agreement as the agreements service last told us (state-carrying events)."""

    agreement_id: str
    facility: str
    partner_code: str
    facility_number: str
    programme_kinds: tuple[str, ...]
    start_date: date
    end_date: date
    status: str
    terminated_on: date | None = None

    def check_in_force(self, on: date, kind: str) -> None:
        """In force on ``on`` (never as a draft, not from its termination) and covering ``kind``."""
        name = f"agreement {self.facility_number} with {self.partner_code}"
        if self.status == "terminated":
            if self.terminated_on is None or on >= self.terminated_on:
                ended = f"on {self.terminated_on}" if self.terminated_on else "before that"
                raise AgreementRuleError(
                    "no_agreement_in_force", f"{name} was terminated {ended}; not in force on {on}"
                )
        elif self.status not in IN_FORCE_IN_PERIOD:
            raise AgreementRuleError(
                "no_agreement_in_force", f"{name} is {self.status}, not in force on {on}"
            )
        if on < self.start_date:
            raise AgreementRuleError(
                "no_agreement_in_force", f"{name} starts {self.start_date}, after {on}"
            )
        if on > self.end_date:
            raise AgreementRuleError(
                "agreement_expired_on_date", f"{name} ended {self.end_date}, before {on}"
            )
        if kind not in self.programme_kinds:
            raise AgreementRuleError(
                "kind_not_covered",
                f"{name} covers {', '.join(self.programme_kinds)}, not {kind}",
            )


@dataclass(frozen=True)
class ItemTerms:
    item_id: str
    agreement_id: str
    programme_kind: str
    period_start: date
    period_end: date
    # what the item measures, from its agreement; None: as the programme kind counts
    counts: QuantityRule | None = None

    def check_matches(self, agreement_id: str, kind: str, on: date) -> None:
        """The item belongs to the agreement, is of the kind, and its period holds the date."""
        if self.agreement_id != agreement_id or self.programme_kind != kind:
            raise AgreementRuleError(
                "item_mismatch",
                f"action plan item {self.item_id} is a {self.programme_kind} item of agreement "
                f"{self.agreement_id}, not a {kind} item of agreement {agreement_id}",
            )
        if not self.period_start <= on <= self.period_end:
            raise AgreementRuleError(
                "item_mismatch",
                f"action plan item {self.item_id} runs {self.period_start}..{self.period_end}, "
                f"not on {on}",
            )


@dataclass(frozen=True)
class Custody:
    """A stay at a facility; ``until`` (a release or transfer day) is no longer part of it."""

    facility: str
    since: date
    until: date | None = None

    def covers(self, facility: str, on: date) -> bool:
        return (
            self.facility == facility
            and self.since <= on
            and (self.until is None or on < self.until)
        )


@dataclass(frozen=True)
class Person:
    """A person in custody as the identity service last told us (never the NIK)."""

    person_id: str
    register_number: str
    custody_periods: tuple[Custody, ...]
    nik_status: str

    def check_in_custody(self, facility: str, on: date) -> None:
        if not any(period.covers(facility, on) for period in self.custody_periods):
            raise CustodyError(
                "not_in_custody", f"{self.register_number} is not in custody at {facility} on {on}"
            )

    def check_nik_validated(self, what: str) -> None:
        if self.nik_status != VALIDATED:
            raise NikNotValidatedError(
                "nik_not_validated",
                f"the NIK of {self.register_number} is '{self.nik_status}': it must be matched "
                f"and validated (pengesahan) in the identity service before {what}",
            )


def unknown_person(person_id: str) -> CustodyError:
    return CustodyError(
        "not_in_custody", f"person {person_id} is not on the custody roster known here"
    )


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainEvent:
    version: int = field(default=0, kw_only=True)


@dataclass(frozen=True)
class SessionSnapshot:
    """What a session event says about the session right after it."""

    status: SessionStatus
    held_on: date | None = None
    delivered_quantity: int = 0
    participant_count: int = 0


@dataclass(frozen=True)
class SessionScheduled(DomainEvent):
    snapshot: SessionSnapshot


@dataclass(frozen=True)
class SessionHeld(DomainEvent):
    snapshot: SessionSnapshot


@dataclass(frozen=True)
class SessionCancelled(DomainEvent):
    snapshot: SessionSnapshot
    reason: str


@dataclass(frozen=True)
class PersonEnrolled(DomainEvent): ...


@dataclass(frozen=True)
class EnrolmentCompleted(DomainEvent): ...


@dataclass(frozen=True)
class EnrolmentExited(DomainEvent): ...


@dataclass(frozen=True)
class OutcomeIssued(DomainEvent): ...


@dataclass(frozen=True)
class SaleRecorded(DomainEvent): ...


@dataclass
class _Aggregate:
    version: int = field(default=1, kw_only=True)
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False, kw_only=True)

    def _record(self, event: DomainEvent) -> None:
        self.version += 1
        self.events.append(replace(event, version=self.version))


# --- sessions -------------------------------------------------------------------------------


@dataclass
class ProgrammeSession(_Aggregate):
    id: str
    facility: str
    agreement_id: str
    partner_code: str
    programme_kind: str
    unit: str
    action_plan_item_id: str | None
    scheduled_on: date
    status: SessionStatus = SessionStatus.SCHEDULED
    held_on: date | None = None
    attendance: tuple[str, ...] = ()
    delivered_quantity: int = 0
    cancel_reason: str | None = None

    @classmethod
    def schedule(
        cls,
        id: str,
        agreement: AgreementTerms,
        kind: ProgrammeKind,
        on: date,
        item: ItemTerms | None = None,
    ) -> ProgrammeSession:
        agreement.check_in_force(on, kind.code)
        if item is not None:
            item.check_matches(agreement.agreement_id, kind.code, on)
        session = cls(
            id=id,
            facility=agreement.facility,
            agreement_id=agreement.agreement_id,
            partner_code=agreement.partner_code,
            programme_kind=kind.code,
            unit=kind.unit_by(item.counts if item else None),
            action_plan_item_id=item.item_id if item else None,
            scheduled_on=on,
        )
        session.events.append(SessionScheduled(session.snapshot(), version=1))
        return session

    def snapshot(self) -> SessionSnapshot:
        return SessionSnapshot(
            self.status, self.held_on, self.delivered_quantity, len(self.attendance)
        )

    def hold(
        self,
        on: date,
        attendance: Sequence[Person],
        reported: int | None,
        *,
        agreement: AgreementTerms,
        kind: ProgrammeKind,
        item: ItemTerms | None,
        today: date,
    ) -> None:
        """Record the session as held; holding a held session again is a correction."""
        if self.status is SessionStatus.CANCELLED:
            raise InvalidTransitionError(
                "cannot_hold", f"session {self.id} is cancelled; schedule a new one"
            )
        if on > today:
            raise DomainError("held_in_future", f"a session cannot be held on {on}, after {today}")
        agreement.check_in_force(on, kind.code)
        if item is not None:
            item.check_matches(self.agreement_id, kind.code, on)
        for person in attendance:
            person.check_in_custody(self.facility, on)
        people = tuple(dict.fromkeys(p.person_id for p in attendance))
        rule = item.counts if item is not None else None
        quantity = kind.delivered_quantity(len(people), reported, rule)
        self.status, self.held_on = SessionStatus.HELD, on
        self.attendance, self.delivered_quantity = people, quantity
        self._record(SessionHeld(self.snapshot()))

    def cancel(self, reason: str) -> None:
        """Cancelling a held session is a correction: it no longer counts toward any target."""
        if self.status is SessionStatus.CANCELLED:
            raise InvalidTransitionError("cannot_cancel", f"session {self.id} is already cancelled")
        reason = _required(reason, "cancellation reason")
        self.status, self.cancel_reason = SessionStatus.CANCELLED, reason
        self.delivered_quantity = 0
        self._record(SessionCancelled(self.snapshot(), reason))

    def is_overdue(self, today: date) -> bool:
        return self.status is SessionStatus.SCHEDULED and self.scheduled_on < today


# --- enrolments and outcomes ----------------------------------------------------------------


@dataclass
class Enrolment(_Aggregate):
    id: str
    facility: str
    person_id: str
    agreement_id: str
    partner_code: str
    programme_kind: str
    enrolled_on: date
    status: EnrolmentStatus = EnrolmentStatus.ENROLLED
    ended_on: date | None = None
    exit_reason: str | None = None

    @classmethod
    def enrol(
        cls,
        id: str,
        person: Person,
        agreement: AgreementTerms,
        kind: ProgrammeKind,
        on: date,
        active: Iterable[Enrolment] = (),
    ) -> Enrolment:
        if not kind.enrolment:
            raise AgreementRuleError(
                "kind_without_enrolment", f"{kind.code} is not a course or class to enrol in"
            )
        agreement.check_in_force(on, kind.code)
        person.check_in_custody(agreement.facility, on)
        if kind.enrolment_needs_validated_nik:
            person.check_nik_validated(f"registering for {kind.label_en.lower()}")
        for other in active:
            if other.agreement_id == agreement.agreement_id and other.programme_kind == kind.code:
                raise DuplicateError(
                    "already_enrolled",
                    f"{person.register_number} is already enrolled in {kind.code} ({other.id})",
                )
        enrolment = cls(
            id=id,
            facility=agreement.facility,
            person_id=person.person_id,
            agreement_id=agreement.agreement_id,
            partner_code=agreement.partner_code,
            programme_kind=kind.code,
            enrolled_on=on,
        )
        enrolment.events.append(PersonEnrolled(version=1))
        return enrolment

    def _require_enrolled(self, action: str) -> None:
        if self.status is not EnrolmentStatus.ENROLLED:
            raise InvalidTransitionError(
                f"cannot_{action}", f"enrolment {self.id} is {self.status.value}, not enrolled"
            )

    def complete(self, on: date) -> None:
        self._require_enrolled("complete")
        if on < self.enrolled_on:
            raise DomainError(
                "completed_before_enrolment", f"completion {on} precedes {self.enrolled_on}"
            )
        self.status, self.ended_on = EnrolmentStatus.COMPLETED, on
        self._record(EnrolmentCompleted())

    def exit(self, on: date, reason: str) -> None:
        self._require_enrolled("exit")
        self.status, self.exit_reason = EnrolmentStatus.EXITED, _required(reason, "exit reason")
        self.ended_on = max(on, self.enrolled_on)
        self._record(EnrolmentExited())


@dataclass
class Outcome(_Aggregate):
    """A training certificate or an exam result; issued once, never changed."""

    id: str
    facility: str
    person_id: str
    enrolment_id: str
    agreement_id: str
    partner_code: str
    programme_kind: str
    kind: OutcomeKind
    issued_on: date
    passed: bool
    level: str | None = None
    score: float | None = None

    @classmethod
    def issue(
        cls,
        id: str,
        enrolment: Enrolment,
        kind: ProgrammeKind,
        person: Person,
        issued_on: date,
        *,
        passed: bool,
        level: str | None = None,
        score: float | None = None,
    ) -> Outcome:
        if kind.outcome is None:
            raise DomainError(
                "kind_without_outcome", f"{kind.code} issues no certificate or result"
            )
        if enrolment.status is not EnrolmentStatus.COMPLETED:
            raise InvalidTransitionError(
                "enrolment_not_completed",
                f"enrolment {enrolment.id} is {enrolment.status.value}; complete it first",
            )
        if issued_on < enrolment.enrolled_on:
            raise DomainError("issued_before_enrolment", f"{issued_on} precedes the enrolment")
        what = "a certificate" if kind.outcome is OutcomeKind.CERTIFICATE else "an exam result"
        person.check_nik_validated(f"{what} is issued")
        outcome = cls(
            id=id,
            facility=enrolment.facility,
            person_id=person.person_id,
            enrolment_id=enrolment.id,
            agreement_id=enrolment.agreement_id,
            partner_code=enrolment.partner_code,
            programme_kind=kind.code,
            kind=kind.outcome,
            issued_on=issued_on,
            passed=passed,
            level=level,
            score=score,
        )
        outcome.events.append(OutcomeIssued(version=1))
        return outcome


# --- product sales --------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleLine:
    product: str
    quantity: int
    unit: str
    unit_price_idr: int

    def __post_init__(self) -> None:
        _required(self.product, "product")
        _required(self.unit, "unit")
        if self.quantity <= 0 or self.unit_price_idr < 0:
            raise DomainError(
                "invalid_sale_line",
                f"{self.product}: quantity must be above 0 and the price not below 0",
            )

    @property
    def amount_idr(self) -> int:
        return self.quantity * self.unit_price_idr


@dataclass
class Sale(_Aggregate):
    id: str
    facility: str
    agreement_id: str
    partner_code: str
    sold_on: date
    buyer_type: BuyerType
    lines: tuple[SaleLine, ...]

    @classmethod
    def record(
        cls,
        id: str,
        agreement: AgreementTerms,
        sold_on: date,
        buyer_type: BuyerType,
        lines: Iterable[SaleLine],
    ) -> Sale:
        agreement.check_in_force(sold_on, SALES_KIND)
        sale_lines = tuple(lines)
        if not sale_lines:
            raise DomainError("sale_lines_required", "a sale has at least one line")
        sale = cls(
            id=id,
            facility=agreement.facility,
            agreement_id=agreement.agreement_id,
            partner_code=agreement.partner_code,
            sold_on=sold_on,
            buyer_type=buyer_type,
            lines=sale_lines,
        )
        sale.events.append(SaleRecorded(version=1))
        return sale

    @property
    def total_idr(self) -> int:
        return sum(line.amount_idr for line in self.lines)
