"""Turns the domain events an aggregate recorded into the facts other services read."""

from __future__ import annotations

from services.programs import domain
from shared.events import CloudEvent, EventPayload, build_event
from shared.events import programs as facts


def session_state(
    session: domain.ProgrammeSession, snapshot: domain.SessionSnapshot | None = None
) -> facts.SessionState:
    snap = snapshot or session.snapshot()
    return facts.SessionState(
        session_id=session.id,
        agreement_id=session.agreement_id,
        action_plan_item_id=session.action_plan_item_id,
        partner_code=session.partner_code,
        programme_kind=session.programme_kind,
        status=snap.status.value,
        scheduled_on=session.scheduled_on,
        held_on=snap.held_on,
        delivered_quantity=snap.delivered_quantity,
        unit=session.unit,
        participant_count=snap.participant_count,
    )


def enrolment_state(enrolment: domain.Enrolment) -> facts.EnrolmentState:
    return facts.EnrolmentState(
        enrolment_id=enrolment.id,
        person_id=enrolment.person_id,
        agreement_id=enrolment.agreement_id,
        partner_code=enrolment.partner_code,
        programme_kind=enrolment.programme_kind,
        status=enrolment.status.value,
        enrolled_on=enrolment.enrolled_on,
        ended_on=enrolment.ended_on,
        exit_reason=enrolment.exit_reason,
    )


def _session_payload(session: domain.ProgrammeSession, event: domain.DomainEvent) -> EventPayload:
    match event:
        case domain.SessionScheduled(snapshot=snapshot):
            return facts.SessionScheduled(session=session_state(session, snapshot))
        case domain.SessionHeld(snapshot=snapshot):
            return facts.SessionHeld(session=session_state(session, snapshot))
        case domain.SessionCancelled(snapshot=snapshot, reason=reason):
            return facts.SessionCancelled(session=session_state(session, snapshot), reason=reason)
    raise TypeError(f"no published fact for {type(event).__name__}")


def _enrolment_payload(enrolment: domain.Enrolment, event: domain.DomainEvent) -> EventPayload:
    state = enrolment_state(enrolment)
    match event:
        case domain.PersonEnrolled():
            return facts.PersonEnrolled(enrolment=state)
        case domain.EnrolmentCompleted():
            return facts.EnrolmentCompleted(enrolment=state)
        case domain.EnrolmentExited():
            return facts.EnrolmentExited(enrolment=state)
    raise TypeError(f"no published fact for {type(event).__name__}")


def _outcome_payload(outcome: domain.Outcome) -> EventPayload:
    return facts.OutcomeIssued(
        outcome_id=outcome.id,
        person_id=outcome.person_id,
        enrolment_id=outcome.enrolment_id,
        agreement_id=outcome.agreement_id,
        programme_kind=outcome.programme_kind,
        kind=outcome.kind.value,
        issued_on=outcome.issued_on,
        passed=outcome.passed,
        level=outcome.level,
        score=outcome.score,
    )


def _sale_payload(sale: domain.Sale) -> EventPayload:
    return facts.SaleRecorded(
        sale_id=sale.id,
        agreement_id=sale.agreement_id,
        partner_code=sale.partner_code,
        sold_on=sale.sold_on,
        buyer_type=sale.buyer_type.value,
        lines=[
            facts.SaleLine(
                product=line.product,
                quantity=line.quantity,
                unit=line.unit,
                unit_price_idr=line.unit_price_idr,
                amount_idr=line.amount_idr,
            )
            for line in sale.lines
        ],
        total_idr=sale.total_idr,
    )


def _facts(
    subject: str,
    facility: str,
    payloads: list[tuple[domain.DomainEvent, EventPayload]],
    correlation_id: str | None,
    causation_id: str | None,
) -> list[CloudEvent]:
    return [
        build_event(
            payload,
            subject=subject,
            facility=facility,
            sequence=event.version,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        for event, payload in payloads
    ]


def session_facts(
    session: domain.ProgrammeSession, correlation_id: str | None, causation_id: str | None
) -> list[CloudEvent]:
    payloads = [(e, _session_payload(session, e)) for e in session.events]
    return _facts(session.id, session.facility, payloads, correlation_id, causation_id)


def enrolment_facts(
    enrolment: domain.Enrolment, correlation_id: str | None, causation_id: str | None
) -> list[CloudEvent]:
    payloads = [(e, _enrolment_payload(enrolment, e)) for e in enrolment.events]
    return _facts(enrolment.id, enrolment.facility, payloads, correlation_id, causation_id)


def outcome_facts(
    outcome: domain.Outcome, correlation_id: str | None, causation_id: str | None
) -> list[CloudEvent]:
    payloads = [(e, _outcome_payload(outcome)) for e in outcome.events]
    return _facts(outcome.id, outcome.facility, payloads, correlation_id, causation_id)


def sale_facts(
    sale: domain.Sale, correlation_id: str | None, causation_id: str | None
) -> list[CloudEvent]:
    payloads = [(e, _sale_payload(sale)) for e in sale.events]
    return _facts(sale.id, sale.facility, payloads, correlation_id, causation_id)
