"""Facts published by the programs service on `sinergi.programs`.

Defined ahead of that service: the agreements service consumes `session.held` and
`session.cancelled` to move the realisation of action-plan items.
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


PAYLOADS: tuple[type[EventPayload], ...] = (SessionScheduled, SessionHeld, SessionCancelled)
