"""Read models of the agreements and identity streams, and their rebuild from the streams.

State-carrying events: a row takes an event's state only if its sequence is newer than the
one it holds. The same apply functions serve the live subscribers and a rebuild, so a
replay from the start of the streams ends in the rows the live consumer wrote.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from sqlalchemy import Engine, delete
from sqlmodel import Session, SQLModel

from services.programs.orm import READ_MODEL_TABLES, AgreementViewRow, InmateViewRow, ItemViewRow
from shared.events import CloudEvent, EventPayload, InvalidEventError, parse_event
from shared.events.agreements import ActionPlanItemState, AgreementState, AgreementTerminated
from shared.events.identity import InmateState
from shared.messaging import is_newer, stream_of
from shared.messaging.streams import entry_body, text

log = logging.getLogger(__name__)
SOURCE_STREAMS = (stream_of("agreements"), stream_of("identity"))
REBUILD_CHUNK = 500


def apply_event(session: Session, event: CloudEvent, payload: EventPayload) -> bool:
    """Apply one agreements or identity fact to the read models; False when it changes nothing."""
    agreement = getattr(payload, "agreement", None)
    if isinstance(agreement, AgreementState):
        changed = apply_agreement(session, event.facility, agreement, event.sequence, payload)
        item = getattr(payload, "item", None)
        if isinstance(item, ActionPlanItemState):
            changed |= apply_item(session, agreement.agreement_id, item, event.sequence)
        return changed
    inmate = getattr(payload, "inmate", None)
    if isinstance(inmate, InmateState):
        return apply_inmate(session, inmate, event.sequence)
    return False


def apply_agreement(
    session: Session,
    facility: str,
    state: AgreementState,
    sequence: int,
    payload: EventPayload | None = None,
) -> bool:
    row = session.get(AgreementViewRow, state.agreement_id)
    # the termination date travels only in the termination fact: keep it whatever came later
    terminated_on = payload.terminated_on if isinstance(payload, AgreementTerminated) else None
    if not is_newer(row.sequence if row else None, sequence):
        if row is not None and terminated_on is not None and row.terminated_on is None:
            row.terminated_on = terminated_on
            session.add(row)
            session.flush()
            return True
        return False
    values: dict[str, Any] = {
        "facility": facility,
        "partner_code": state.partner_code,
        "facility_number": state.facility_number,
        "programme_kinds": list(state.programme_kinds),
        "start_date": state.start_date,
        "end_date": state.end_date,
        "status": state.status,
        "terminated_on": terminated_on or (row.terminated_on if row else None),
        "sequence": sequence,
    }
    _upsert(session, row, AgreementViewRow(agreement_id=state.agreement_id, **values), values)
    return True


def apply_item(
    session: Session, agreement_id: str, item: ActionPlanItemState, sequence: int
) -> bool:
    row = session.get(ItemViewRow, item.item_id)
    if not is_newer(row.sequence if row else None, sequence):
        return False
    values: dict[str, Any] = {
        "agreement_id": agreement_id,
        "programme_kind": item.programme_kind,
        "description": item.description,
        "target_quantity": item.target_quantity,
        "unit": item.unit,
        "period_start": item.period_start,
        "period_end": item.period_end,
        "sequence": sequence,
    }
    _upsert(session, row, ItemViewRow(item_id=item.item_id, **values), values)
    return True


def apply_inmate(session: Session, state: InmateState, sequence: int) -> bool:
    row = session.get(InmateViewRow, state.person_id)
    if not is_newer(row.sequence if row else None, sequence):
        return False
    values: dict[str, Any] = {
        "register_number": state.register_number,
        "name": state.name,
        "custody_status": state.custody_status,
        "nik_status": state.nik_status,
        "custody_periods": [p.model_dump(mode="json") for p in state.custody_periods],
        "sequence": sequence,
    }
    _upsert(session, row, InmateViewRow(person_id=state.person_id, **values), values)
    return True


def _upsert(session: Session, row: SQLModel | None, new: SQLModel, values: dict[str, Any]) -> None:
    if row is None:
        row = new
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    session.flush()  # a later event of the same batch must find this row


# --- rebuild --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildReport:
    entries: int
    applied: int
    skipped_invalid: int


async def rebuild_read_models(
    engine: Engine, redis: aioredis.Redis, *, chunk: int = REBUILD_CHUNK
) -> RebuildReport:
    """Clear the read models and replay every entry of the source streams from the start.

    One transaction: readers see the old rows until the rebuilt ones commit. The inbox is
    not involved (a rebuild re-applies facts already applied; the sequence checks decide).
    Only the read models change: no enrolment is exited again, no event is published.
    """
    entries = applied = invalid = 0
    with Session(engine) as session, session.begin():
        await asyncio.to_thread(_clear, session)
        for stream in SOURCE_STREAMS:
            async for batch in _chunks(redis, stream, chunk):
                entries += len(batch)
                counts = await asyncio.to_thread(_apply_batch, session, batch)
                applied += counts[0]
                invalid += counts[1]
    log.info("read models rebuilt from %d entries (%d applied)", entries, applied)
    return RebuildReport(entries, applied, invalid)


def _clear(session: Session) -> None:
    for table in READ_MODEL_TABLES:
        session.execute(delete(table))


async def _chunks(
    redis: aioredis.Redis, stream: str, size: int
) -> AsyncIterator[list[bytes | None]]:
    start = "0"
    while True:
        reply = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await redis.xrange(stream, min=start, max="+", count=size),
        )
        if not reply:
            return
        yield [entry_body(fields) for _, fields in reply]
        if len(reply) < size:
            return
        start = "(" + text(reply[-1][0])


def _apply_batch(session: Session, bodies: Sequence[bytes | None]) -> tuple[int, int]:
    applied = invalid = 0
    for body in bodies:
        if body is None:
            invalid += 1
            continue
        try:
            event, payload = parse_event(body)
        except InvalidEventError:
            invalid += 1
            continue
        applied += apply_event(session, event, payload)
    return applied, invalid
