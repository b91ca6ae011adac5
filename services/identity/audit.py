"""The access audit: every NIK read and every registry call, with who, why and on what basis."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import insert
from sqlmodel import Session

from services.identity.orm import AccessAuditRow


class Access(StrEnum):
    READ_NIK = "read_nik"
    RECORD_NIK = "record_nik"
    MATCHING_CALL = "matching_call"
    RESYNC_CALL = "resync_call"


def record_access(
    session: Session,
    *,
    facility: str,
    actor: str,
    action: Access,
    purpose: str,
    agreement_id: str | None = None,
    person_id: str | None = None,
    items: int = 1,
) -> None:
    session.execute(
        insert(AccessAuditRow),
        [
            {
                "at": datetime.now(UTC),
                "facility": facility,
                "actor": actor,
                "action": action.value,
                "purpose": purpose,
                "agreement_id": agreement_id,
                "person_id": person_id,
                "items": items,
            }
        ],
    )
