"""Tables of the dashboard: read models of the three streams, plus the inbox.

Table names carry a `dashboard_` prefix: SQLModel keeps every imported model in one
registry, and other services have read models of the same facts. No name or NIK of a
person is kept: the dashboard only counts people by facility and NIK status.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from shared.messaging.tables import InboxMessage, OutboxMessage
from shared.persistence.metadata import own_metadata


class PartnerRow(SQLModel, table=True):
    __tablename__ = "dashboard_partner"

    partner_id: str = Field(primary_key=True, max_length=36)
    code: str = Field(max_length=64, index=True)
    name: str = Field(max_length=255)
    sequence: int


class AgreementRow(SQLModel, table=True):
    __tablename__ = "dashboard_agreement"
    __table_args__ = (Index("ix_dashboard_agreement_partner", "partner_code"),)

    agreement_id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    partner_code: str = Field(max_length=64)
    facility_number: str = Field(max_length=128)
    title: str = Field(max_length=500)
    start_date: date
    end_date: date
    status: str = Field(max_length=16)
    sequence: int


class ItemRow(SQLModel, table=True):
    __tablename__ = "dashboard_action_plan_item"

    item_id: str = Field(primary_key=True, max_length=36)
    agreement_id: str = Field(max_length=36, index=True)
    partner_code: str = Field(max_length=64, index=True)
    programme_kind: str = Field(max_length=64)
    description: str = Field(max_length=1000)
    target_quantity: int
    realised_quantity: int
    unit: str = Field(max_length=64)
    period_start: date
    period_end: date
    milestone: str = Field(max_length=16)
    sequence: int


class SessionRow(SQLModel, table=True):
    __tablename__ = "dashboard_session"

    session_id: str = Field(primary_key=True, max_length=36)
    agreement_id: str = Field(max_length=36, index=True)
    partner_code: str = Field(max_length=64)
    status: str = Field(max_length=16)
    participant_count: int
    sequence: int


class InmateRow(SQLModel, table=True):
    __tablename__ = "dashboard_inmate"
    __table_args__ = (Index("ix_dashboard_inmate_facility", "facility", "nik_status"),)

    person_id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    custody_status: str = Field(max_length=32)
    nik_status: str = Field(max_length=16)
    sequence: int


READ_MODEL_TABLES = (PartnerRow, AgreementRow, ItemRow, SessionRow, InmateRow)
# The outbox stays empty (the dashboard publishes nothing) but the shared relay polls it.
TABLES = (*READ_MODEL_TABLES, InboxMessage, OutboxMessage)
metadata = own_metadata(TABLES)
