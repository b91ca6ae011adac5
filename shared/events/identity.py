"""Facts published by the identity service on `sinergi.identity`. Never the NIK itself."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import EventPayload

CustodyCategory = Literal["A.I", "A.II", "A.III", "A.IV", "A.V", "B.I", "B.IIa", "B.IIb", "B.III"]
CustodyStatus = Literal["detainee", "convict", "released", "transferred_out"]
NikStatus = Literal[
    "missing",
    "unverified",
    "invalid",
    "matched",
    "partial",
    "not_found",
    "validated",
    "rejected",
]


class CustodyPeriod(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    facility: str
    since: date
    until: date | None = None


class InmateState(BaseModel):
    """A person in custody as they stand after the event (subject = person id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    person_id: str
    register_number: str
    name: str
    category: CustodyCategory
    custody_status: CustodyStatus
    admission_date: date
    custody_periods: list[CustodyPeriod] = Field(
        description="Where and when the person was in custody, oldest first."
    )
    nik_status: NikStatus


class InmateAdmitted(EventPayload):
    event_type = "sinergi.inmate.admitted"
    inmate: InmateState


class InmateStatusChanged(EventPayload):
    event_type = "sinergi.inmate.status_changed"
    inmate: InmateState
    previous_category: CustodyCategory


class InmateTransferred(EventPayload):
    event_type = "sinergi.inmate.transferred"
    inmate: InmateState
    from_facility: str
    to_facility: str
    transferred_on: date


class InmateReleased(EventPayload):
    event_type = "sinergi.inmate.released"
    inmate: InmateState
    released_on: date


class NikStatusChanged(EventPayload):
    event_type = "sinergi.inmate.nik_status_changed"
    inmate: InmateState
    previous_status: NikStatus


PAYLOADS: tuple[type[EventPayload], ...] = (
    InmateAdmitted,
    InmateStatusChanged,
    InmateTransferred,
    InmateReleased,
    NikStatusChanged,
)
