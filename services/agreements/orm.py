"""Tables of the agreements service (SQLModel). The domain never sees these classes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.messaging.tables import InboxMessage, OutboxMessage
from shared.persistence.metadata import own_metadata


class PartnerRow(SQLModel, table=True):
    __tablename__ = "partner"
    __table_args__ = (UniqueConstraint("facility", "code", name="uq_partner_facility_code"),)

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64, index=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=255)
    kind: str = Field(max_length=32)
    sectors: list[str] = Field(sa_column=Column(JSON, nullable=False))
    version: int


class AgreementRow(SQLModel, table=True):
    __tablename__ = "agreement"
    __table_args__ = (
        Index("ix_agreement_facility_status", "facility", "status"),
        Index("ix_agreement_partner", "partner_id"),
        Index("ix_agreement_end_date", "end_date"),
    )

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    partner_id: str = Field(sa_column=Column(String(36), ForeignKey("partner.id"), nullable=False))
    partner_code: str = Field(max_length=64)
    facility_number: str = Field(max_length=128)
    partner_number: str = Field(max_length=128)
    title: str = Field(max_length=500)
    programme_kinds: list[str] = Field(sa_column=Column(JSON, nullable=False))
    start_date: date
    end_date: date
    status: str = Field(max_length=16)
    signed_on: date | None = None
    signatories: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    renews: str | None = Field(default=None, max_length=36)
    gap_days: int | None = None
    renewed_by: str | None = Field(default=None, max_length=36)
    termination_reason: str | None = Field(default=None, max_length=1000)
    terminated_on: date | None = None
    version: int


class AmendmentRow(SQLModel, table=True):
    __tablename__ = "amendment"

    agreement_id: str = Field(
        sa_column=Column(String(36), ForeignKey("agreement.id"), primary_key=True)
    )
    number: int = Field(primary_key=True)
    rationale: str = Field(max_length=2000)
    effective_on: date
    changes: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))


class ActionPlanItemRow(SQLModel, table=True):
    __tablename__ = "action_plan_item"

    id: str = Field(primary_key=True, max_length=36)
    agreement_id: str = Field(
        sa_column=Column(String(36), ForeignKey("agreement.id"), nullable=False, index=True)
    )
    position: int
    programme_kind: str = Field(max_length=64)
    description: str = Field(max_length=1000)
    target_quantity: int
    unit: str = Field(max_length=64)
    period_start: date
    period_end: date
    responsible: str = Field(max_length=16)
    milestone: str = Field(max_length=16)
    counts: str | None = Field(default=None, max_length=16)  # None: as the kind counts
    # the sum of the item's realisation ledger, kept with it in the same transaction
    realised_quantity: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class RealisationRow(SQLModel, table=True):
    """One programme session's contribution to an item: replaced by newer facts of it."""

    __tablename__ = "realisation"

    session_id: str = Field(primary_key=True, max_length=64)
    item_id: str = Field(
        sa_column=Column(String(36), ForeignKey("action_plan_item.id"), nullable=False, index=True)
    )
    quantity: int
    held_on: date
    sequence: int


class DocumentRow(SQLModel, table=True):
    __tablename__ = "document"

    agreement_id: str = Field(
        sa_column=Column(String(36), ForeignKey("agreement.id"), primary_key=True)
    )
    sha256: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    media_type: str = Field(max_length=127)
    size_bytes: int
    attached_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


TABLES = (
    PartnerRow,
    AgreementRow,
    AmendmentRow,
    ActionPlanItemRow,
    RealisationRow,
    DocumentRow,
    OutboxMessage,
    InboxMessage,
)
metadata = own_metadata(TABLES)
