"""What staff and other services ask the agreements service to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.agreements.domain import CountingRule, PartnerKind, Party


@dataclass(frozen=True)
class RegisterPartner:
    facility: str
    code: str
    name: str
    kind: PartnerKind
    sectors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class UpdatePartner:
    partner_id: str
    name: str | None = None
    sectors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DraftAgreement:
    facility: str
    partner_id: str
    facility_number: str
    partner_number: str
    title: str
    programme_kinds: tuple[str, ...]
    start_date: date
    end_date: date
    renews: str | None = None


@dataclass(frozen=True)
class SignatoryInput:
    party: Party
    name: str
    position: str


@dataclass(frozen=True)
class SignAgreement:
    agreement_id: str
    signed_on: date
    signatories: tuple[SignatoryInput, ...]


@dataclass(frozen=True)
class TerminateAgreement:
    agreement_id: str
    reason: str
    terminated_on: date


@dataclass(frozen=True)
class AmendAgreement:
    agreement_id: str
    rationale: str
    effective_on: date
    title: str | None = None
    programme_kinds: tuple[str, ...] | None = None
    end_date: date | None = None


@dataclass(frozen=True)
class AddActionPlanItem:
    agreement_id: str
    programme_kind: str
    description: str
    target_quantity: int
    unit: str
    period_start: date
    period_end: date
    responsible: Party
    counts: CountingRule | None = None  # None: as the programme kind counts


@dataclass(frozen=True)
class AttachDocument:
    agreement_id: str
    name: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class RecordSessionRealisation:
    """From the programs stream: a held (or cancelled) session counts toward an item."""

    session_id: str
    agreement_id: str
    item_id: str
    quantity: int
    held_on: date
    sequence: int
