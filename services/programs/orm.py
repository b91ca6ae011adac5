"""Tables of the programs service (SQLModel). The domain never sees these classes.

Three tables are read models of other services' streams (`agreement_view`,
`action_plan_item_view`, `inmate_view`): written only by `read_models.py`, rebuildable.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, String, Table
from sqlmodel import Field, SQLModel

from shared.messaging.tables import InboxMessage, OutboxMessage
from shared.persistence.metadata import own_metadata


class ProgrammeKindRow(SQLModel, table=True):
    __tablename__ = "programme_kind"

    code: str = Field(primary_key=True, max_length=64)
    label_id: str = Field(max_length=255)
    label_en: str = Field(max_length=255)
    unit: str = Field(max_length=64)
    quantity_rule: str = Field(max_length=16)
    enrolment: bool
    outcome: str | None = Field(default=None, max_length=16)
    enrolment_needs_validated_nik: bool = False


class SessionRow(SQLModel, table=True):
    __tablename__ = "programme_session"
    __table_args__ = (
        Index("ix_programme_session_facility_date", "facility", "scheduled_on"),
        Index("ix_programme_session_partner", "partner_code", "scheduled_on"),
        Index("ix_programme_session_agreement", "agreement_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    agreement_id: str = Field(max_length=36)
    partner_code: str = Field(max_length=64)
    programme_kind: str = Field(max_length=64)
    unit: str = Field(max_length=64)
    action_plan_item_id: str | None = Field(default=None, max_length=36)
    scheduled_on: date
    status: str = Field(max_length=16)
    held_on: date | None = None
    delivered_quantity: int
    cancel_reason: str | None = Field(default=None, max_length=1000)
    version: int


class AttendanceRow(SQLModel, table=True):
    __tablename__ = "session_attendance"

    session_id: str = Field(
        sa_column=Column(String(36), ForeignKey("programme_session.id"), primary_key=True)
    )
    person_id: str = Field(primary_key=True, max_length=36, index=True)


class EnrolmentRow(SQLModel, table=True):
    __tablename__ = "enrolment"
    __table_args__ = (
        Index("ix_enrolment_person_status", "person_id", "status"),
        Index("ix_enrolment_partner", "partner_code"),
    )

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    person_id: str = Field(max_length=36)
    agreement_id: str = Field(max_length=36)
    partner_code: str = Field(max_length=64)
    programme_kind: str = Field(max_length=64)
    enrolled_on: date
    status: str = Field(max_length=16)
    ended_on: date | None = None
    exit_reason: str | None = Field(default=None, max_length=1000)
    version: int


class OutcomeRow(SQLModel, table=True):
    __tablename__ = "outcome"

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    person_id: str = Field(max_length=36, index=True)
    enrolment_id: str = Field(
        sa_column=Column(String(36), ForeignKey("enrolment.id"), nullable=False, unique=True)
    )
    agreement_id: str = Field(max_length=36)
    partner_code: str = Field(max_length=64, index=True)
    programme_kind: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    issued_on: date
    passed: bool
    level: str | None = Field(default=None, max_length=64)
    score: float | None = None


class IdempotencyKeyRow(SQLModel, table=True):
    """A command's Idempotency-Key, per API key, and the record it created (decision 0017)."""

    __tablename__ = "idempotency_key"

    scope: str = Field(primary_key=True, max_length=255)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    resource_id: str = Field(max_length=36)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SaleRow(SQLModel, table=True):
    __tablename__ = "sale"
    __table_args__ = (Index("ix_sale_partner_date", "partner_code", "sold_on"),)

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    agreement_id: str = Field(max_length=36, index=True)
    partner_code: str = Field(max_length=64)
    sold_on: date = Field(index=True)
    buyer_type: str = Field(max_length=16)
    total_idr: int


class SaleLineRow(SQLModel, table=True):
    __tablename__ = "sale_line"

    sale_id: str = Field(sa_column=Column(String(36), ForeignKey("sale.id"), primary_key=True))
    position: int = Field(primary_key=True)
    product: str = Field(max_length=255)
    quantity: int
    unit: str = Field(max_length=64)
    unit_price_idr: int
    amount_idr: int


# --- read models of other services' facts ---------------------------------------------------


class AgreementViewRow(SQLModel, table=True):
    __tablename__ = "agreement_view"
    __table_args__ = (Index("ix_agreement_view_partner", "partner_code"),)

    agreement_id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    partner_code: str = Field(max_length=64)
    facility_number: str = Field(max_length=128)
    programme_kinds: list[str] = Field(sa_column=Column(JSON, nullable=False))
    start_date: date
    end_date: date
    status: str = Field(max_length=16)
    terminated_on: date | None = None
    sequence: int


class ItemViewRow(SQLModel, table=True):
    __tablename__ = "action_plan_item_view"

    item_id: str = Field(primary_key=True, max_length=36)
    agreement_id: str = Field(max_length=36, index=True)
    programme_kind: str = Field(max_length=64)
    description: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})
    target_quantity: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    unit: str = Field(max_length=64)
    period_start: date
    period_end: date
    sequence: int
    counts: str | None = Field(default=None, max_length=16)  # None: as the kind counts


class InmateViewRow(SQLModel, table=True):
    __tablename__ = "inmate_view"

    person_id: str = Field(primary_key=True, max_length=36)
    register_number: str = Field(max_length=64, index=True)
    name: str = Field(max_length=255)
    custody_status: str = Field(max_length=32)
    nik_status: str = Field(max_length=16)
    custody_periods: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    sequence: int


def core_table(model: type[SQLModel]) -> Table:
    """The Core table of a model: statements on it skip the ORM's per-statement work."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


READ_MODEL_TABLES = (AgreementViewRow, ItemViewRow, InmateViewRow)
TABLES = (
    ProgrammeKindRow,
    SessionRow,
    AttendanceRow,
    EnrolmentRow,
    OutcomeRow,
    SaleRow,
    SaleLineRow,
    IdempotencyKeyRow,
    *READ_MODEL_TABLES,
    OutboxMessage,
    InboxMessage,
)
metadata = own_metadata(TABLES)
