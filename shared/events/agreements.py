"""Facts published by the agreements service on `sinergi.agreements`."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import EventPayload

AgreementStatus = Literal[
    "draft", "signed", "active", "expiring", "expired", "terminated", "renewed"
]
Party = Literal["facility", "partner", "both"]
MilestoneStatus = Literal["open", "met", "partially_met", "not_met"]
# What one held session adds to an item: 1, its attendance, or the quantity reported with it.
CountingRule = Literal["sessions", "participants", "reported"]


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PartnerState(_State):
    partner_id: str
    code: str
    name: str
    kind: str
    sectors: list[str]


class AgreementState(_State):
    """An agreement as it stands after the event: enough for a consumer's read model."""

    agreement_id: str
    partner_id: str
    partner_code: str
    facility_number: str
    partner_number: str
    title: str
    programme_kinds: list[str]
    start_date: date
    end_date: date
    status: AgreementStatus
    signed_on: date | None = None
    renews: str | None = None
    renewed_by: str | None = None
    amendment_count: int = 0


class SignatoryState(_State):
    party: Literal["facility", "partner"]
    name: str
    position: str


class ActionPlanItemState(_State):
    item_id: str
    programme_kind: str
    description: str
    target_quantity: int = Field(gt=0)
    unit: str
    period_start: date
    period_end: date
    responsible: Party
    realised_quantity: int = Field(ge=0)
    milestone: MilestoneStatus
    counts: CountingRule | None = Field(
        default=None,
        description=(
            "What a held session adds to the item's realisation: 1 per session (sessions), "
            "its attendance (participants) or the quantity reported with it (reported). "
            "Absent: as the programme kind counts (the programs service's catalogue)."
        ),
    )


class DocumentState(_State):
    name: str
    media_type: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)


class PartnerRegistered(EventPayload):
    event_type = "sinergi.partner.registered"
    partner: PartnerState


class PartnerUpdated(EventPayload):
    event_type = "sinergi.partner.updated"
    partner: PartnerState


class AgreementDrafted(EventPayload):
    event_type = "sinergi.agreement.drafted"
    agreement: AgreementState


class AgreementSigned(EventPayload):
    event_type = "sinergi.agreement.signed"
    agreement: AgreementState
    signatories: list[SignatoryState]


class AgreementActivated(EventPayload):
    event_type = "sinergi.agreement.activated"
    agreement: AgreementState


class AgreementExpiring(EventPayload):
    event_type = "sinergi.agreement.expiring"
    agreement: AgreementState


class AgreementExpired(EventPayload):
    event_type = "sinergi.agreement.expired"
    agreement: AgreementState


class AgreementTerminated(EventPayload):
    event_type = "sinergi.agreement.terminated"
    agreement: AgreementState
    reason: str
    terminated_on: date


class AgreementRenewed(EventPayload):
    event_type = "sinergi.agreement.renewed"
    agreement: AgreementState
    renewal_id: str


class AgreementAmended(EventPayload):
    event_type = "sinergi.agreement.amended"
    agreement: AgreementState
    number: int = Field(ge=1)
    rationale: str
    effective_on: date
    changes: dict[str, str]


class DocumentAttached(EventPayload):
    event_type = "sinergi.agreement.document_attached"
    agreement: AgreementState
    document: DocumentState


class ActionPlanItemAdded(EventPayload):
    event_type = "sinergi.action_plan.item_added"
    agreement: AgreementState
    item: ActionPlanItemState


class RealisationUpdated(EventPayload):
    event_type = "sinergi.action_plan.realisation_updated"
    agreement: AgreementState
    item: ActionPlanItemState
    session_id: str


class ActionPlanItemAssessed(EventPayload):
    event_type = "sinergi.action_plan.item_assessed"
    agreement: AgreementState
    item: ActionPlanItemState


PAYLOADS: tuple[type[EventPayload], ...] = (
    PartnerRegistered,
    PartnerUpdated,
    AgreementDrafted,
    AgreementSigned,
    AgreementActivated,
    AgreementExpiring,
    AgreementExpired,
    AgreementTerminated,
    AgreementRenewed,
    AgreementAmended,
    DocumentAttached,
    ActionPlanItemAdded,
    RealisationUpdated,
    ActionPlanItemAssessed,
)
