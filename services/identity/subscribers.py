"""Thin subscribers of the identity service."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.identity.config import SERVICE
from services.identity.legal_basis import apply_agreement
from services.identity.unit_of_work import UnitOfWork
from shared.events.agreements import AgreementState, RealisationUpdated
from shared.messaging import BatchHandler, Delivery, Subscription, claim_fresh, stream_of

GROUP = SERVICE
AGREEMENTS_STREAM = stream_of("agreements")
# A realisation moves only an action-plan item's realised quantity: the legal basis (status,
# dates, scope of each agreement) stays as it was.
SKIPPED_TYPES = frozenset({RealisationUpdated.event_type})


def on_agreements_events(uow_factory: Callable[[], UnitOfWork]) -> BatchHandler:
    def handle(deliveries: Sequence[Delivery]) -> None:
        with uow_factory() as uow:
            for delivery in claim_fresh(uow.session, deliveries, GROUP):
                state = getattr(delivery.payload, "agreement", None)
                if isinstance(state, AgreementState):
                    apply_agreement(
                        uow.session, delivery.event.facility, state, delivery.event.sequence
                    )
            uow.commit()

    return handle


def subscriptions(uow_factory: Callable[[], UnitOfWork]) -> list[Subscription]:
    return [
        Subscription(
            AGREEMENTS_STREAM, GROUP, on_agreements_events(uow_factory), skip=SKIPPED_TYPES
        )
    ]
