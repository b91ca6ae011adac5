"""Loads and saves aggregates; the only place that knows both the domain and the tables.

Updates are guarded by the version loaded: a row changed meanwhile raises ConcurrencyError.
The read models of other services' facts are read here too, as domain values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from functools import cache, lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import Insert, String, bindparam, delete, insert, type_coerce, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, SQLModel, col, select

from services.programs import domain
from services.programs.orm import (
    AgreementViewRow,
    AttendanceRow,
    EnrolmentRow,
    InmateViewRow,
    ItemViewRow,
    OutcomeRow,
    ProgrammeKindRow,
    SaleLineRow,
    SaleRow,
    SessionRow,
    core_table,
)
from shared.persistence.unit_of_work import ConcurrencyError

__all__ = [
    "ConcurrencyError",
    "EnrolmentRepository",
    "KindCatalogue",
    "KnownFacts",
    "OutcomeRepository",
    "SaleRepository",
    "SessionRepository",
]

A = TypeVar("A", domain.ProgrammeSession, domain.Enrolment, domain.Outcome, domain.Sale)


_ATTENDANCE = core_table(AttendanceRow)


@cache
def _insert_into(table: type[SQLModel]) -> Insert:
    """One INSERT per table for the process: SQLAlchemy then derives its cache key once."""
    return insert(core_table(table))


class _Repository(Generic[A]):
    table: type[SQLModel]

    def __init__(self, session: Session) -> None:
        self._session = session
        self.seen: dict[str, tuple[A, int | None]] = {}

    def add(self, aggregate: A) -> None:
        self.seen[aggregate.id] = (aggregate, None)

    def get(self, aggregate_id: str) -> A | None:
        if aggregate_id in self.seen:
            return self.seen[aggregate_id][0]
        row = self._session.get(self.table, aggregate_id)
        return self._track(row) if row is not None else None

    def _track(self, row: Any) -> A:
        if row.id in self.seen:
            return self.seen[row.id][0]
        aggregate = self._load(row)
        self.seen[row.id] = (aggregate, aggregate.version)
        return aggregate

    def _load(self, row: Any) -> A:
        raise NotImplementedError(f"{self.table.__name__} rows are only ever added")

    def flush(self) -> None:
        """Writes what changed with plain statements on the transaction's connection."""
        table = core_table(self.table)
        for aggregate_id, (aggregate, loaded) in list(self.seen.items()):
            if loaded == aggregate.version:
                continue
            values = self._values(aggregate)
            connection = self._session.connection()
            if loaded is None:
                connection.execute(_insert_into(self.table), {**values, "id": aggregate.id})
            else:
                result = connection.execute(
                    update(table)
                    .where(table.c.id == aggregate_id, table.c.version == loaded)
                    .values(**values)
                )
                if result.rowcount != 1:
                    raise ConcurrencyError(f"{aggregate_id} changed since version {loaded}")
            self._flush_children(aggregate, loaded)
            self.seen[aggregate_id] = (aggregate, aggregate.version)

    def _values(self, aggregate: A) -> dict[str, object]:
        raise NotImplementedError

    def _flush_children(self, aggregate: A, loaded: int | None) -> None:
        return None


class SessionRepository(_Repository[domain.ProgrammeSession]):
    table = SessionRow

    def _load(self, row: SessionRow) -> domain.ProgrammeSession:
        attendance = self._session.exec(
            select(AttendanceRow.person_id)
            .where(AttendanceRow.session_id == row.id)
            .order_by(col(AttendanceRow.person_id))
        ).all()
        return domain.ProgrammeSession(
            id=row.id,
            facility=row.facility,
            agreement_id=row.agreement_id,
            partner_code=row.partner_code,
            programme_kind=row.programme_kind,
            unit=row.unit,
            action_plan_item_id=row.action_plan_item_id,
            scheduled_on=row.scheduled_on,
            status=domain.SessionStatus(row.status),
            held_on=row.held_on,
            attendance=tuple(attendance),
            delivered_quantity=row.delivered_quantity,
            cancel_reason=row.cancel_reason,
            version=row.version,
        )

    def _values(self, s: domain.ProgrammeSession) -> dict[str, object]:
        return {
            "facility": s.facility,
            "agreement_id": s.agreement_id,
            "partner_code": s.partner_code,
            "programme_kind": s.programme_kind,
            "unit": s.unit,
            "action_plan_item_id": s.action_plan_item_id,
            "scheduled_on": s.scheduled_on,
            "status": s.status.value,
            "held_on": s.held_on,
            "delivered_quantity": s.delivered_quantity,
            "cancel_reason": s.cancel_reason,
            "version": s.version,
        }

    def _flush_children(self, s: domain.ProgrammeSession, loaded: int | None) -> None:
        connection = self._session.connection()
        if loaded is not None:
            connection.execute(delete(_ATTENDANCE).where(_ATTENDANCE.c.session_id == s.id))
        if s.attendance:
            # one executemany (a multi-row INSERT where the driver allows)
            connection.execute(
                _insert_into(AttendanceRow),
                [{"session_id": s.id, "person_id": person} for person in s.attendance],
            )


