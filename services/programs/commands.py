"""What staff, partner agencies and other services ask the programs service to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.programs.domain import BuyerType


@dataclass(frozen=True)
class HeldReport:
    held_on: date
    attendance: tuple[str, ...] = ()  # person ids
    delivered_quantity: int | None = None  # only for kinds whose quantity is reported


@dataclass(frozen=True)
class ScheduleSession:
    agreement_id: str
    programme_kind: str
    scheduled_on: date
    action_plan_item_id: str | None = None
    held: HeldReport | None = None  # recorded after the fact: scheduled and held at once
    new_id: str | None = None  # the id to give the session (default: a fresh one)


@dataclass(frozen=True)
class RecordSessionHeld:
    session_id: str
    report: HeldReport


@dataclass(frozen=True)
class CancelSession:
    session_id: str
    reason: str


@dataclass(frozen=True)
class Enrol:
    person_id: str
    agreement_id: str
    programme_kind: str
    enrolled_on: date


@dataclass(frozen=True)
class OutcomeInput:
    passed: bool = True
    level: str | None = None
    score: float | None = None


@dataclass(frozen=True)
class CompleteEnrolment:
    enrolment_id: str
    completed_on: date
    outcome: OutcomeInput | None = None


@dataclass(frozen=True)
class ExitEnrolment:
    enrolment_id: str
    exited_on: date
    reason: str


@dataclass(frozen=True)
class IssueOutcome:
    enrolment_id: str
    issued_on: date
    result: OutcomeInput


@dataclass(frozen=True)
class SaleLineInput:
    product: str
    quantity: int
    unit: str
    unit_price_idr: int


@dataclass(frozen=True)
class RecordSale:
    agreement_id: str
    sold_on: date
    buyer_type: BuyerType
    lines: tuple[SaleLineInput, ...]
    new_id: str | None = None  # the id to give the sale (default: a fresh one)


@dataclass(frozen=True)
class ExitOnDeparture:
    """From the identity stream: a person released, or transferred out of ``facility``."""

    person_id: str
    facility: str | None  # None: every facility (a release ends custody everywhere)
    on: date
    reason: str
