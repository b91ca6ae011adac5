"""Read models of the agreements and identity streams, and their rebuild from the streams.

State-carrying events: a row takes an event's state only if its sequence is newer than the
one it holds. The same apply function (`apply_events`) serves the live subscribers and a
rebuild, so a replay from the start of the streams ends in the rows the live consumer wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, update
from sqlmodel import Session

from services.programs.orm import (
    READ_MODEL_TABLES,
    AgreementViewRow,
    InmateViewRow,
    ItemViewRow,
    core_table,
)
from shared.events import CloudEvent, EventPayload, InvalidEventError, parse_event
from shared.events.agreements import (
    ActionPlanItemState,
    AgreementState,
    AgreementTerminated,
    RealisationUpdated,
)
from shared.events.identity import InmateState
from shared.messaging import is_newer, stream_of
from shared.messaging.streams import entry_body, text

log = logging.getLogger(__name__)
SOURCE_STREAMS = (stream_of("agreements"), stream_of("identity"))
# A realisation moves only the realised quantity, which no read model here holds: the live
# subscriber and the rebuild both pass over it (the most frequent agreements fact by far).
SKIPPED_TYPES = frozenset({RealisationUpdated.event_type})
REBUILD_CHUNK = 2000


Row = dict[str, Any]
EventPair = tuple[CloudEvent, EventPayload]


def apply_event(session: Session, event: CloudEvent, payload: EventPayload) -> bool:
    """Apply one agreements or identity fact to the read models; False when it changes nothing."""
    return apply_events(session, [(event, payload)]) > 0


def apply_events(session: Session, events: Sequence[EventPair]) -> int:
    """Apply facts in order; returns how many changed something.

    The rows the facts name are read in one query per table, the facts folded over them in
    memory one by one (exactly as if applied one at a time), and the rows that changed
    written back with one INSERT and one UPDATE executemany per table.
    """
    connection = session.connection()
    agreements, items, inmates = _Rows(_AGREEMENTS), _Rows(_ITEMS), _Rows(_INMATES)
    for _, payload in events:
        agreement = _field(payload, "agreement")
        if isinstance(agreement, AgreementState):
            agreements.want(agreement.agreement_id)
            item = _field(payload, "item")
            if isinstance(item, ActionPlanItemState):
                items.want(item.item_id)
            continue
        inmate = _field(payload, "inmate")
        if isinstance(inmate, InmateState):
            inmates.want(inmate.person_id)
    for rows in (agreements, items, inmates):
        rows.load(connection)
    applied = 0
    for event, payload in events:
        agreement = _field(payload, "agreement")
        if isinstance(agreement, AgreementState):
            key = agreement.agreement_id
            changed = agreements.put(
                key, agreement_row(agreements.get(key), event.facility, agreement, event.sequence,
                                   payload)
            )  # fmt: skip
            item = _field(payload, "item")
            if isinstance(item, ActionPlanItemState):
                row = item_row(items.get(item.item_id), key, item, event.sequence)
                changed |= items.put(item.item_id, row)
            applied += changed
            continue
        inmate = _field(payload, "inmate")
        if isinstance(inmate, InmateState):
            row = inmate_row(inmates.get(inmate.person_id), inmate, event.sequence)
            applied += inmates.put(inmate.person_id, row)
    for rows in (agreements, items, inmates):
        rows.write(connection)
    return applied


def _field(payload: EventPayload, name: str) -> object:
    # a model's fields live in its __dict__; getattr on a missing one takes pydantic's slow path
    return payload.__dict__.get(name)


def agreement_row(
    row: Row | None,
    facility: str,
    state: AgreementState,
    sequence: int,
    payload: EventPayload | None = None,
) -> Row | None:
    """The agreement's row after the fact, or None when the fact changes nothing."""
    # the termination date travels only in the termination fact: keep it whatever came later
    terminated_on = payload.terminated_on if isinstance(payload, AgreementTerminated) else None
    if not is_newer(row["sequence"] if row else None, sequence):
        if row is not None and terminated_on is not None and row["terminated_on"] is None:
            return {**row, "terminated_on": terminated_on}
        return None
    return {
        "agreement_id": state.agreement_id,
        "facility": facility,
        "partner_code": state.partner_code,
        "facility_number": state.facility_number,
        "programme_kinds": list(state.programme_kinds),
        "start_date": state.start_date,
        "end_date": state.end_date,
        "status": state.status,
        "terminated_on": terminated_on or (row["terminated_on"] if row else None),
        "sequence": sequence,
    }


