"""What the identity HTTP API accepts and returns. A NIK only ever leaves masked here,
except from the audited reveal endpoint."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.identity.domain import Category, CustodyStatus, NikStatus, Sex


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Properties to receive when admitting a person
class InmateCreate(_In):
    register_number: str = Field(min_length=1, max_length=64)
    category: Category
    name: str = Field(min_length=1, max_length=255)
    aliases: list[str] = Field(default_factory=list, max_length=20)
    sex: Sex
    birth_place: str = Field(min_length=1, max_length=128)
    birth_date: date
    mother_name: str = Field(min_length=1, max_length=255)
    address: str = Field(default="", max_length=500)
    admission_date: date
    nik: str | None = Field(default=None, max_length=32, description="As written; may be missing.")
    facility: str | None = None


class CategoryChange(_In):
    category: Category


class TransferRequest(_In):
    to_facility: str = Field(min_length=1, max_length=64)
    on: date


class ReleaseRequest(_In):
    on: date


class NikEntry(_In):
    nik: str | None = Field(max_length=32)


class ReviewRequest(_In):
    decision: str = Field(pattern="^(confirm|reject)$")
    reason: str | None = Field(default=None, max_length=1000)


class CustodyPeriodPublic(BaseModel):
    facility: str
    since: date
    until: date | None


class MatchPublic(BaseModel):
    kind: str
    mismatched_fields: list[str]
    alive: bool | None


# Properties to return for a person (NIK masked)
class InmatePublic(BaseModel):
    id: str
    facility: str
    register_number: str
    category: Category
    custody_status: CustodyStatus
    name: str
    aliases: list[str]
    sex: Sex
    birth_place: str
    birth_date: date
    mother_name: str
    address: str
    admission_date: date
    custody_periods: list[CustodyPeriodPublic]
    nik_masked: str | None
    nik_status: NikStatus
    nik_problems: list[str]
    last_match: MatchPublic | None
    review_note: str | None
    version: int


class InmatesPublic(BaseModel):
    data: list[InmatePublic]
    count: int


class Admitted(BaseModel):
    id: str
    outcome: str
    possible_duplicates: list[str]


class NikStatusPublic(BaseModel):
    nik_status: NikStatus


class NikRevealed(BaseModel):
    nik: str


class ImportRowPublic(BaseModel):
    row: int
    outcome: str
    reason: str | None
    person_id: str | None


class ImportReportPublic(BaseModel):
    id: str
    file_name: str
    counts: dict[str, int]
    rows: list[ImportRowPublic]


class DuplicatePublic(BaseModel):
    id: int
    person_id: str
    other_id: str
    reason: str
    status: str
    flagged_at: datetime


class UsageRow(BaseModel):
    agreement_id: str | None
    action: str
    purpose: str
    accesses: int
    items: int


class UsageReport(BaseModel):
    facility: str
    period_start: date
    period_end: date
    rows: list[UsageRow]


class StatusCounts(BaseModel):
    facility: str
    counts: dict[str, int]


# --- matching jobs (pemadanan) ------------------------------------------------------------


class MatchingJobCreate(_In):
    purpose: str = Field(min_length=3, max_length=255, description="Why these NIKs are checked.")
    person_ids: list[str] | None = Field(
        default=None,
        max_length=100_000,
        description="People to check; omitted: everyone in custody whose NIK awaits matching.",
    )
    facility: str | None = None


class MatchingJobAccepted(BaseModel):
    job_id: str


class MatchingJobPublic(BaseModel):
    job_id: str
    facility: str
    purpose: str
    requested_by: str
    agreement_id: str
    status: str
    total: int
    pending: int
    sent: int
    done: int
    outcomes: dict[str, int]
    created_at: datetime
    finished_at: datetime | None
    detail: str | None
    breaker: str = Field(description="The civil registry circuit breaker: closed, half_open, open.")


class MatchingJobsPublic(BaseModel):
    data: list[MatchingJobPublic]
    count: int
