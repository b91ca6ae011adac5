"""Thin subscribers: every fact of the three streams updates the read models, with its inbox row."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine
from sqlmodel import Session

from services.dashboard.config import SERVICE
from services.dashboard.read_models import apply_event
from shared.messaging import BatchHandler, Delivery, Subscription, claim_fresh, stream_of

GROUP = SERVICE
SOURCE_STREAMS = tuple(stream_of(s) for s in ("agreements", "programs", "identity"))


def on_facts(engine: Engine) -> BatchHandler:
    def handle(deliveries: Sequence[Delivery]) -> None:
        with Session(engine) as session, session.begin():
            for delivery in claim_fresh(session, deliveries, GROUP):
                apply_event(session, delivery.event, delivery.payload)

    return handle


def subscriptions(engine: Engine) -> list[Subscription]:
    return [Subscription(stream, GROUP, on_facts(engine)) for stream in SOURCE_STREAMS]
