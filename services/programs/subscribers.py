"""Thin subscribers: facts of other services update the read models, with their inbox record.

A release or a transfer out also exits the person's active enrolments (a command).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.programs import commands, handlers
from services.programs.config import SERVICE
from services.programs.read_models import SKIPPED_TYPES, apply_events
from services.programs.unit_of_work import UnitOfWork
from shared.events.identity import InmateReleased, InmateTransferred
from shared.messaging import BatchHandler, Delivery, Subscription, claim_fresh, stream_of

GROUP = SERVICE
AGREEMENTS_STREAM = stream_of("agreements")
IDENTITY_STREAM = stream_of("identity")


def departure_command(delivery: Delivery) -> commands.ExitOnDeparture | None:
    payload = delivery.payload
    if isinstance(payload, InmateReleased):
        return commands.ExitOnDeparture(
            payload.inmate.person_id, None, payload.released_on, "released"
        )
    if isinstance(payload, InmateTransferred):
        return commands.ExitOnDeparture(
            payload.inmate.person_id,
            payload.from_facility,
            payload.transferred_on,
            "transferred",
        )
    return None


def on_facts(uow_factory: Callable[[], UnitOfWork]) -> BatchHandler:
    def handle(deliveries: Sequence[Delivery]) -> None:
        with uow_factory() as uow:
            fresh = claim_fresh(uow.session, deliveries, GROUP)
            # the read models as one batch first: they and the enrolments never read each other
            apply_events(uow.session, [(delivery.event, delivery.payload) for delivery in fresh])
            for delivery in fresh:
                command = departure_command(delivery)
                if command is None:
                    continue
                uow.correlation_id = delivery.event.correlationid
                uow.causation_id = delivery.event.id
                handlers.exit_on_departure(command, uow)
                uow.stage_facts()
            uow.commit()

    return handle


def subscriptions(uow_factory: Callable[[], UnitOfWork]) -> list[Subscription]:
    return [
        Subscription(AGREEMENTS_STREAM, GROUP, on_facts(uow_factory), skip=SKIPPED_TYPES),
        Subscription(IDENTITY_STREAM, GROUP, on_facts(uow_factory), skip=SKIPPED_TYPES),
    ]
