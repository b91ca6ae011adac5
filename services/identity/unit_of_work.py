"""One transaction per use case in the identity service."""

from __future__ import annotations

from sqlmodel import Session

from services.identity import publishing
from services.identity.config import SERVICE
from services.identity.repository import InmateRepository
from shared.events import CloudEvent
from shared.messaging import stream_of
from shared.persistence.unit_of_work import SqlUnitOfWork

STREAM = stream_of(SERVICE)


class UnitOfWork(SqlUnitOfWork):
    inmates: InmateRepository

    def _open(self, session: Session) -> None:
        self.inmates = InmateRepository(session)

    def _flush(self) -> None:
        self.inmates.flush()

    def _collect_facts(self) -> list[CloudEvent]:
        facts: list[CloudEvent] = []
        for inmate, _, _ in self.inmates.seen.values():
            facts += publishing.inmate_facts(inmate, self.correlation_id, self.causation_id)
            inmate.events.clear()
        return facts
