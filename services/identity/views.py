"""Read side of the identity service: lists and reports straight from the tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from services.identity import domain, schemas
from services.identity.names import canonical_name
from services.identity.orm import (
    AccessAuditRow,
    DuplicateFlagRow,
    ImportRowResultRow,
    ImportRunRow,
    InmateRow,
)


@dataclass(frozen=True)
class InmateFilter:
    facility: str | None = None
    custody_status: domain.CustodyStatus | None = None
    nik_statuses: tuple[domain.NikStatus, ...] = ()
    in_custody_only: bool = False
    name: str | None = None
    offset: int = 0
    limit: int = 100


def public(row: InmateRow) -> schemas.InmatePublic:
    return schemas.InmatePublic(
        id=row.id,
        facility=row.facility,
        register_number=row.register_number,
        category=domain.Category(row.category),
        custody_status=domain.CustodyStatus(row.custody_status),
        name=row.name,
        aliases=row.aliases,
        sex=domain.Sex(row.sex),
        birth_place=row.birth_place,
        birth_date=row.birth_date,
        mother_name=row.mother_name,
        address=row.address,
        admission_date=row.admission_date,
        custody_periods=[
            schemas.CustodyPeriodPublic.model_validate(p) for p in row.custody_periods
        ],
        nik_masked=row.nik_masked,
        nik_status=domain.NikStatus(row.nik_status),
        nik_problems=row.nik_problems,
        last_match=schemas.MatchPublic.model_validate(row.last_match) if row.last_match else None,
        review_note=row.review_note,
        version=row.version,
    )


def list_inmates(engine: Engine, f: InmateFilter) -> schemas.InmatesPublic:
    query = select(InmateRow)
    if f.facility:
        query = query.where(col(InmateRow.facility) == f.facility)
    if f.custody_status:
        query = query.where(col(InmateRow.custody_status) == f.custody_status.value)
    if f.in_custody_only:
        query = query.where(col(InmateRow.custody_status).in_(["detainee", "convict"]))
    if f.nik_statuses:
        query = query.where(col(InmateRow.nik_status).in_([s.value for s in f.nik_statuses]))
    if f.name:
        query = query.where(col(InmateRow.canonical_name).contains(canonical_name(f.name)))
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(
            query.order_by(col(InmateRow.register_number)).offset(f.offset).limit(f.limit)
        ).all()
        return schemas.InmatesPublic(data=[public(row) for row in rows], count=count)


def get_inmate(engine: Engine, person_id: str) -> schemas.InmatePublic | None:
    with Session(engine) as session:
        row = session.get(InmateRow, person_id)
        return public(row) if row else None


def facility_of(engine: Engine, person_id: str) -> str | None:
    with Session(engine) as session:
        row = session.get(InmateRow, person_id)
        return row.facility if row else None


def status_counts(engine: Engine, facility: str) -> schemas.StatusCounts:
    with Session(engine) as session:
        rows = session.exec(
            select(InmateRow.nik_status, func.count())
            .where(col(InmateRow.facility) == facility)
            .where(col(InmateRow.custody_status).in_(["detainee", "convict"]))
            .group_by(col(InmateRow.nik_status))
        ).all()
    return schemas.StatusCounts(facility=facility, counts=dict(rows))


def duplicates(
    engine: Engine, facility: str | None, status: str = "open"
) -> list[schemas.DuplicatePublic]:
    query = select(DuplicateFlagRow).where(col(DuplicateFlagRow.status) == status)
    if facility:
        people = select(InmateRow.id).where(col(InmateRow.facility) == facility)
        query = query.where(col(DuplicateFlagRow.person_id).in_(people))
    with Session(engine) as session:
        return [
            schemas.DuplicatePublic.model_validate(row, from_attributes=True)
            for row in session.exec(query.order_by(col(DuplicateFlagRow.id)))
        ]


def import_report(engine: Engine, run_id: str) -> schemas.ImportReportPublic | None:
    with Session(engine) as session:
        run = session.get(ImportRunRow, run_id)
        if run is None:
            return None
        rows = session.exec(
            select(ImportRowResultRow)
            .where(col(ImportRowResultRow.run_id) == run_id)
            .order_by(col(ImportRowResultRow.row_number))
        ).all()
        return schemas.ImportReportPublic(
            id=run.id,
            file_name=run.file_name,
            counts=run.counts,
            rows=[
                schemas.ImportRowPublic(
                    row=r.row_number, outcome=r.outcome, reason=r.reason, person_id=r.person_id
                )
                for r in rows
            ],
        )


def usage_report(engine: Engine, facility: str, start: date, end: date) -> schemas.UsageReport:
    """Accesses per agreement, action and purpose: the semester report the registry asks for."""
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    with Session(engine) as session:
        rows = session.execute(
            sa_select(
                col(AccessAuditRow.agreement_id),
                col(AccessAuditRow.action),
                col(AccessAuditRow.purpose),
                func.count(),
                func.sum(col(AccessAuditRow.items)),
            )
            .where(
                col(AccessAuditRow.facility) == facility,
                col(AccessAuditRow.at) >= since,
                col(AccessAuditRow.at) < until,
            )
            .group_by(
                col(AccessAuditRow.agreement_id),
                col(AccessAuditRow.action),
                col(AccessAuditRow.purpose),
            )
            .order_by(col(AccessAuditRow.action))
        ).all()
    return schemas.UsageReport(
        facility=facility,
        period_start=start,
        period_end=end,
        rows=[
            schemas.UsageRow(
                agreement_id=a, action=act, purpose=p, accesses=n, items=int(items or 0)
            )
            for a, act, p, n, items in rows
        ],
    )
