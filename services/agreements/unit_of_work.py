"""One transaction per use case: aggregate changes and the facts they caused commit together."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy import Engine
from sqlmodel import Session

from services.agreements import publishing
from services.agreements.config import SERVICE
from services.agreements.repository import AgreementRepository, PartnerRepository
from shared.events import CloudEvent
from shared.messaging import add_to_outbox, stream_of

STREAM = stream_of(SERVICE)


class UnitOfWork:
    partners: PartnerRepository
    agreements: AgreementRepository
    session: Session

    def __init__(
        self,
        engine: Engine,
        on_commit: Callable[[], None] = lambda: None,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> None:
        self._engine = engine
        self._on_commit = on_commit
        self.correlation_id = correlation_id
        self.causation_id = causation_id

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self._engine, expire_on_commit=False)
        self.session.begin()
        self.partners = PartnerRepository(self.session)
        self.agreements = AgreementRepository(self.session)
        self._staged: list[CloudEvent] = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.session.in_transaction():
            self.session.rollback()
        self.session.close()

    def stage_facts(self) -> None:
        """Turn the events recorded so far into facts, under the current correlation ids.

        A consumer applying a batch calls this after each event, so every fact names the
        event that caused it.
        """
        self._staged += self._collect_facts()

    def commit(self) -> None:
        self.stage_facts()
        self.partners.flush()
        self.agreements.flush()
        published = add_to_outbox(self.session, STREAM, self._staged)
        self._staged = []
        self.session.commit()
        if published:
            self._on_commit()

    def rollback(self) -> None:
        self.session.rollback()

    def _collect_facts(self) -> list[CloudEvent]:
        facts: list[CloudEvent] = []
        for partner, _ in self.partners.seen.values():
            facts += publishing.partner_facts(partner, self.correlation_id, self.causation_id)
            partner.events.clear()
        for agreement, _ in self.agreements.seen.values():
            facts += publishing.agreement_facts(agreement, self.correlation_id, self.causation_id)
            agreement.events.clear()
        return facts
