"""Read side: queries for the API, straight from the tables (no aggregate loading for lists)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from services.agreements import domain, schemas
from services.agreements.orm import ActionPlanItemRow, AgreementRow, PartnerRow
from services.agreements.repository import AgreementRepository


@dataclass(frozen=True)
class AgreementFilter:
    facility: str | None = None
    status: domain.AgreementStatus | None = None
    partner_code: str | None = None
    expiring_within_days: int | None = None
    today: date | None = None
    offset: int = 0
    limit: int = 100


def list_partners(
    engine: Engine, facility: str | None, partner_code: str | None
) -> list[schemas.PartnerPublic]:
    with Session(engine) as session:
        query = select(PartnerRow).order_by(PartnerRow.code)
        if facility:
            query = query.where(PartnerRow.facility == facility)
        if partner_code:
            query = query.where(PartnerRow.code == partner_code)
        return [
            schemas.PartnerPublic.model_validate(row, from_attributes=True)
            for row in session.exec(query)
        ]


def get_partner(engine: Engine, partner_id: str) -> schemas.PartnerPublic | None:
    with Session(engine) as session:
        row = session.get(PartnerRow, partner_id)
        return schemas.PartnerPublic.model_validate(row, from_attributes=True) if row else None


def list_agreements(engine: Engine, f: AgreementFilter) -> schemas.AgreementsPublic:
    with Session(engine) as session:
        query = select(AgreementRow)
        if f.facility:
            query = query.where(AgreementRow.facility == f.facility)
        if f.status:
            query = query.where(AgreementRow.status == f.status.value)
        if f.partner_code:
            query = query.where(AgreementRow.partner_code == f.partner_code)
        if f.expiring_within_days is not None and f.today is not None:
            horizon = f.today + timedelta(days=f.expiring_within_days)
            query = query.where(
                col(AgreementRow.status).in_([s.value for s in domain.IN_FORCE]),
                AgreementRow.end_date >= f.today,
                AgreementRow.end_date <= horizon,
            )
        count = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(
            query.order_by(col(AgreementRow.end_date), col(AgreementRow.facility_number))
            .offset(f.offset)
            .limit(f.limit)
        )
        return schemas.AgreementsPublic(
            data=[schemas.AgreementPublic.model_validate(_public(row)) for row in rows], count=count
        )


def agreement_detail(engine: Engine, agreement_id: str) -> schemas.AgreementDetail | None:
    with Session(engine) as session:
        agreement = AgreementRepository(session).get(agreement_id)
        if agreement is None:
            return None
        return schemas.AgreementDetail(
            **_public_of(agreement),
            signatories=[
                schemas.SignatoryPublic(party=s.party, name=s.name, position=s.position)
                for s in agreement.signatories
            ],
            amendments=[
                schemas.AmendmentPublic(
                    number=a.number,
                    rationale=a.rationale,
                    effective_on=a.effective_on,
                    changes=a.changes,
                )
                for a in agreement.amendments
            ],
            action_plan=[_item_public(item) for item in agreement.action_plan],
            documents=[
                schemas.DocumentPublic(
                    name=d.name, media_type=d.media_type, sha256=d.sha256, size_bytes=d.size_bytes
                )
                for d in agreement.documents
            ],
        )


def agreement_partner_code(engine: Engine, agreement_id: str) -> str | None:
    with Session(engine) as session:
        row = session.get(AgreementRow, agreement_id)
        return row.partner_code if row else None


def realisation_report(
    engine: Engine,
    *,
    facility: str | None,
    agreement_id: str | None,
    partner_code: str | None,
) -> schemas.RealisationReport:
    query = (
        select(AgreementRow, ActionPlanItemRow, col(ActionPlanItemRow.realised_quantity))
        .join(ActionPlanItemRow, col(ActionPlanItemRow.agreement_id) == AgreementRow.id)
        .order_by(
            col(AgreementRow.partner_code),
            col(AgreementRow.start_date),
            col(ActionPlanItemRow.position),
        )
    )
    if facility:
        query = query.where(AgreementRow.facility == facility)
    if agreement_id:
        query = query.where(AgreementRow.id == agreement_id)
    if partner_code:
        query = query.where(AgreementRow.partner_code == partner_code)
    with Session(engine) as session:
        rows = [
            schemas.RealisationRow(
                facility=agreement.facility,
                partner_code=agreement.partner_code,
                agreement_id=agreement.id,
                facility_number=agreement.facility_number,
                agreement_status=domain.AgreementStatus(agreement.status),
                item_id=item.id,
                programme_kind=item.programme_kind,
                description=item.description,
                unit=item.unit,
                period_start=item.period_start,
                period_end=item.period_end,
                target_quantity=item.target_quantity,
                realised_quantity=int(quantity),
                progress_percent=_percent(int(quantity), item.target_quantity),
                milestone=domain.MilestoneStatus(item.milestone),
            )
            for agreement, item, quantity in session.exec(query)
        ]
    return schemas.RealisationReport(rows=rows)


def _percent(realised: int, target: int) -> float:
    return round(100.0 * realised / target, 1) if target else 0.0


def _public(row: AgreementRow) -> dict[str, object]:
    return row.model_dump()


def _public_of(agreement: domain.Agreement) -> dict[str, object]:
    return {
        "id": agreement.id,
        "facility": agreement.facility,
        "partner_id": agreement.partner_id,
        "partner_code": agreement.partner_code,
        "facility_number": agreement.facility_number,
        "partner_number": agreement.partner_number,
        "title": agreement.title,
        "programme_kinds": list(agreement.programme_kinds),
        "start_date": agreement.period.start,
        "end_date": agreement.period.end,
        "status": agreement.status,
        "signed_on": agreement.signed_on,
        "renews": agreement.renews,
        "renewed_by": agreement.renewed_by,
        "gap_days": agreement.gap_days,
        "termination_reason": agreement.termination_reason,
        "terminated_on": agreement.terminated_on,
        "version": agreement.version,
    }


def _item_public(item: domain.ActionPlanItem) -> schemas.ActionPlanItemPublic:
    return schemas.ActionPlanItemPublic(
        id=item.id,
        programme_kind=item.programme_kind,
        description=item.description,
        target_quantity=item.target_quantity,
        unit=item.unit,
        period_start=item.period.start,
        period_end=item.period.end,
        responsible=item.responsible,
        counts=item.counts,
        realised_quantity=item.realised_quantity,
        milestone=item.milestone,
        progress_percent=_percent(item.realised_quantity, item.target_quantity),
    )
