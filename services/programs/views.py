"""Read side: queries for the API, reports and the demo, straight from the tables.

Every function takes an engine and keyword filters and returns schema models, so other
entrypoints (reports, the demo, benchmarks) can call them as they are.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from services.programs import domain, schemas
from services.programs.orm import (
    AgreementViewRow,
    AttendanceRow,
    EnrolmentRow,
    InmateViewRow,
    OutcomeRow,
    ProgrammeKindRow,
    SaleLineRow,
    SaleRow,
    SessionRow,
)
from services.programs.repository import kind_from_row


@dataclass(frozen=True)
class SessionFilter:
    today: date
    facility: str | None = None
    partner_code: str | None = None
    agreement_id: str | None = None
    status: domain.SessionStatus | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool | None = None
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class RecordFilter:
    """Filters of enrolments, outcomes and sales."""

    facility: str | None = None
    partner_code: str | None = None
    agreement_id: str | None = None
    person_id: str | None = None
    status: domain.EnrolmentStatus | None = None
    date_from: date | None = None
    date_to: date | None = None
    offset: int = 0
    limit: int = 100


def list_kinds(engine: Engine) -> list[schemas.ProgrammeKindPublic]:
    with Session(engine) as session:
        rows = session.exec(select(ProgrammeKindRow).order_by(col(ProgrammeKindRow.code)))
        return [
            schemas.ProgrammeKindPublic.model_validate(kind_from_row(row), from_attributes=True)
            for row in rows
        ]


def agreement_scope(engine: Engine, agreement_id: str) -> tuple[str, str] | None:
    """(facility, partner code) of an agreement known here."""
    with Session(engine) as session:
        row = session.get(AgreementViewRow, agreement_id)
        return (row.facility, row.partner_code) if row else None


def record_scope(engine: Engine, table: type[Any], record_id: str) -> tuple[str, str] | None:
    """(facility, partner code) of a session, enrolment, outcome or sale."""
    with Session(engine) as session:
        row = session.get(table, record_id)
        return (row.facility, row.partner_code) if row else None


def list_sessions(engine: Engine, f: SessionFilter) -> schemas.SessionsPublic:
    query = select(SessionRow)
    if f.facility:
        query = query.where(SessionRow.facility == f.facility)
    if f.partner_code:
        query = query.where(SessionRow.partner_code == f.partner_code)
    if f.agreement_id:
        query = query.where(SessionRow.agreement_id == f.agreement_id)
    if f.status:
        query = query.where(SessionRow.status == f.status.value)
    day = func.coalesce(SessionRow.held_on, SessionRow.scheduled_on)
    if f.date_from:
        query = query.where(day >= f.date_from)
    if f.date_to:
        query = query.where(day <= f.date_to)
    overdue = (col(SessionRow.status) == domain.SessionStatus.SCHEDULED.value) & (
        col(SessionRow.scheduled_on) < f.today
    )
    if f.overdue is not None:
        query = query.where(overdue if f.overdue else ~overdue)
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(
            query.order_by(col(SessionRow.scheduled_on), col(SessionRow.id))
            .offset(f.offset)
            .limit(f.limit)
        ).all()
        counts = _attendance_counts(session, [row.id for row in rows])
    return schemas.SessionsPublic(
        data=[_session_public(row, counts.get(row.id, 0), f.today) for row in rows], count=count
    )


def get_session(engine: Engine, session_id: str, today: date) -> schemas.SessionDetail | None:
    with Session(engine) as session:
        row = session.get(SessionRow, session_id)
        if row is None:
            return None
        attendees = session.exec(
            select(AttendanceRow.person_id, InmateViewRow.register_number)
            .outerjoin(InmateViewRow, col(InmateViewRow.person_id) == AttendanceRow.person_id)
            .where(AttendanceRow.session_id == session_id)
            .order_by(col(AttendanceRow.person_id))
        ).all()
    public = _session_public(row, len(attendees), today)
    return schemas.SessionDetail(
        **public.model_dump(),
        attendance=[
            schemas.AttendeePublic(person_id=person, register_number=number)
            for person, number in attendees
        ],
    )


def _attendance_counts(session: Session, session_ids: list[str]) -> dict[str, int]:
    if not session_ids:
        return {}
    rows = session.exec(
        select(AttendanceRow.session_id, func.count())
        .where(col(AttendanceRow.session_id).in_(session_ids))
        .group_by(col(AttendanceRow.session_id))
    )
    return {session_id: int(n) for session_id, n in rows}


def _session_public(row: SessionRow, participants: int, today: date) -> schemas.SessionPublic:
    overdue = row.status == domain.SessionStatus.SCHEDULED.value and row.scheduled_on < today
    return schemas.SessionPublic(
        **row.model_dump(), overdue=overdue, participant_count=participants
    )


def _filtered(query: Any, table: Any, f: RecordFilter, day: Any = None) -> Any:
    for name in ("facility", "partner_code", "agreement_id", "person_id"):
        value = getattr(f, name)
        if value and hasattr(table, name):
            query = query.where(getattr(table, name) == value)
    if f.status and hasattr(table, "status"):
        query = query.where(table.status == f.status.value)
    if day is not None and f.date_from:
        query = query.where(day >= f.date_from)
    if day is not None and f.date_to:
        query = query.where(day <= f.date_to)
    return query


def _page(session: Session, query: Any, order: Any, f: RecordFilter) -> tuple[list[Any], int]:
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = list(session.exec(query.order_by(*order).offset(f.offset).limit(f.limit)))
    return rows, int(count)


def list_enrolments(engine: Engine, f: RecordFilter) -> schemas.EnrolmentsPublic:
    query = _filtered(select(EnrolmentRow), EnrolmentRow, f, EnrolmentRow.enrolled_on)
    with Session(engine) as session:
        rows, count = _page(session, query, (EnrolmentRow.enrolled_on, EnrolmentRow.id), f)
    return schemas.EnrolmentsPublic(
        data=[schemas.EnrolmentPublic.model_validate(r.model_dump()) for r in rows], count=count
    )


def list_outcomes(engine: Engine, f: RecordFilter) -> schemas.OutcomesPublic:
    query = _filtered(select(OutcomeRow), OutcomeRow, f, OutcomeRow.issued_on)
    with Session(engine) as session:
        rows, count = _page(session, query, (OutcomeRow.issued_on, OutcomeRow.id), f)
    return schemas.OutcomesPublic(
        data=[schemas.OutcomePublic.model_validate(r.model_dump()) for r in rows], count=count
    )


def list_sales(engine: Engine, f: RecordFilter) -> schemas.SalesPublic:
    query = _filtered(select(SaleRow), SaleRow, f, SaleRow.sold_on)
    with Session(engine) as session:
        rows, count = _page(session, query, (SaleRow.sold_on, SaleRow.id), f)
        lines = session.exec(
            select(SaleLineRow)
            .where(col(SaleLineRow.sale_id).in_([row.id for row in rows]))
            .order_by(col(SaleLineRow.sale_id), col(SaleLineRow.position))
        ).all()
    by_sale: dict[str, list[schemas.SaleLinePublic]] = {}
    for line in lines:
        by_sale.setdefault(line.sale_id, []).append(
            schemas.SaleLinePublic.model_validate(line, from_attributes=True)
        )
    return schemas.SalesPublic(
        data=[
            schemas.SalePublic(**row.model_dump(), lines=by_sale.get(row.id, [])) for row in rows
        ],
        count=count,
    )


def month_bounds(period: str) -> tuple[date, date]:
    """`YYYY-MM` to its first and last day."""
    first = date.fromisoformat(f"{period}-01")
    # monthrange, not "first day of the next month": there is no month after 9999-12
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def sales_report(
    engine: Engine, *, period: str, facility: str | None, partner_code: str | None
) -> schemas.SalesReport:
    """Totals of one month's sales: overall, per partner, per buyer type and per product."""
    first, last = month_bounds(period)
    f = RecordFilter(facility=facility, partner_code=partner_code, date_from=first, date_to=last)
    sales = _filtered(select(SaleRow), SaleRow, f, SaleRow.sold_on).subquery()
    with Session(engine) as session:

        def totals(column: Any) -> list[schemas.SalesTotal]:
            rows = session.exec(
                select(column, func.count(), func.sum(sales.c.total_idr))
                .group_by(column)
                .order_by(column)
            )
            return [schemas.SalesTotal(key=k, sales=n, total_idr=int(t or 0)) for k, n, t in rows]

        by_partner = totals(sales.c.partner_code)
        by_buyer = totals(sales.c.buyer_type)
        products = session.exec(
            select(
                SaleLineRow.product,
                SaleLineRow.unit,
                func.sum(SaleLineRow.quantity),
                func.sum(SaleLineRow.amount_idr),
            )
            .join(sales, sales.c.id == SaleLineRow.sale_id)
            .group_by(col(SaleLineRow.product), col(SaleLineRow.unit))
            .order_by(col(SaleLineRow.product), col(SaleLineRow.unit))
        ).all()
    return schemas.SalesReport(
        period=period,
        partner_code=partner_code,
        sales=sum(t.sales for t in by_partner),
        total_idr=sum(t.total_idr for t in by_partner),
        by_partner=by_partner,
        by_buyer_type=by_buyer,
        by_product=[
            schemas.ProductTotal(product=p, unit=u, quantity=int(q), total_idr=int(t))
            for p, u, q, t in products
        ],
    )