class EnrolmentRepository(_Repository[domain.Enrolment]):
    table = EnrolmentRow

    def _load(self, row: EnrolmentRow) -> domain.Enrolment:
        return domain.Enrolment(
            id=row.id,
            facility=row.facility,
            person_id=row.person_id,
            agreement_id=row.agreement_id,
            partner_code=row.partner_code,
            programme_kind=row.programme_kind,
            enrolled_on=row.enrolled_on,
            status=domain.EnrolmentStatus(row.status),
            ended_on=row.ended_on,
            exit_reason=row.exit_reason,
            version=row.version,
        )

    def active_of(self, person_id: str, facility: str | None = None) -> list[domain.Enrolment]:
        query = select(EnrolmentRow).where(
            EnrolmentRow.person_id == person_id,
            EnrolmentRow.status == domain.EnrolmentStatus.ENROLLED.value,
        )
        if facility is not None:
            query = query.where(EnrolmentRow.facility == facility)
        found = [
            self._track(row) for row in self._session.exec(query.order_by(col(EnrolmentRow.id)))
        ]
        # enrolments changed earlier in this transaction count as they are now
        return [e for e in found if e.status is domain.EnrolmentStatus.ENROLLED]

    def _values(self, e: domain.Enrolment) -> dict[str, object]:
        return {
            "facility": e.facility,
            "person_id": e.person_id,
            "agreement_id": e.agreement_id,
            "partner_code": e.partner_code,
            "programme_kind": e.programme_kind,
            "enrolled_on": e.enrolled_on,
            "status": e.status.value,
            "ended_on": e.ended_on,
            "exit_reason": e.exit_reason,
            "version": e.version,
        }


class OutcomeRepository(_Repository[domain.Outcome]):
    """Outcomes are only ever added."""

    table = OutcomeRow

    def of_enrolment(self, enrolment_id: str) -> str | None:
        row = self._session.exec(
            select(OutcomeRow.id).where(OutcomeRow.enrolment_id == enrolment_id)
        ).first()
        pending = [o.id for o, _ in self.seen.values() if o.enrolment_id == enrolment_id]
        return row or (pending[0] if pending else None)

    def _values(self, o: domain.Outcome) -> dict[str, object]:
        return {
            "facility": o.facility,
            "person_id": o.person_id,
            "enrolment_id": o.enrolment_id,
            "agreement_id": o.agreement_id,
            "partner_code": o.partner_code,
            "programme_kind": o.programme_kind,
            "kind": o.kind.value,
            "issued_on": o.issued_on,
            "passed": o.passed,
            "level": o.level,
            "score": o.score,
        }


class SaleRepository(_Repository[domain.Sale]):
    """Sales are only ever added (a wrong sale is corrected by staff outside this service)."""

    table = SaleRow

    def _values(self, s: domain.Sale) -> dict[str, object]:
        return {
            "facility": s.facility,
            "agreement_id": s.agreement_id,
            "partner_code": s.partner_code,
            "sold_on": s.sold_on,
            "buyer_type": s.buyer_type.value,
            "total_idr": s.total_idr,
        }

    def _flush_children(self, s: domain.Sale, loaded: int | None) -> None:
        self._session.connection().execute(
            _insert_into(SaleLineRow),
            [
                {
                    "sale_id": s.id,
                    "position": n,
                    "product": line.product,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "unit_price_idr": line.unit_price_idr,
                    "amount_idr": line.amount_idr,
                }
                for n, line in enumerate(s.lines)
            ],
        )


class KindCatalogue:
    """Programme kinds as seeded at start, read once per process and then kept in memory.

    Only `seed_kinds` writes the kinds, before the service serves; the composition root
    calls `forget` after seeding. A kind not found is not remembered.
    """

    def __init__(self) -> None:
        self._kinds: dict[str, domain.ProgrammeKind] = {}

    def get(self, session: Session, code: str) -> domain.ProgrammeKind | None:
        kind = self._kinds.get(code)
        if kind is None:
            row = session.get(ProgrammeKindRow, code)
            if row is None:
                return None
            kind = self._kinds[code] = kind_from_row(row)
        return kind

    def forget(self) -> None:
        self._kinds.clear()


