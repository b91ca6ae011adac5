"""What the HTTP API accepts and returns (one family of models per resource)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.agreements.domain import (
    PROGRAMME_KIND_PATTERN,
    AgreementStatus,
    CountingRule,
    MilestoneStatus,
    PartnerKind,
    Party,
)

ProgrammeKind = str  # documented by PROGRAMME_KIND_PATTERN on each field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Properties to receive when registering a partner
class PartnerCreate(_In):
    code: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=255)
    kind: PartnerKind
    sectors: list[str] | None = Field(
        default=None, description="Programme kinds the partner may cover; defaults by kind."
    )
    facility: str | None = Field(default=None, description="Defaults to this instance's facility.")


# Properties to receive when updating a partner
class PartnerUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    sectors: list[str] | None = None


# Properties to return for a partner
class PartnerPublic(BaseModel):
    id: str
    facility: str
    code: str
    name: str
    kind: PartnerKind
    sectors: list[str]
    version: int


class Created(BaseModel):
    id: str


# Properties to receive when drafting an agreement (or a renewal of one)
class AgreementCreate(_In):
    partner_id: str
    facility_number: str = Field(min_length=1, max_length=128, description="The facility's number.")
    partner_number: str = Field(min_length=1, max_length=128, description="The partner's number.")
    title: str = Field(min_length=1, max_length=500)
    programme_kinds: list[ProgrammeKind] = Field(
        min_length=1, json_schema_extra={"items": {"pattern": PROGRAMME_KIND_PATTERN}}
    )
    start_date: date
    end_date: date
    facility: str | None = None


class RenewalCreate(_In):
    facility_number: str = Field(min_length=1, max_length=128)
    partner_number: str = Field(min_length=1, max_length=128)
    title: str | None = Field(
        default=None, max_length=500, description="Defaults to the prior title."
    )
    programme_kinds: list[ProgrammeKind] | None = None
    start_date: date
    end_date: date


class SignatoryIn(_In):
    party: Party
    name: str = Field(min_length=1, max_length=255)
    position: str = Field(min_length=1, max_length=255)


class SignRequest(_In):
    signed_on: date
    signatories: list[SignatoryIn] = Field(min_length=2)


class TerminateRequest(_In):
    reason: str = Field(min_length=1, max_length=1000)
    terminated_on: date


class AmendmentCreate(_In):
    rationale: str = Field(min_length=1, max_length=2000)
    effective_on: date
    title: str | None = Field(default=None, max_length=500)
    programme_kinds: list[ProgrammeKind] | None = None
    end_date: date | None = None


class AmendmentPublic(BaseModel):
    number: int
    rationale: str
    effective_on: date
    changes: dict[str, str]


class ActionPlanItemCreate(_In):
    programme_kind: ProgrammeKind
    description: str = Field(min_length=1, max_length=1000)
    target_quantity: int = Field(gt=0, le=1_000_000)
    unit: str = Field(min_length=1, max_length=64)
    period_start: date
    period_end: date
    responsible: Party
    counts: CountingRule | None = Field(
        default=None,
        description=(
            "What a held session adds: 1 (sessions), its attendance (participants) or the "
            "quantity reported with it (reported). Left out: as the programme kind counts."
        ),
    )


class ActionPlanItemPublic(BaseModel):
    id: str
    programme_kind: str
    description: str
    target_quantity: int
    unit: str
    period_start: date
    period_end: date
    responsible: Party
    counts: CountingRule | None = None
    realised_quantity: int
    milestone: MilestoneStatus
    progress_percent: float


class SignatoryPublic(BaseModel):
    party: Party
    name: str
    position: str


class DocumentPublic(BaseModel):
    name: str
    media_type: str
    sha256: str
    size_bytes: int


class AgreementPublic(BaseModel):
    id: str
    facility: str
    partner_id: str
    partner_code: str
    facility_number: str
    partner_number: str
    title: str
    programme_kinds: list[str]
    start_date: date
    end_date: date
    status: AgreementStatus
    signed_on: date | None
    renews: str | None
    renewed_by: str | None
    gap_days: int | None
    termination_reason: str | None
    terminated_on: date | None
    version: int


class AgreementDetail(AgreementPublic):
    signatories: list[SignatoryPublic]
    amendments: list[AmendmentPublic]
    action_plan: list[ActionPlanItemPublic]
    documents: list[DocumentPublic]


class AgreementsPublic(BaseModel):
    data: list[AgreementPublic]
    count: int


class RealisationRow(BaseModel):
    facility: str
    partner_code: str
    agreement_id: str
    facility_number: str
    agreement_status: AgreementStatus
    item_id: str
    programme_kind: str
    description: str
    unit: str
    period_start: date
    period_end: date
    target_quantity: int
    realised_quantity: int
    progress_percent: float
    milestone: MilestoneStatus


class RealisationReport(BaseModel):
    rows: list[RealisationRow]


class ClockTick(BaseModel):
    today: date
    changed: int
