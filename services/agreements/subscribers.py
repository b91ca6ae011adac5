"""Thin subscribers: a delivered event becomes a command, applied with its inbox record."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.agreements import commands, domain, handlers
from services.agreements.config import SERVICE
from services.agreements.unit_of_work import UnitOfWork
from shared.events.programs import PAYLOADS, SessionCancelled, SessionHeld
from shared.messaging import (
    BatchHandler,
    Delivery,
    PermanentEventError,
    Subscription,
    claim_fresh,
    stream_of,
)

GROUP = SERVICE
PROGRAMS_STREAM = stream_of("programs")
# Only held and cancelled sessions move a realisation; the other programme facts (scheduled
# sessions, enrolments, outcomes, sales) are acknowledged without a transaction.
APPLIED_TYPES = frozenset({SessionHeld.event_type, SessionCancelled.event_type})
SKIPPED_TYPES = frozenset(p.event_type for p in PAYLOADS) - APPLIED_TYPES


def realisation_command(delivery: Delivery) -> commands.RecordSessionRealisation | None:
    """A held session counts its delivered quantity; a cancelled one counts nothing."""
    payload = delivery.payload
    if not isinstance(payload, SessionHeld | SessionCancelled):
        return None
    session = payload.session
    if session.action_plan_item_id is None:
        return None
    held = isinstance(payload, SessionHeld)
    return commands.RecordSessionRealisation(
        session_id=session.session_id,
        agreement_id=session.agreement_id,
        item_id=session.action_plan_item_id,
        quantity=session.delivered_quantity if held else 0,
        held_on=(session.held_on or session.scheduled_on) if held else session.scheduled_on,
        sequence=delivery.event.sequence,
    )


def on_programs_events(uow_factory: Callable[[], UnitOfWork]) -> BatchHandler:
    def handle(deliveries: Sequence[Delivery]) -> None:
        with uow_factory() as uow:
            for delivery in claim_fresh(uow.session, deliveries, GROUP):
                command = realisation_command(delivery)
                if command is None:
                    continue
                uow.correlation_id = delivery.event.correlationid
                uow.causation_id = delivery.event.id
                try:
                    handlers.record_session_realisation(command, uow)
                except (domain.DomainError, handlers.NotFoundError) as error:
                    raise PermanentEventError("rejected", str(error)) from error
                uow.stage_facts()
            uow.commit()

    return handle


def subscriptions(uow_factory: Callable[[], UnitOfWork]) -> list[Subscription]:
    return [
        Subscription(PROGRAMS_STREAM, GROUP, on_programs_events(uow_factory), skip=SKIPPED_TYPES)
    ]
