"""The unit-of-work shape every service shares: one transaction, facts to the outbox."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from shared.events import CloudEvent
from shared.messaging.outbox import add_to_outbox


class ConcurrencyError(Exception):
    """Another transaction changed the same aggregate, or took the same unique key, first."""


class SqlUnitOfWork:
    """Subclasses open their repositories, flush them, and turn recorded events into facts."""

    session: Session

    def __init__(
        self,
        engine: Engine,
        stream: str,
        on_commit: Callable[[], None] = lambda: None,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> None:
        self._engine = engine
        self._stream = stream
        self._on_commit = on_commit
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        # run inside the transaction just before COMMIT (e.g. remembering an Idempotency-Key)
        self.before_commit: list[Callable[[Session], None]] = []

    def __enter__(self) -> Self:
        self.session = Session(self._engine, expire_on_commit=False)
        self.session.begin()
        self._staged: list[CloudEvent] = []
        self._open(self.session)
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
        try:
            self._flush()
            for hook in self.before_commit:
                hook(self.session)
            published = add_to_outbox(self.session, self._stream, self._staged)
            self._staged = []
            self.session.commit()
        except IntegrityError as error:
            self.session.rollback()
            raise ConcurrencyError(
                f"conflicting concurrent write: {type(error.orig).__name__}"
            ) from error
        if published:
            self._on_commit()

    def rollback(self) -> None:
        self.session.rollback()

    def _open(self, session: Session) -> None:
        raise NotImplementedError

    def _flush(self) -> None:
        raise NotImplementedError

    def _collect_facts(self) -> list[CloudEvent]:
        raise NotImplementedError