_AGREEMENTS = core_table(AgreementViewRow)
_ITEMS = core_table(ItemViewRow)
_INMATES = core_table(InmateViewRow)
_PEOPLE_PER_QUERY = 500
# built once: each request only binds its ids
_AGREEMENT_BY_ID = select_columns(_AGREEMENTS).where(_AGREEMENTS.c.agreement_id == bindparam("id"))
_ITEM_BY_ID = select_columns(_ITEMS).where(_ITEMS.c.item_id == bindparam("id"))
# custody periods as the stored JSON text: the same text is parsed once per process
_PEOPLE_BY_ID = select_columns(
    _INMATES.c.person_id,
    _INMATES.c.register_number,
    type_coerce(_INMATES.c.custody_periods, String).label("custody_periods"),
    _INMATES.c.nik_status,
).where(_INMATES.c.person_id.in_(bindparam("ids", expanding=True)))


class KnownFacts:
    """What this service knows of programme kinds, agreements and people (read only).

    Plain column reads, no ORM objects; agreements and items are remembered for the
    transaction, kinds for the process (see KindCatalogue).
    """

    def __init__(self, session: Session, kinds: KindCatalogue | None = None) -> None:
        self._session = session
        self._kinds = kinds or KindCatalogue()
        self._agreements: dict[str, domain.AgreementTerms | None] = {}
        self._items: dict[str, domain.ItemTerms | None] = {}

    def kind(self, code: str) -> domain.ProgrammeKind | None:
        return self._kinds.get(self._session, code)

    def agreement(self, agreement_id: str) -> domain.AgreementTerms | None:
        if agreement_id not in self._agreements:
            row = self._session.connection().execute(_AGREEMENT_BY_ID, {"id": agreement_id}).first()
            self._agreements[agreement_id] = None if row is None else agreement_from_row(row)
        return self._agreements[agreement_id]

    def item(self, item_id: str) -> domain.ItemTerms | None:
        if item_id not in self._items:
            row = self._session.connection().execute(_ITEM_BY_ID, {"id": item_id}).first()
            self._items[item_id] = None if row is None else item_from_row(row)
        return self._items[item_id]

    def person(self, person_id: str) -> domain.Person | None:
        return self.people([person_id]).get(person_id)

    def people(self, person_ids: Sequence[str]) -> dict[str, domain.Person]:
        """The people known here among `person_ids`, by id (one query per 500 of them)."""
        wanted = list(dict.fromkeys(person_ids))
        found: dict[str, domain.Person] = {}
        connection = self._session.connection()
        for start in range(0, len(wanted), _PEOPLE_PER_QUERY):
            chunk = wanted[start : start + _PEOPLE_PER_QUERY]
            for person_id, register_number, periods, nik_status in connection.execute(
                _PEOPLE_BY_ID, {"ids": chunk}
            ):
                found[person_id] = _person(
                    person_id, register_number, _json_text(periods), nik_status
                )
        return found


def _json_text(value: Any) -> str:
    # SQLite hands back the stored text; a driver that decodes JSON itself, an object
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@lru_cache(maxsize=8192)
def _person(
    person_id: str, register_number: str, custody_json: str, nik_status: str
) -> domain.Person:
    """A person as stored; immutable and keyed by every column, so kept for the next request
    (a held session names the same few dozen people again and again)."""
    return domain.Person(
        person_id, register_number, _custody_from(json.loads(custody_json)), nik_status
    )


def agreement_from_row(row: Any) -> domain.AgreementTerms:
    return domain.AgreementTerms(
        agreement_id=row.agreement_id,
        facility=row.facility,
        partner_code=row.partner_code,
        facility_number=row.facility_number,
        programme_kinds=tuple(row.programme_kinds),
        start_date=row.start_date,
        end_date=row.end_date,
        status=row.status,
        terminated_on=row.terminated_on,
    )


def item_from_row(row: Any) -> domain.ItemTerms:
    return domain.ItemTerms(
        row.item_id,
        row.agreement_id,
        row.programme_kind,
        row.period_start,
        row.period_end,
        domain.QuantityRule(row.counts) if row.counts else None,
    )


def person_from_row(row: Any) -> domain.Person:
    return domain.Person(
        person_id=row.person_id,
        register_number=row.register_number,
        custody_periods=_custody_from(row.custody_periods),
        nik_status=row.nik_status,
    )


def _custody_from(periods: list[dict[str, Any]]) -> tuple[domain.Custody, ...]:
    return tuple(
        domain.Custody(
            p["facility"],
            date.fromisoformat(p["since"]),
            date.fromisoformat(p["until"]) if p.get("until") else None,
        )
        for p in periods
    )


def kind_from_row(row: ProgrammeKindRow) -> domain.ProgrammeKind:
    return domain.ProgrammeKind(
        code=row.code,
        label_id=row.label_id,
        label_en=row.label_en,
        unit=row.unit,
        quantity_rule=domain.QuantityRule(row.quantity_rule),
        enrolment=row.enrolment,
        outcome=domain.OutcomeKind(row.outcome) if row.outcome else None,
        enrolment_needs_validated_nik=row.enrolment_needs_validated_nik,
    )
