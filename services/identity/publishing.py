"""Turns what happened to a person into the facts other services read (never the NIK)."""

from __future__ import annotations

from services.identity import domain
from shared.events import CloudEvent, EventPayload, build_event
from shared.events import identity as facts


def inmate_state(inmate: domain.Inmate) -> facts.InmateState:
    return facts.InmateState(
        person_id=inmate.id,
        register_number=inmate.register_number,
        name=inmate.personal.name,
        category=inmate.category.value,
        custody_status=inmate.custody_status.value,
        admission_date=inmate.admission_date,
        custody_periods=[
            facts.CustodyPeriod(facility=p.facility, since=p.since, until=p.until)
            for p in inmate.custody_periods
        ],
        nik_status=inmate.nik_status.value,
    )


def inmate_facts(
    inmate: domain.Inmate, correlation_id: str | None, causation_id: str | None
) -> list[CloudEvent]:
    state = inmate_state(inmate)
    return [
        build_event(
            _payload(state, event),
            subject=inmate.id,
            facility=inmate.facility,
            sequence=event.version,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        for event in inmate.events
    ]


def _payload(state: facts.InmateState, event: domain.InmateEvent) -> EventPayload:
    match event:
        case domain.Admitted():
            return facts.InmateAdmitted(inmate=state)
        case domain.CategoryChanged(previous=previous):
            return facts.InmateStatusChanged(inmate=state, previous_category=previous.value)
        case domain.Transferred(from_facility=origin, to_facility=target, on=on):
            return facts.InmateTransferred(
                inmate=state, from_facility=origin, to_facility=target, transferred_on=on
            )
        case domain.Released(on=on):
            return facts.InmateReleased(inmate=state, released_on=on)
        case domain.NikStatusChanged(previous=previous):
            return facts.NikStatusChanged(inmate=state, previous_status=previous.value)
    raise TypeError(f"no published fact for {type(event).__name__}")
