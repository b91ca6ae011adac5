"""The legal basis of every registry call: an agreement in force covering NIK matching.

Kept as a read model of the agreements stream (state-carrying events, sequence-checked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from services.identity.orm import LegalBasisRow
from shared.events.agreements import AgreementState
from shared.messaging import is_newer

MATCHING_KIND = "nik_matching"
IN_FORCE = ("signed", "active", "expiring")


@dataclass(frozen=True)
class LegalBasis:
    agreement_id: str
    facility_number: str
    partner_code: str


class NoLegalBasisError(Exception):
    """No agreement in force with the civil registry covers matching: no call may be made."""


def apply_agreement(session: Session, facility: str, state: AgreementState, sequence: int) -> bool:
    row = session.get(LegalBasisRow, state.agreement_id)
    if not is_newer(row.sequence if row else None, sequence):
        return False
    values: dict[str, Any] = {
        "facility": facility,
        "partner_code": state.partner_code,
        "facility_number": state.facility_number,
        "programme_kinds": list(state.programme_kinds),
        "status": state.status,
        "start_date": state.start_date,
        "end_date": state.end_date,
        "sequence": sequence,
    }
    if row is None:
        row = LegalBasisRow(agreement_id=state.agreement_id, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    session.flush()  # a later event of the same batch must find this row
    return True


def legal_basis(session: Session, facility: str, on: date) -> LegalBasis:
    rows = session.exec(
        select(LegalBasisRow).where(
            col(LegalBasisRow.facility) == facility,
            col(LegalBasisRow.status).in_(IN_FORCE),
            col(LegalBasisRow.start_date) <= on,
            col(LegalBasisRow.end_date) >= on,
        )
    ).all()
    for row in sorted(rows, key=lambda r: r.end_date, reverse=True):
        if MATCHING_KIND in row.programme_kinds:
            return LegalBasis(row.agreement_id, row.facility_number, row.partner_code)
    raise NoLegalBasisError(
        f"no agreement in force at {facility} on {on} covers NIK matching with the civil registry"
    )
