"""Reads of the dashboard's own database, handed to the views as plain facts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from services.dashboard.orm import AgreementRow, InmateRow, ItemRow, PartnerRow, SessionRow
from services.dashboard.views import IN_CUSTODY, Agreement, Item, NikCount


@dataclass(frozen=True)
class AgreementFacts:
    agreements: list[Agreement]
    partner_names: dict[str, str]
    sessions_held: dict[str, int]


def agreement_facts(engine: Engine, partner: str | None) -> AgreementFacts:
    """Agreements (a partner's own only, when `partner` is given) and what labels them."""
    with Session(engine) as session:
        query = select(AgreementRow)
        if partner is not None:
            query = query.where(col(AgreementRow.partner_code) == partner)
        agreements = [
            Agreement(
                agreement_id=r.agreement_id,
                facility=r.facility,
                partner_code=r.partner_code,
                facility_number=r.facility_number,
                title=r.title,
                start_date=r.start_date,
                end_date=r.end_date,
                status=r.status,
            )
            for r in session.scalars(query)
        ]
        names = {r.code: r.name for r in session.scalars(select(PartnerRow))}
        held = select(col(SessionRow.agreement_id), func.count()).where(
            col(SessionRow.status) == "held"
        )
        sessions_held = {
            agreement_id: int(n)
            for agreement_id, n in session.execute(held.group_by(col(SessionRow.agreement_id)))
        }
    return AgreementFacts(agreements, names, sessions_held)


def items(engine: Engine, partner: str | None) -> list[Item]:
    with Session(engine) as session:
        query = select(ItemRow)
        if partner is not None:
            query = query.where(col(ItemRow.partner_code) == partner)
        return [
            Item(
                item_id=r.item_id,
                agreement_id=r.agreement_id,
                partner_code=r.partner_code,
                programme_kind=r.programme_kind,
                description=r.description,
                target_quantity=r.target_quantity,
                realised_quantity=r.realised_quantity,
                unit=r.unit,
                period_end=r.period_end,
                milestone=r.milestone,
            )
            for r in session.scalars(query)
        ]


def nik_counts(engine: Engine) -> list[NikCount]:
    """People in custody, counted by facility and NIK status in the database."""
    query = (
        select(col(InmateRow.facility), col(InmateRow.nik_status), func.count())
        .where(col(InmateRow.custody_status).in_(IN_CUSTODY))
        .group_by(col(InmateRow.facility), col(InmateRow.nik_status))
    )
    with Session(engine) as session:
        return [
            NikCount(facility, nik_status, int(n))
            for facility, nik_status, n in session.execute(query)
        ]
