"""The dashboard's read models of the agreements, programs and identity streams.

State-carrying events: a row takes an event's state only if its sequence is newer than
the one it holds, so redeliveries and out-of-order entries change nothing.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel

from services.dashboard.orm import AgreementRow, InmateRow, ItemRow, PartnerRow, SessionRow
from shared.events import CloudEvent, EventPayload
from shared.events.agreements import ActionPlanItemState, AgreementState, PartnerState
from shared.events.identity import InmateState
from shared.events.programs import SessionState
from shared.messaging import is_newer


def apply_event(session: Session, event: CloudEvent, payload: EventPayload) -> bool:
    """Apply one fact of the three streams; False when it changes nothing."""
    agreement = getattr(payload, "agreement", None)
    if isinstance(agreement, AgreementState):
        changed = apply_agreement(session, event.facility, agreement, event.sequence)
        item = getattr(payload, "item", None)
        if isinstance(item, ActionPlanItemState):
            changed |= apply_item(session, agreement, item, event.sequence)
        return changed
    partner = getattr(payload, "partner", None)
    if isinstance(partner, PartnerState):
        return apply_partner(session, partner, event.sequence)
    programme_session = getattr(payload, "session", None)
    if isinstance(programme_session, SessionState):
        return apply_session(session, programme_session, event.sequence)
    inmate = getattr(payload, "inmate", None)
    if isinstance(inmate, InmateState):
        return apply_inmate(session, inmate, event.sequence)
    return False


def apply_partner(session: Session, state: PartnerState, sequence: int) -> bool:
    row = session.get(PartnerRow, state.partner_id)
    if not is_newer(row.sequence if row else None, sequence):
        return False
    values: dict[str, Any] = {"code": state.code, "name": state.name, "sequence": sequence}
    _upsert(session, row, PartnerRow(partner_id=state.partner_id, **values), values)
    return True


def apply_agreement(session: Session, facility: str, state: AgreementState, sequence: int) -> bool:
    row = session.get(AgreementRow, state.agreement_id)
    if not is_newer(row.sequence if row else None, sequence):
        return False
    values: dict[str, Any] = {
        "facility": facility,
        "partner_code": state.partner_code,
        "facility_number": state.facility_number,
        "title": state.title[:500],
        "start_date": state.start_date,
        "end_date": state.end_date,
        "status": state.status,
        "sequence": sequence,
    }
    _upsert(session, row, AgreementRow(agreement_id=state.agreement_id, **values), values)
    return True


def apply_item(
    session: Session, agreement: AgreementState, item: ActionPlanItemState, sequence: int
) -> bool:
    row = session.get(ItemRow, item.item_id)
    if not is_newer(row.sequence if row else None, sequence):
        return False
    values: dict[str, Any] = {
        "agreement_id": agreement.agreement_id,
        "partner_code": agreement.partner_code,
        "programme_kind": item.programme_kind,
        "description": item.description[:1000],
        "target_quantity": item.target_quantity,
        "realised_quantity": item.realised_quantity,
        "unit": item.unit,
        "period_start": item.period_start,
        "period_end": item.period_end,
        "milestone": item.milestone,
        "sequence": sequence,
    }
    _upsert(session, row, ItemRow(item_id=item.item_id, **values), values)
    return True


def apply_session(session: Session, state: SessionState, sequence: int) -> bool:
    row = session.get(SessionRow, state.session_id)
    if not is_newer(row.sequence if row else None, sequence):
        return False
    values: dict[str, Any] = {
        "agreement_id": state.agreement_id,
        "partner_code": state.partner_code,
        "status": state.status,
        "participant_count": state.participant_count,
        "sequence": sequence,
    }
    _upsert(session, row, SessionRow(session_id=state.session_id, **values), values)
    return True


def apply_inmate(session: Session, state: InmateState, sequence: int) -> bool:
    row = session.get(InmateRow, state.person_id)
    if not is_newer(row.sequence if row else None, sequence):
        return False
    # where the person is (or was last) held: the latest custody period
    facility = state.custody_periods[-1].facility if state.custody_periods else ""
    values: dict[str, Any] = {
        "facility": facility,
        "custody_status": state.custody_status,
        "nik_status": state.nik_status,
        "sequence": sequence,
    }
    _upsert(session, row, InmateRow(person_id=state.person_id, **values), values)
    return True


def _upsert(session: Session, row: SQLModel | None, new: SQLModel, values: dict[str, Any]) -> None:
    if row is None:
        row = new
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    session.flush()  # a later event of the same batch must find this row