def item_row(
    row: Row | None, agreement_id: str, item: ActionPlanItemState, sequence: int
) -> Row | None:
    if not is_newer(row["sequence"] if row else None, sequence):
        return None
    return {
        "item_id": item.item_id,
        "agreement_id": agreement_id,
        "programme_kind": item.programme_kind,
        "description": item.description,
        "target_quantity": item.target_quantity,
        "unit": item.unit,
        "period_start": item.period_start,
        "period_end": item.period_end,
        "sequence": sequence,
        "counts": item.counts,
    }


def inmate_row(row: Row | None, state: InmateState, sequence: int) -> Row | None:
    if not is_newer(row["sequence"] if row else None, sequence):
        return None
    return {
        "person_id": state.person_id,
        "register_number": state.register_number,
        "name": state.name,
        "custody_status": state.custody_status,
        "nik_status": state.nik_status,
        "custody_periods": [p.model_dump(mode="json") for p in state.custody_periods],
        "sequence": sequence,
    }


_AGREEMENTS = core_table(AgreementViewRow)
_ITEMS = core_table(ItemViewRow)
_INMATES = core_table(InmateViewRow)
_KEYS_PER_QUERY = 500
_KEY = "_row_key"


class _Rows:
    """The rows of one read model that a batch of facts names: read once, written once."""

    def __init__(self, table: Table) -> None:
        self._table = table
        (self._key,) = table.primary_key.columns
        self._wanted: dict[str, None] = {}
        self._rows: dict[str, Row | None] = {}
        self._stored: set[str] = set()
        self._changed: dict[str, Row] = {}

    def want(self, key: str) -> None:
        self._wanted[key] = None

    def load(self, connection: Connection) -> None:
        keys = list(self._wanted)
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            query = select(self._table).where(self._key.in_(chunk))
            for found in connection.execute(query).mappings():
                key = found[self._key.name]
                self._rows[key] = dict(found)
                self._stored.add(key)

    def get(self, key: str) -> Row | None:
        return self._rows.get(key)

    def put(self, key: str, row: Row | None) -> bool:
        if row is None:
            return False
        self._rows[key] = self._changed[key] = row
        return True

    def write(self, connection: Connection) -> None:
        new = [row for key, row in self._changed.items() if key not in self._stored]
        known = [{**row, _KEY: key} for key, row in self._changed.items() if key in self._stored]
        if new:
            connection.execute(insert(self._table), new)
        if known:
            # an executemany per set of columns: SET takes the columns the rows name
            statement = update(self._table).where(self._key == bindparam(_KEY))
            for rows in _by_columns(known).values():
                connection.execute(statement, rows)
        self._stored.update(self._changed)
        self._changed.clear()


def _by_columns(rows: Sequence[Row]) -> dict[tuple[str, ...], list[Row]]:
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return groups


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
    Entries are read `chunk` at a time, the next chunk while the current one is applied,
    and each chunk is applied as one batch (`apply_events`).
    """
    entries = applied = invalid = 0
    with Session(engine) as session, session.begin():
        await asyncio.to_thread(_clear, session)
        for stream in SOURCE_STREAMS:
            chunks = _chunks(redis, stream, chunk)
            next_read = asyncio.ensure_future(anext(chunks, None))
            try:
                while (batch := await next_read) is not None:
                    next_read = asyncio.ensure_future(anext(chunks, None))
                    entries += len(batch)
                    counts = await asyncio.to_thread(_apply_batch, session, batch)
                    applied += counts[0]
                    invalid += counts[1]
            finally:
                next_read.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await next_read
                await chunks.aclose()
    log.info("read models rebuilt from %d entries (%d applied)", entries, applied)
    return RebuildReport(entries, applied, invalid)


def _clear(session: Session) -> None:
    connection = session.connection()
    for table in READ_MODEL_TABLES:
        connection.execute(delete(core_table(table)))


async def _chunks(
    redis: aioredis.Redis, stream: str, size: int
) -> AsyncGenerator[list[bytes | None]]:
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
    parsed: list[EventPair] = []
    invalid = 0
    for body in bodies:
        if body is None:
            invalid += 1
            continue
        try:
            event, payload = parse_event(body)
        except InvalidEventError:
            invalid += 1
            continue
        if event.type not in SKIPPED_TYPES:
            parsed.append((event, payload))
    return apply_events(session, parsed), invalid
