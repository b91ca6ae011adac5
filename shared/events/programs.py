"""Facts published by the programs service on `sinergi.programs`.

The agreements service consumes `session.held` and `session.cancelled` to move the
realisation of action-plan items.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import EventPayload

SessionStatus = Literal["scheduled", "held", "cancelled"]


class SessionState(BaseModel):
    """A programme session as it stands after the event (subject = session id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: str
    agreement_id: str
    action_plan_item_id: str | None = None
    partner_code: str
    programme_kind: str
    status: SessionStatus
    scheduled_on: date
    held_on: date | None = None
    delivered_quantity: int = Field(default=0, ge=0)
    unit: str | None = None
    participant_count: int = Field(default=0, ge=0)


class SessionScheduled(EventPayload):
    event_type = "sinergi.session.scheduled"
    session: SessionState


class SessionHeld(EventPayload):
    event_type = "sinergi.session.held"
    session: SessionState


class SessionCancelled(EventPayload):
    event_type = "sinergi.session.cancelled"
    session: SessionState
    reason: str


EnrolmentStatus = Literal["enrolled", "completed", "exited"]


class EnrolmentState(BaseModel):
    """A person's enrolment in a course or class (subject = enrolment id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    enrolment_id: str
    person_id: str
    agreement_id: str
    partner_code: str
    programme_kind: str
    status: EnrolmentStatus
    enrolled_on: date
    ended_on: date | None = None
    exit_reason: str | None = None


class PersonEnrolled(EventPayload):
    event_type = "sinergi.enrolment.enrolled"
    enrolment: EnrolmentState


class EnrolmentCompleted(EventPayload):
    event_type = "sinergi.enrolment.completed"
    enrolment: EnrolmentState


class EnrolmentExited(EventPayload):
    event_type = "sinergi.enrolment.exited"
    enrolment: EnrolmentState


class OutcomeIssued(EventPayload):
    """A training certificate or an equivalency-exam result (subject = outcome id)."""

    event_type = "sinergi.outcome.issued"
    outcome_id: str
    person_id: str
    enrolment_id: str | None = None
    agreement_id: str
    programme_kind: str
    kind: Literal["certificate", "exam_result"]
    issued_on: date
    passed: bool
    level: str | None = None
    score: float | None = None


class SaleLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    product: str
    quantity: int = Field(gt=0)
    unit: str
    unit_price_idr: int = Field(ge=0)
    amount_idr: int = Field(ge=0)


class SaleRecorded(EventPayload):
    """Inmates' products sold under the trade agreement (subject = sale id), amounts in rupiah."""

    event_type = "sinergi.sale.recorded"
    sale_id: str
    agreement_id: str
    partner_code: str
    sold_on: date
    buyer_type: Literal["public", "government", "business", "staff", "other"]
    lines: list[SaleLine]
    total_idr: int = Field(ge=0)


PAYLOADS: tuple[type[EventPayload], ...] = (
    SessionScheduled,
    SessionHeld,
    SessionCancelled,
    PersonEnrolled,
    EnrolmentCompleted,
    EnrolmentExited,
    OutcomeIssued,
    SaleRecorded,
)
