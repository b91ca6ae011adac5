"""What the HTTP API accepts and returns (one family of models per resource)."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.programs.domain import (
    BuyerType,
    EnrolmentStatus,
    OutcomeKind,
    QuantityRule,
    SessionStatus,
)

PersonId = str


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Created(BaseModel):
    id: str


# Properties to return for a programme kind
class ProgrammeKindPublic(BaseModel):
    code: str
    label_id: str
    label_en: str
    unit: str
    quantity_rule: QuantityRule
    enrolment: bool
    outcome: OutcomeKind | None
    enrolment_needs_validated_nik: bool


# Properties to receive when a session was held
class SessionHeldRequest(_In):
    held_on: date
    attendance: list[PersonId] = Field(default_factory=list, max_length=2000)
    delivered_quantity: int | None = Field(
        default=None, ge=0, le=10_000_000, description="Only for kinds whose quantity is reported."
    )


# Properties to receive when scheduling a session (or recording a held one at once)
class SessionCreate(_In):
    agreement_id: str = Field(min_length=1, max_length=36)
    programme_kind: str = Field(min_length=1, max_length=64)
    scheduled_on: date | None = Field(default=None, description="Defaults to held_on.")
    action_plan_item_id: str | None = Field(default=None, max_length=36)
    held_on: date | None = Field(default=None, description="Given: the session is held already.")
    attendance: list[PersonId] = Field(default_factory=list, max_length=2000)
    delivered_quantity: int | None = Field(default=None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _has_a_date(self) -> Self:
        if self.scheduled_on is None and self.held_on is None:
            raise ValueError("give scheduled_on, or held_on for a session already held")
        if self.held_on is None and (self.attendance or self.delivered_quantity is not None):
            raise ValueError("attendance and delivered_quantity need held_on")
        return self


class SessionCancelRequest(_In):
    reason: str = Field(min_length=1, max_length=1000)


class AttendeePublic(BaseModel):
    person_id: str
    register_number: str | None


# Properties to return for a session
class SessionPublic(BaseModel):
    id: str
    facility: str
    agreement_id: str
    partner_code: str
    programme_kind: str
    unit: str
    action_plan_item_id: str | None
    scheduled_on: date
    status: SessionStatus
    overdue: bool
    held_on: date | None
    delivered_quantity: int
    participant_count: int
    cancel_reason: str | None
    version: int


class SessionDetail(SessionPublic):
    attendance: list[AttendeePublic]


class SessionsPublic(BaseModel):
    data: list[SessionPublic]
    count: int


# Properties to receive when enrolling a person in a course or class
class EnrolmentCreate(_In):
    person_id: PersonId = Field(min_length=1, max_length=36)
    agreement_id: str = Field(min_length=1, max_length=36)
    programme_kind: str = Field(min_length=1, max_length=64)
    enrolled_on: date


class OutcomeResult(_In):
    passed: bool = True
    level: str | None = Field(default=None, max_length=64, description="e.g. Paket B, or a grade.")
    score: float | None = Field(default=None, ge=0, le=1000)


class EnrolmentComplete(_In):
    completed_on: date
    outcome: OutcomeResult | None = Field(
        default=None, description="Issue the certificate or exam result at once."
    )


class EnrolmentExit(_In):
    exited_on: date
    reason: str = Field(min_length=1, max_length=1000)


class EnrolmentPublic(BaseModel):
    id: str
    facility: str
    person_id: str
    agreement_id: str
    partner_code: str
    programme_kind: str
    enrolled_on: date
    status: EnrolmentStatus
    ended_on: date | None
    exit_reason: str | None
    version: int


class EnrolmentsPublic(BaseModel):
    data: list[EnrolmentPublic]
    count: int


class CompletedEnrolment(BaseModel):
    outcome_id: str | None


# Properties to receive when issuing a certificate or an exam result
class OutcomeCreate(OutcomeResult):
    enrolment_id: str = Field(min_length=1, max_length=36)
    issued_on: date


class OutcomePublic(BaseModel):
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
    level: str | None
    score: float | None


class OutcomesPublic(BaseModel):
    data: list[OutcomePublic]
    count: int


class SaleLineIn(_In):
    product: str = Field(min_length=1, max_length=255)
    quantity: int = Field(gt=0, le=1_000_000)
    unit: str = Field(min_length=1, max_length=64)
    unit_price_idr: int = Field(ge=0, le=10_000_000_000, description="Rupiah per unit.")


# Properties to receive when recording a sale of inmates' products
class SaleCreate(_In):
    agreement_id: str = Field(min_length=1, max_length=36)
    sold_on: date
    buyer_type: BuyerType
    lines: list[SaleLineIn] = Field(min_length=1, max_length=500)


class SaleLinePublic(BaseModel):
    product: str
    quantity: int
    unit: str
    unit_price_idr: int
    amount_idr: int


class SalePublic(BaseModel):
    id: str
    facility: str
    agreement_id: str
    partner_code: str
    sold_on: date
    buyer_type: BuyerType
    lines: list[SaleLinePublic]
    total_idr: int


class SalesPublic(BaseModel):
    data: list[SalePublic]
    count: int


class SalesTotal(BaseModel):
    key: str
    sales: int
    total_idr: int


class ProductTotal(BaseModel):
    product: str
    unit: str
    quantity: int
    total_idr: int


class SalesReport(BaseModel):
    period: str
    partner_code: str | None
    sales: int
    total_idr: int
    by_partner: list[SalesTotal]
    by_buyer_type: list[SalesTotal]
    by_product: list[ProductTotal]


# --- reports: realisation, participation, sessions due ----------------------------------------


class RealisationMonth(BaseModel):
    month: str = Field(description="YYYY-MM")
    realised: int


# One action-plan item against its target, from this service's held sessions
class RealisationItem(BaseModel):
    partner_code: str
    agreement_id: str
    facility_number: str
    item_id: str
    programme_kind: str
    description: str | None = Field(description="None until the item read model carries it.")
    unit: str
    period_start: date
    period_end: date
    target: int | None = Field(description="None until the item read model carries it.")
    realised: int = Field(description="Held sessions in the item period (to the month's end).")
    percent: float | None
    months: list[RealisationMonth]


class RealisationReport(BaseModel):
    month: str | None
    agreement_id: str | None
    partner_code: str | None
    items: list[RealisationItem]


class AttendedSession(BaseModel):
    session_id: str
    held_on: date
    programme_kind: str
    partner_code: str
    agreement_id: str
    facility: str


# A person's participation, for parole (PB) and remission assessments
class Participation(BaseModel):
    person_id: str
    register_number: str | None
    name: str | None
    custody_status: str | None
    sessions: list[AttendedSession]
    enrolments: list[EnrolmentPublic]
    outcomes: list[OutcomePublic]


class PartnerSessionsDue(BaseModel):
    partner_code: str
    upcoming: list[SessionPublic]
    overdue: list[SessionPublic]


class SessionsDueReport(BaseModel):
    today: date
    until: date
    partners: list[PartnerSessionsDue]
