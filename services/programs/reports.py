"""Reports of the programs service: realisation against targets, participation, sessions due.

- **Realisation** counts, per action-plan item known from the agreements stream, the
  delivered quantity of this service's *held* sessions on that item whose date lies in the
  item's period. With `month=YYYY-MM` the report is "as of that month": the month's own
  figure and the total up to its last day; without it, every month with deliveries and the
  total of the period. One table row per item and month (an item with nothing delivered
  still has one row), in JSON, CSV (UTF-8) or XLSX, with headers in Bahasa Indonesia
  (default) or English (`lang=en`).
- **Participation** of a person (sessions attended, enrolments, certificates and exam
  results) serves parole and remission assessments, which the facility makes: staff and
  auditors only. A partner agency gets 403 even for its own sessions; it already sees its
  own attendance through `/sessions/{id}`, and a person's history across partners is not
  its business.
- **Sessions due**: scheduled sessions within the next `days` days (upcoming) and scheduled
  sessions dated before today (overdue, never recorded), grouped by partner.

Partner keys see only their own partner, keys bound to a facility only that facility.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from openpyxl import Workbook
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.programs import domain, schemas, views
from services.programs.container import Container
from services.programs.orm import (
    AgreementViewRow,
    AttendanceRow,
    EnrolmentRow,
    InmateViewRow,
    ItemViewRow,
    OutcomeRow,
    SessionRow,
)
from shared.http.auth import Principal, Role
from shared.http.problems import Problem, problem_responses

MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"  # year 1000 on: a date exists
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READERS = frozenset({Role.STAFF, Role.AUDITOR})

Lang = Literal["id", "en"]
Format = Literal["json", "csv", "xlsx"]

# column key -> (Bahasa Indonesia, English)
REALISATION_COLUMNS: dict[str, tuple[str, str]] = {
    "partner_code": ("Mitra", "Partner"),
    "facility_number": ("Nomor PKS", "Agreement number"),
    "item_id": ("ID Kegiatan", "Item ID"),
    "programme_kind": ("Jenis Program", "Programme kind"),
    "description": ("Kegiatan", "Activity"),
    "unit": ("Satuan", "Unit"),
    "target": ("Target", "Target"),
    "month": ("Bulan", "Month"),
    "realised_in_month": ("Realisasi Bulan Ini", "Realised in month"),
    "realised": ("Realisasi", "Realised"),
    "percent": ("Persentase", "Percent"),
}


# --- queries --------------------------------------------------------------------------------


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _percent(realised: int, target: int | None) -> float | None:
    return round(100.0 * realised / target, 1) if target else None


def realisation_report(
    engine: Engine,
    *,
    facility: str | None,
    partner_code: str | None,
    agreement_id: str | None,
    month: str | None,
) -> schemas.RealisationReport:
    """Every known action-plan item against its target, from the held sessions on it."""
    query = select(ItemViewRow, AgreementViewRow).join(
        AgreementViewRow, col(AgreementViewRow.agreement_id) == ItemViewRow.agreement_id
    )
    if facility:
        query = query.where(AgreementViewRow.facility == facility)
    if partner_code:
        query = query.where(AgreementViewRow.partner_code == partner_code)
    if agreement_id:
        query = query.where(ItemViewRow.agreement_id == agreement_id)
    month_end = views.month_bounds(month)[1] if month else None
    with Session(engine) as session:
        pairs = session.exec(
            query.order_by(
                col(AgreementViewRow.partner_code),
                col(AgreementViewRow.facility_number),
                col(ItemViewRow.period_start),
                col(ItemViewRow.item_id),
            )
        ).all()
        item_ids = [item.item_id for item, _ in pairs]
        held = (
            session.exec(
                select(
                    col(SessionRow.action_plan_item_id),
                    col(SessionRow.held_on),
                    col(SessionRow.delivered_quantity),
                ).where(
                    col(SessionRow.action_plan_item_id).in_(item_ids),
                    SessionRow.status == domain.SessionStatus.HELD.value,
                )
            ).all()
            if item_ids
            else []
        )
    by_item: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    periods = {item.item_id: (item.period_start, item.period_end) for item, _ in pairs}
    for item_id, held_on, quantity in held:
        if item_id is None or held_on is None:
            continue
        start, end = periods[item_id]
        if start <= held_on <= end and (month_end is None or held_on <= month_end):
            by_item[item_id][_month(held_on)] += quantity
    items = []
    for item, agreement in pairs:
        per_month = by_item.get(item.item_id, {})
        realised = sum(per_month.values())
        target = item.target_quantity
        months = [month] if month else sorted(per_month)
        items.append(
            schemas.RealisationItem(
                partner_code=agreement.partner_code,
                agreement_id=agreement.agreement_id,
                facility_number=agreement.facility_number,
                item_id=item.item_id,
                programme_kind=item.programme_kind,
                description=item.description,
                unit=item.unit,
                period_start=item.period_start,
                period_end=item.period_end,
                target=target,
                realised=realised,
                percent=_percent(realised, target),
                months=[
                    schemas.RealisationMonth(month=m, realised=per_month.get(m, 0)) for m in months
                ],
            )
        )
    return schemas.RealisationReport(
        month=month, agreement_id=agreement_id, partner_code=partner_code, items=items
    )


def realisation_table(
    report: schemas.RealisationReport, lang: Lang
) -> tuple[list[str], list[list[str | int | float | None]]]:
    """Headers and rows: one row per item and month (one row for an item with no months)."""
    index = 0 if lang == "id" else 1
    headers = [labels[index] for labels in REALISATION_COLUMNS.values()]
    rows: list[list[str | int | float | None]] = []
    for item in report.items:
        months: list[schemas.RealisationMonth | None] = [*item.months] or [None]
        for m in months:
            values: dict[str, str | int | float | None] = {
                "partner_code": item.partner_code,
                "facility_number": item.facility_number,
                "item_id": item.item_id,
                "programme_kind": item.programme_kind,
                "description": item.description,
                "unit": item.unit,
                "target": item.target,
                "month": m.month if m else None,
                "realised_in_month": m.realised if m else 0,
                "realised": item.realised,
                "percent": item.percent,
            }
            rows.append([values[key] for key in REALISATION_COLUMNS])
    return headers, rows


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[str | int | float | None]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def to_xlsx(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[str | int | float | None]]
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def participation(
    engine: Engine, person_id: str, *, facility: str | None
) -> schemas.Participation | None:
    """Held sessions attended, enrolments and outcomes of one person; None if unknown here."""
    with Session(engine) as session:
        person = session.get(InmateViewRow, person_id)
        attended = select(SessionRow).join(
            AttendanceRow, col(AttendanceRow.session_id) == SessionRow.id
        )
        attended = attended.where(
            AttendanceRow.person_id == person_id,
            SessionRow.status == domain.SessionStatus.HELD.value,
        )
        enrolments = select(EnrolmentRow).where(EnrolmentRow.person_id == person_id)
        outcomes = select(OutcomeRow).where(OutcomeRow.person_id == person_id)
        if facility:
            attended = attended.where(SessionRow.facility == facility)
            enrolments = enrolments.where(EnrolmentRow.facility == facility)
            outcomes = outcomes.where(OutcomeRow.facility == facility)
        sessions = session.exec(
            attended.order_by(col(SessionRow.held_on), col(SessionRow.id))
        ).all()
        enrolled = session.exec(
            enrolments.order_by(col(EnrolmentRow.enrolled_on), col(EnrolmentRow.id))
        ).all()
        issued = session.exec(
            outcomes.order_by(col(OutcomeRow.issued_on), col(OutcomeRow.id))
        ).all()
    if person is None and not (sessions or enrolled or issued):
        return None
    return schemas.Participation(
        person_id=person_id,
        register_number=person.register_number if person else None,
        name=person.name if person else None,
        custody_status=person.custody_status if person else None,
        sessions=[
            schemas.AttendedSession(
                session_id=s.id,
                held_on=s.held_on or s.scheduled_on,
                programme_kind=s.programme_kind,
                partner_code=s.partner_code,
                agreement_id=s.agreement_id,
                facility=s.facility,
            )
            for s in sessions
        ],
        enrolments=[schemas.EnrolmentPublic.model_validate(e.model_dump()) for e in enrolled],
        outcomes=[schemas.OutcomePublic.model_validate(o.model_dump()) for o in issued],
    )


@dataclass(frozen=True)
class DueFilter:
    today: date
    days: int
    facility: str | None = None
    partner_code: str | None = None


def sessions_due(engine: Engine, f: DueFilter) -> schemas.SessionsDueReport:
    """Scheduled sessions up to `days` ahead, and those left unrecorded in the past."""
    until = f.today + timedelta(days=f.days)
    query = select(SessionRow).where(
        SessionRow.status == domain.SessionStatus.SCHEDULED.value,
        col(SessionRow.scheduled_on) <= until,
    )
    if f.facility:
        query = query.where(SessionRow.facility == f.facility)
    if f.partner_code:
        query = query.where(SessionRow.partner_code == f.partner_code)
    with Session(engine) as session:
        rows = session.exec(
            query.order_by(
                col(SessionRow.partner_code), col(SessionRow.scheduled_on), col(SessionRow.id)
            )
        ).all()
    partners: dict[str, schemas.PartnerSessionsDue] = {}
    for row in rows:
        entry = partners.setdefault(
            row.partner_code,
            schemas.PartnerSessionsDue(partner_code=row.partner_code, upcoming=[], overdue=[]),
        )
        overdue = row.scheduled_on < f.today
        public = schemas.SessionPublic(**row.model_dump(), overdue=overdue, participant_count=0)
        (entry.overdue if overdue else entry.upcoming).append(public)
    return schemas.SessionsDueReport(today=f.today, until=until, partners=list(partners.values()))


# --- HTTP -----------------------------------------------------------------------------------


def build_router(c: Container) -> APIRouter:
    """The report endpoints, under the same keys and scoping as the rest of the API."""
    router = APIRouter(tags=["reports"], responses=problem_responses(401, 403, 404, 422))
    CurrentPrincipal = Annotated[Principal, Depends(c.principal)]

    def own_partner(principal: Principal, partner: str | None) -> str | None:
        if principal.role is not Role.PARTNER:
            return partner
        if partner is not None and partner != principal.partner:
            raise Problem(404, "Not Found", f"partner {partner} not found")
        return principal.partner

    def reader(principal: CurrentPrincipal) -> Principal:
        if principal.role not in READERS:
            raise Problem(
                403,
                "Forbidden",
                f"role {principal.role.value} may not read a person's participation history",
            )
        return principal

    Partner = Annotated[str | None, Query(alias="partner", description="Partner code.")]

    @router.get(
        "/reports/realisation",
        responses={200: {"content": {"text/csv": {}, XLSX_TYPE: {}}}},
    )
    def realisation(
        principal: CurrentPrincipal,
        agreement_id: str | None = None,
        partner: Partner = None,
        month: Annotated[
            str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM: as of that month.")
        ] = None,
        format: Format = "json",
        lang: Lang = "id",
    ) -> Response:
        """Realisation of every action-plan item against its target, per month and in total."""
        partner_code = own_partner(principal, partner)
        if agreement_id is not None:
            scope = views.agreement_scope(c.engine, agreement_id)
            if scope is None or not (
                principal.sees_partner(scope[1]) and principal.facility in (None, scope[0])
            ):
                raise Problem(404, "Not Found", f"agreement {agreement_id} not found")
        report = realisation_report(
            c.engine,
            facility=principal.facility,
            partner_code=partner_code,
            agreement_id=agreement_id,
            month=month,
        )
        if format == "json":
            return JSONResponse(report.model_dump(mode="json"))
        headers, rows = realisation_table(report, lang)
        stem = ("realisasi" if lang == "id" else "realisation") + (f"-{month}" if month else "")
        if format == "csv":
            body, media_type = to_csv(headers, rows), CSV_TYPE
        else:
            body, media_type = to_xlsx(stem, headers, rows), XLSX_TYPE
        return Response(
            body,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{stem}.{format}"'},
        )

    @router.get("/people/{person_id}/participation")
    def person_participation(
        person_id: str, principal: Annotated[Principal, Depends(reader)]
    ) -> schemas.Participation:
        """Sessions attended, enrolments and outcomes of a person (parole, remission)."""
        found = participation(c.engine, person_id, facility=principal.facility)
        if found is None:
            raise Problem(404, "Not Found", f"person {person_id} not found")
        return found

    @router.get("/reports/sessions-due")
    def due(
        principal: CurrentPrincipal,
        partner: Partner = None,
        days: Annotated[int, Query(ge=0, le=366)] = 30,
    ) -> schemas.SessionsDueReport:
        """Sessions scheduled within `days` days (upcoming) or in the past, unrecorded (overdue)."""
        return sessions_due(
            c.engine,
            DueFilter(
                today=c.today(),
                days=days,
                facility=principal.facility,
                partner_code=own_partner(principal, partner),
            ),
        )

    return router
