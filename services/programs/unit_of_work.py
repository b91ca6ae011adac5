"""One transaction per use case: aggregate changes and the facts they caused commit together."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from services.programs import publishing
from services.programs.config import SERVICE
from services.programs.repository import (
    EnrolmentRepository,
    KindCatalogue,
    KnownFacts,
    OutcomeRepository,
    SaleRepository,
    SessionRepository,
)
from shared.events import CloudEvent
from shared.messaging import stream_of
from shared.persistence.unit_of_work import SqlUnitOfWork

STREAM = stream_of(SERVICE)


class UnitOfWork(SqlUnitOfWork):
    sessions: SessionRepository
    enrolments: EnrolmentRepository
    outcomes: OutcomeRepository
    sales: SaleRepository
    facts: KnownFacts

    def __init__(
        self,
        engine: Engine,
        stream: str,
        on_commit: Callable[[], None] = lambda: None,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        kinds: KindCatalogue | None = None,
    ) -> None:
        super().__init__(
            engine, stream, on_commit, correlation_id=correlation_id, causation_id=causation_id
        )
        # the process's catalogue, shared by every unit of work; a fresh one when not given
        self._kinds = kinds or KindCatalogue()

    def _open(self, session: Session) -> None:
        self.sessions = SessionRepository(session)
        self.enrolments = EnrolmentRepository(session)
        self.outcomes = OutcomeRepository(session)
        self.sales = SaleRepository(session)
        self.facts = KnownFacts(session, self._kinds)

    def _flush(self) -> None:
        self.sessions.flush()
        self.enrolments.flush()
        self.outcomes.flush()
        self.sales.flush()

    def _collect_facts(self) -> list[CloudEvent]:
        facts: list[CloudEvent] = []
        ids = (self.correlation_id, self.causation_id)
        for session, _ in self.sessions.seen.values():
            facts += publishing.session_facts(session, *ids)
            session.events.clear()
        for enrolment, _ in self.enrolments.seen.values():
            facts += publishing.enrolment_facts(enrolment, *ids)
            enrolment.events.clear()
        for outcome, _ in self.outcomes.seen.values():
            facts += publishing.outcome_facts(outcome, *ids)
            outcome.events.clear()
        for sale, _ in self.sales.seen.values():
            facts += publishing.sale_facts(sale, *ids)
            sale.events.clear()
        return facts
