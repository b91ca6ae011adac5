"""Tables of the identity service. The NIK is stored only encrypted, with a keyed hash."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.messaging.tables import InboxMessage, OutboxMessage
from shared.persistence.metadata import own_metadata


class InmateRow(SQLModel, table=True):
    __tablename__ = "inmate"
    __table_args__ = (
        UniqueConstraint("origin_facility", "register_number", name="uq_inmate_register"),
        Index("ix_inmate_facility_status", "facility", "custody_status"),
        Index("ix_inmate_birth_date", "birth_date"),
        Index("ix_inmate_nik_hash", "nik_hash"),
        Index("ix_inmate_nik_status", "facility", "nik_status"),
    )

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    origin_facility: str = Field(max_length=64)
    register_number: str = Field(max_length=64)
    category: str = Field(max_length=8)
    name: str = Field(max_length=255)
    canonical_name: str = Field(max_length=255)
    aliases: list[str] = Field(sa_column=Column(JSON, nullable=False))
    sex: str = Field(max_length=1)
    birth_place: str = Field(max_length=128)
    birth_date: date
    mother_name: str = Field(max_length=255)
    address: str = Field(max_length=500)
    admission_date: date
    custody_status: str = Field(max_length=16)
    custody_periods: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    nik_hash: str | None = Field(default=None, max_length=64)
    nik_ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    nik_masked: str | None = Field(default=None, max_length=32)
    nik_problems: list[str] = Field(sa_column=Column(JSON, nullable=False))
    nik_status: str = Field(max_length=16)
    last_match: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    review_note: str | None = Field(default=None, max_length=1000)
    version: int


class DuplicateFlagRow(SQLModel, table=True):
    """Two records that may be one person: for an officer to review, never merged."""

    __tablename__ = "duplicate_flag"

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=36, index=True)
    other_id: str = Field(max_length=36, index=True)
    reason: str = Field(max_length=32)
    status: str = Field(default="open", max_length=16)
    flagged_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AccessAuditRow(SQLModel, table=True):
    """Every read of a NIK and every matching call: who, when, why, under which agreement."""

    __tablename__ = "access_audit"
    __table_args__ = (Index("ix_access_audit_at", "facility", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    facility: str = Field(max_length=64)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=32)
    purpose: str = Field(max_length=255)
    agreement_id: str | None = Field(default=None, max_length=36)
    person_id: str | None = Field(default=None, max_length=36, index=True)
    items: int = 1


class LegalBasisRow(SQLModel, table=True):
    """Read model of the agreements stream: agreements that may cover NIK matching."""

    __tablename__ = "legal_basis"

    agreement_id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64, index=True)
    partner_code: str = Field(max_length=64)
    facility_number: str = Field(max_length=128)
    programme_kinds: list[str] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=16)
    start_date: date
    end_date: date
    sequence: int


class ImportRunRow(SQLModel, table=True):
    __tablename__ = "import_run"

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64)
    file_name: str = Field(max_length=255)
    file_sha256: str = Field(max_length=64, index=True)
    imported_by: str = Field(max_length=128)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    counts: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))


class ImportRowResultRow(SQLModel, table=True):
    __tablename__ = "import_row_result"

    run_id: str = Field(primary_key=True, max_length=36)
    row_number: int = Field(primary_key=True)
    outcome: str = Field(max_length=16)  # imported, unchanged, updated, refused
    reason: str | None = Field(default=None, max_length=1000)
    person_id: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))


class MatchingJobRow(SQLModel, table=True):
    __tablename__ = "matching_job"

    id: str = Field(primary_key=True, max_length=36)
    facility: str = Field(max_length=64, index=True)
    purpose: str = Field(max_length=255)
    agreement_id: str = Field(max_length=36)
    requested_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    status: str = Field(max_length=16)  # running, completed, refused, cancelled
    total: int
    detail: str | None = Field(default=None, max_length=1000)
    # Progress, kept in the transactions that move items (pending = total - sent - done).
    sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    done: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    matched: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    partial: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    not_found: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    invalid: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    skipped: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class MatchingItemRow(SQLModel, table=True):
    """One person in one job: pending until its result is stored, exactly once."""

    __tablename__ = "matching_item"
    __table_args__ = (
        # Claims read a job's pending items in person order: straight off this index.
        Index("ix_matching_item_state", "job_id", "state", "person_id"),
        Index("ix_matching_item_batch", "batch_id"),
    )

    job_id: str = Field(primary_key=True, max_length=36)
    person_id: str = Field(primary_key=True, max_length=36)
    state: str = Field(max_length=16)  # pending, sent, done
    batch_id: str | None = Field(default=None, max_length=36)
    outcome: str | None = Field(default=None, max_length=16)
    attempts: int = 0


class MatchingBatchRow(SQLModel, table=True):
    """A request sent to the registry; its id lets a restarted job fetch the answer."""

    __tablename__ = "matching_batch"

    id: str = Field(primary_key=True, max_length=36)
    job_id: str = Field(max_length=36, index=True)
    state: str = Field(max_length=16)  # sent, done
    size: int
    sent_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RegistryCursorRow(SQLModel, table=True):
    __tablename__ = "registry_cursor"

    name: str = Field(primary_key=True, max_length=32)
    position: int


TABLES = (
    InmateRow,
    DuplicateFlagRow,
    AccessAuditRow,
    LegalBasisRow,
    ImportRunRow,
    ImportRowResultRow,
    MatchingJobRow,
    MatchingItemRow,
    MatchingBatchRow,
    RegistryCursorRow,
    OutboxMessage,
    InboxMessage,
)
metadata = own_metadata(TABLES)
