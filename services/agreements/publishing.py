"""Turns the domain events an aggregate recorded into the facts other services read."""

from __future__ import annotations

from services.agreements import domain
from shared.events import CloudEvent, EventPayload, build_event
from shared.events import agreements as facts

# The status an agreement has right after each transition, whatever happened later in the
# same transaction (a signing with a past start date activates at once).
_STATUS_AFTER: dict[type[domain.DomainEvent], domain.AgreementStatus] = {
    domain.AgreementDrafted: domain.AgreementStatus.DRAFT,
    domain.AgreementSigned: domain.AgreementStatus.SIGNED,
    domain.AgreementActivated: domain.AgreementStatus.ACTIVE,
    domain.AgreementExpiring: domain.AgreementStatus.EXPIRING,
    domain.AgreementTerminated: domain.AgreementStatus.TERMINATED,
}


def partner_state(partner: domain.Partner) -> facts.PartnerState:
    return facts.PartnerState(
        partner_id=partner.id,
        code=partner.code,
        name=partner.name,
        kind=partner.kind.value,
        sectors=list(partner.sectors),
    )


def agreement_state(
    agreement: domain.Agreement, status: domain.AgreementStatus | None = None
) -> facts.AgreementState:
    return facts.AgreementState(
        agreement_id=agreement.id,
        partner_id=agreement.partner_id,
        partner_code=agreement.partner_code,
        facility_number=agreement.facility_number,
        partner_number=agreement.partner_number,
        title=agreement.title,
        programme_kinds=list(agreement.programme_kinds),
        start_date=agreement.period.start,
        end_date=agreement.period.end,
        status=(status or agreement.status).value,
        signed_on=agreement.signed_on,
        renews=agreement.renews,
        renewed_by=agreement.renewed_by,
        amendment_count=len(agreement.amendments),
    )


def item_state(item: domain.ActionPlanItem) -> facts.ActionPlanItemState:
    return facts.ActionPlanItemState(
        item_id=item.id,
        programme_kind=item.programme_kind,
        description=item.description,
        target_quantity=item.target_quantity,
        unit=item.unit,
        period_start=item.period.start,
        period_end=item.period.end,
        responsible=item.responsible.value,
        realised_quantity=item.realised_quantity,
        milestone=item.milestone.value,
        counts=item.counts.value if item.counts else None,
    )


def partner_facts(
    partner: domain.Partner, correlation_id: str | None, causation_id: str | None
) -> list[CloudEvent]:
    payloads: list[tuple[domain.DomainEvent, EventPayload]] = []
    for event in partner.events:
        if isinstance(event, domain.PartnerRegistered):
            payloads.append((event, facts.PartnerRegistered(partner=partner_state(partner))))
        elif isinstance(event, domain.PartnerUpdated):
            payloads.append((event, facts.PartnerUpdated(partner=partner_state(partner))))
    return [
        build_event(
            payload,
            subject=partner.id,
            facility=partner.facility,
            sequence=event.version,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        for event, payload in payloads
    ]


def agreement_facts(
    agreement: domain.Agreement, correlation_id: str | None, causation_id: str | None
) -> list[CloudEvent]:
    return [
        build_event(
            _payload(agreement, event),
            subject=agreement.id,
            facility=agreement.facility,
            sequence=event.version,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        for event in agreement.events
    ]


def _payload(agreement: domain.Agreement, event: domain.DomainEvent) -> EventPayload:
    state = agreement_state(agreement, _STATUS_AFTER.get(type(event)))
    match event:
        case domain.AgreementDrafted():
            return facts.AgreementDrafted(agreement=state)
        case domain.AgreementSigned():
            signatories = [
                facts.SignatoryState(party=s.party.value, name=s.name, position=s.position)
                for s in agreement.signatories
            ]
            return facts.AgreementSigned(agreement=state, signatories=signatories)
        case domain.AgreementActivated():
            return facts.AgreementActivated(agreement=state)
        case domain.AgreementExpiring():
            return facts.AgreementExpiring(agreement=state)
        case domain.AgreementExpired(status=status):
            return facts.AgreementExpired(agreement=agreement_state(agreement, status))
        case domain.AgreementTerminated(reason=reason, terminated_on=terminated_on):
            return facts.AgreementTerminated(
                agreement=state, reason=reason, terminated_on=terminated_on
            )
        case domain.AgreementRenewed(renewal_id=renewal_id):
            return facts.AgreementRenewed(agreement=state, renewal_id=renewal_id)
        case domain.AgreementAmended(number=number, changes=changes):
            amendment = agreement.amendments[number - 1]
            return facts.AgreementAmended(
                agreement=state,
                number=number,
                rationale=amendment.rationale,
                effective_on=amendment.effective_on,
                changes=changes,
            )
        case domain.DocumentAttached(sha256=sha256):
            document = next(d for d in agreement.documents if d.sha256 == sha256)
            return facts.DocumentAttached(
                agreement=state,
                document=facts.DocumentState(
                    name=document.name,
                    media_type=document.media_type,
                    sha256=document.sha256,
                    size_bytes=document.size_bytes,
                ),
            )
        case domain.ActionPlanItemAdded(item_id=item_id):
            return facts.ActionPlanItemAdded(
                agreement=state, item=item_state(agreement.item(item_id))
            )
        case domain.RealisationUpdated(item_id=item_id, session_id=session_id):
            return facts.RealisationUpdated(
                agreement=state, item=item_state(agreement.item(item_id)), session_id=session_id
            )
        case domain.ActionPlanItemAssessed(item_id=item_id):
            return facts.ActionPlanItemAssessed(
                agreement=state, item=item_state(agreement.item(item_id))
            )
    raise TypeError(f"no published fact for {type(event).__name__}")
