"""Keeping results current: the registry's changes feed, and periodic re-validation.

Every ``registry_changes_interval_s`` the loop

1. reads ``GET /registry/changes?after=<cursor>`` page by page (the cursor is kept in
   ``registry_cursor``). For each change (a death or a correction) the people holding that
   NIK are found by its keyed hash, never by the number, and ``registry_changed()`` sends
   them back to ``unverified``. The page's changes, the new cursor, one access-audit row
   (``resync_call``) and a re-check job per facility (purpose "re-check after registry
   change") commit in one transaction; the jobs then run like any other.
2. starts a re-validation job, per facility, for people in custody whose last registry check
   (the time of the batch that carried it) is older than ``revalidation_days``.

Reading the feed is itself an access to population data: it needs the legal basis of the
instance's own facility (``SINERGI_FACILITY``); each re-check job needs its facility's.
Without one nothing is called, and the loop tries again next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.identity import domain
from services.identity.audit import Access, record_access
from services.identity.legal_basis import NoLegalBasisError, legal_basis
from services.identity.matching import (
    DONE,
    IN_CUSTODY,
    MatchingService,
    Outcome,
    busy_people,
    create_job,
)
from services.identity.orm import InmateRow, MatchingBatchRow, MatchingItemRow, RegistryCursorRow
from services.identity.protection import NikVault
from services.identity.registry_client import RegistryClient, RegistryError
from services.identity.unit_of_work import UnitOfWork
from shared.messaging.waiting import sleep_or_stop
from shared.observability.context import log_context

__all__ = ["RECHECK_PURPOSE", "REVALIDATION_PURPOSE", "RegistrySync"]

log = logging.getLogger(__name__)

CURSOR: Final = "changes"
RECHECK_PURPOSE: Final = "re-check after registry change"
REVALIDATION_PURPOSE: Final = "periodic re-validation"
ACTOR: Final = "system:resync"
MAX_PAGES_PER_ROUND: Final = 50
CHECKED: Final = (Outcome.MATCHED, Outcome.PARTIAL, Outcome.NOT_FOUND)
REVALIDATABLE: Final = tuple(s.value for s in (*domain.MATCHABLE, domain.NikStatus.VALIDATED))


class RegistrySync:
    def __init__(
        self,
        *,
        engine: Engine,
        uow: Callable[[], UnitOfWork],
        vault: NikVault,
        registry: RegistryClient,
        matching: MatchingService,
        facility: str,
        today: Callable[[], date],
        interval_s: float,
        revalidation_days: int,
        page_size: int = 100,
    ) -> None:
        self._engine = engine
        self._uow = uow
        self._vault = vault
        self._registry = registry
        self._matching = matching
        self._facility = facility
        self._today = today
        self._interval_s = interval_s
        self._revalidation_days = revalidation_days
        self._page_size = page_size

    async def run(self, stop: asyncio.Event) -> None:
        """The background loop; returns when ``stop`` is set."""
        while not stop.is_set():
            await self.round()
            await sleep_or_stop(stop, self._interval_s)

    async def round(self) -> None:
        with log_context(correlation_id="registry-resync"):
            try:
                await self.sync_changes()
            except NoLegalBasisError:
                log.info("changes feed not read: no legal basis at %s", self._facility)
            except RegistryError as error:
                log.warning("changes feed not read: %s", error)
            except Exception:
                log.exception("changes feed round failed")
            try:
                await self.revalidate()
            except Exception:
                log.exception("re-validation round failed")

    # -- the changes feed ----------------------------------------------------------------------

    async def sync_changes(self) -> int:
        """Read and apply every new page of the feed; the number of changes applied."""
        applied = 0
        for _ in range(MAX_PAGES_PER_ROUND):
            cursor = await asyncio.to_thread(self._cursor_and_basis)
            changes, next_cursor = await self._registry.changes(cursor, self._page_size)
            if not changes:
                break
            jobs = await asyncio.to_thread(self._apply_page, cursor, changes, next_cursor)
            if jobs is None:
                break  # another replica moved the cursor: it applies this page
            for job_id in jobs:
                self._matching.schedule(job_id)
            applied += len(changes)
        return applied

    def _cursor_and_basis(self) -> int:
        with Session(self._engine) as session:
            legal_basis(session, self._facility, self._today())  # no basis, no call
            row = session.get(RegistryCursorRow, CURSOR)
            return row.position if row else 0

    def _apply_page(
        self, cursor: int, changes: Sequence[dict[str, Any]], next_cursor: int
    ) -> list[str] | None:
        try:
            with self._uow() as uow:
                session = uow.session
                if not _move_cursor(session, cursor, next_cursor):
                    return None
                basis = legal_basis(session, self._facility, self._today())
                affected: dict[str, list[str]] = {}
                for change in changes:
                    nik = str(change.get("nik", ""))
                    if len(nik) != 16 or not nik.isdigit():
                        continue
                    for inmate in uow.inmates.with_nik_hash(self._vault.lookup_hash(nik)):
                        inmate.registry_changed()
                        if inmate.in_custody:
                            affected.setdefault(inmate.facility, []).append(inmate.id)
                record_access(
                    session,
                    facility=self._facility,
                    actor=ACTOR,
                    action=Access.RESYNC_CALL,
                    purpose="civil registry changes feed",
                    agreement_id=basis.agreement_id,
                    items=len(changes),
                )
                jobs = self._recheck_jobs(session, affected, RECHECK_PURPOSE)
                uow.commit()
        except IntegrityError:
            return None  # a concurrent first insert of the cursor
        people = sum(len(ids) for ids in affected.values())
        log.info(
            "registry changes %d..%d applied: %d people to re-check",
            cursor + 1,
            next_cursor,
            people,
        )
        return jobs

    def _recheck_jobs(
        self, session: Session, people: dict[str, list[str]], purpose: str
    ) -> list[str]:
        jobs = []
        for facility, person_ids in sorted(people.items()):
            try:
                basis = legal_basis(session, facility, self._today())
            except NoLegalBasisError:
                log.warning("no legal basis at %s: %d people wait", facility, len(person_ids))
                continue
            jobs.append(
                create_job(
                    session,
                    facility=facility,
                    purpose=purpose,
                    requested_by=ACTOR,
                    agreement_id=basis.agreement_id,
                    person_ids=sorted(set(person_ids)),
                )
            )
        return jobs

    # -- re-validation ---------------------------------------------------------------------------

    async def revalidate(self) -> list[str]:
        """Start re-validation jobs for people last checked over ``revalidation_days`` ago."""
        jobs = await asyncio.to_thread(self._revalidation_jobs)
        for job_id in jobs:
            self._matching.schedule(job_id)
        return jobs

    def _revalidation_jobs(self) -> list[str]:
        cutoff = datetime.now(UTC) - timedelta(days=self._revalidation_days)
        with Session(self._engine) as session, session.begin():
            last_checked = (
                select(
                    col(MatchingItemRow.person_id).label("person_id"),
                    func.max(MatchingBatchRow.sent_at).label("at"),
                )
                .join(MatchingBatchRow, col(MatchingBatchRow.id) == col(MatchingItemRow.batch_id))
                .where(
                    col(MatchingItemRow.state) == DONE,
                    col(MatchingItemRow.outcome).in_(CHECKED),
                )
                .group_by(col(MatchingItemRow.person_id))
                .subquery()
            )
            due = session.exec(
                select(InmateRow.id, InmateRow.facility)
                .join(last_checked, last_checked.c.person_id == col(InmateRow.id))
                .where(
                    last_checked.c.at < cutoff,
                    col(InmateRow.custody_status).in_(IN_CUSTODY),
                    col(InmateRow.nik_status).in_(REVALIDATABLE),
                )
            ).all()
            if not due:
                return []
            busy = busy_people(session)
            people: dict[str, list[str]] = {}
            for person_id, facility in due:
                if person_id not in busy:
                    people.setdefault(facility, []).append(person_id)
            jobs = self._recheck_jobs(session, people, REVALIDATION_PURPOSE)
        if jobs:
            log.info("re-validation: %d jobs for people checked before %s", len(jobs), cutoff)
        return jobs


def _move_cursor(session: Session, cursor: int, next_cursor: int) -> bool:
    """Advance the feed cursor from ``cursor``; False if someone else already moved it."""
    row = session.get(RegistryCursorRow, CURSOR)
    if row is None:
        if cursor != 0:
            return False
        session.execute(insert(RegistryCursorRow), [{"name": CURSOR, "position": next_cursor}])
        return True
    moved = session.execute(
        update(RegistryCursorRow)
        .where(col(RegistryCursorRow.name) == CURSOR, col(RegistryCursorRow.position) == cursor)
        .values(position=next_cursor)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]
