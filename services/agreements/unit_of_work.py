"""One transaction per use case: aggregate changes and the facts they caused commit together."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from services.agreements import publishing
from services.agreements.config import SERVICE
from services.agreements.repository import AgreementRepository, PartnerRepository
from shared.events import CloudEvent
from shared.messaging import stream_of
from shared.persistence.unit_of_work import SqlUnitOfWork

STREAM = stream_of(SERVICE)


class UnitOfWork(SqlUnitOfWork):
    partners: PartnerRepository
    agreements: AgreementRepository

    def __init__(
        self,
        engine: Engine,
        on_commit: Callable[[], None] = lambda: None,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> None:
        super().__init__(
            engine, STREAM, on_commit, correlation_id=correlation_id, causation_id=causation_id
        )

    def _open(self, session: Session) -> None:
        self.partners = PartnerRepository(session)
        self.agreements = AgreementRepository(session)

    def _flush(self) -> None:
        self.partners.flush()
        self.agreements.flush()

    def _collect_facts(self) -> list[CloudEvent]:
        facts: list[CloudEvent] = []
        for partner, _ in self.partners.seen.values():
            facts += publishing.partner_facts(partner, self.correlation_id, self.causation_id)
            partner.events.clear()
        for agreement, _ in self.agreements.seen.values():
            facts += publishing.agreement_facts(agreement, self.correlation_id, self.causation_id)
            agreement.events.clear()
        return facts
