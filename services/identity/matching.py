"""Matching (pemadanan) jobs: resumable batches of people checked against the civil registry.

A job is written in one transaction: the job row and one item (``pending``) per person. The
runner then repeats, with at most ``registry_concurrency`` batches in flight process-wide:

1. claim up to ``registry_batch_size`` pending items: a batch row (``sent``, its id is the
   registry transaction id) and the items marked ``sent``, committed **before** any call;
2. decrypt those NIKs in memory only, send them (or, for a batch found ``sent`` after a
   restart, first ask the registry for that transaction's answer, and send it again under the
   same id only if the registry does not know it);
3. apply the answer in one transaction: each person's ``record_match`` through the unit of
   work (status facts to the outbox), items ``done`` with their outcome, the batch ``done``
   (only if it was still ``sent``: an answer is applied once), and one access-audit row.

A killed process therefore leaves only ``pending`` items (sent again) and ``sent`` batches
(asked about first). Every call needs an agreement in force covering NIK matching, checked
when the job starts and again before every call; without one the job is cancelled.

Outcomes of an item: ``matched``, ``partial``, ``not_found`` (the registry's verdicts),
``invalid`` (structurally invalid NIK, never sent, or an item the registry rejected) and
``skipped`` (no NIK, not in custody at this facility, unknown id, already in another running
job, or its NIK changed while the answer was on its way).

A validated person whose re-check fully matches (and is not reported dead) stays validated:
re-validation must not undo an officer's confirmation when nothing changed.

Several replicas may run jobs: claims lock rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
serialised writers on SQLite), the registry deduplicates transaction ids, and a batch is
applied only while it is still ``sent``. Jobs are resumed when a process starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import Engine, Table, func, insert, update
from sqlmodel import Session, col, select

from services.identity import domain
from services.identity.audit import Access, record_access
from services.identity.legal_basis import LegalBasis, NoLegalBasisError, legal_basis
from services.identity.names import canonical_name
from services.identity.orm import InmateRow, MatchingBatchRow, MatchingItemRow, MatchingJobRow
from services.identity.protection import NikVault
from services.identity.registry_client import (
    RegistryAnswer,
    RegistryClient,
    RegistryQuery,
    RegistryRefusedError,
    RegistryUnavailableError,
    TransactionLostError,
)
from services.identity.repository import ConcurrencyError
from services.identity.unit_of_work import UnitOfWork
from shared.messaging.waiting import sleep_or_stop
from shared.observability.context import log_context
from shared.persistence.engine import read_only

__all__ = [
    "JobProgress",
    "JobStatus",
    "MatchingService",
    "NoLegalBasisError",
    "Outcome",
    "busy_people",
    "create_job",
]

log = logging.getLogger(__name__)

PENDING: Final = "pending"
SENT: Final = "sent"
DONE: Final = "done"
LOST: Final = "lost"  # a batch the registry accepted then forgot; its items were sent again
IN_CUSTODY: Final = (domain.CustodyStatus.DETAINEE.value, domain.CustodyStatus.CONVICT.value)
APPLY_ATTEMPTS: Final = 5
MAX_ITEM_ATTEMPTS: Final = 5
SYSTEM_ACTOR: Final = "system:matching"
IN_CHUNK: Final = 500  # ids per IN list

_job: Table = MatchingJobRow.__table__  # type: ignore[attr-defined]
_item: Table = MatchingItemRow.__table__  # type: ignore[attr-defined]
_inmate: Table = InmateRow.__table__  # type: ignore[attr-defined]
# What a batch needs of each person: whether it may be sent, and what to send.
_SENDABLE: Final = tuple(
    _inmate.c[name]
    for name in (
        "id",
        "facility",
        "custody_status",
        "nik_problems",
        "nik_hash",
        "nik_ciphertext",
        "name",
        "birth_place",
        "birth_date",
        "mother_name",
        "sex",
    )
)


class JobStatus:
    RUNNING: Final = "running"
    COMPLETED: Final = "completed"
    CANCELLED: Final = "cancelled"


class Outcome:
    MATCHED: Final = "matched"
    PARTIAL: Final = "partial"
    NOT_FOUND: Final = "not_found"
    INVALID: Final = "invalid"
    SKIPPED: Final = "skipped"


# Each outcome is also the name of its counter column on the job row.
OUTCOMES: Final = (
    Outcome.MATCHED,
    Outcome.PARTIAL,
    Outcome.NOT_FOUND,
    Outcome.INVALID,
    Outcome.SKIPPED,
)


@dataclass(frozen=True)
class JobProgress:
    job_id: str
    facility: str
    purpose: str
    requested_by: str
    agreement_id: str
    status: str
    total: int
    pending: int
    sent: int
    done: int
    outcomes: dict[str, int]
    created_at: datetime
    finished_at: datetime | None
    detail: str | None
    breaker: str


@dataclass
class _Batch:
    """What a batch sends, in memory only: the queries hold decrypted NIKs."""

    job_id: str
    facility: str
    purpose: str
    queries: list[RegistryQuery] = field(default_factory=list)
    local: dict[str, str] = field(default_factory=dict)  # person -> outcome, never sent
    hashes: dict[str, str] = field(default_factory=dict)  # person -> NIK hash when loaded


@dataclass
class _Claimed:
    """A batch just claimed, with what the claim's transaction read for it."""

    batch_id: str
    batch: _Batch
    basis: LegalBasis


def _now() -> datetime:
    return datetime.now(UTC)


def create_job(
    session: Session,
    *,
    facility: str,
    purpose: str,
    requested_by: str,
    agreement_id: str,
    person_ids: Sequence[str] | None,
) -> str:
    """Write a job and its items in the caller's transaction; the caller schedules the run.

    Without ``person_ids``: everyone in custody at ``facility`` whose NIK status is matchable
    and who is not already in a running job. With ``person_ids``: those people; ones that
    cannot be sent get their outcome at once (``invalid`` or ``skipped``).
    """
    busy = busy_people(session)
    items: dict[str, tuple[str, str | None]] = {}  # person -> (state, outcome)
    if person_ids is None:
        rows = session.exec(
            select(InmateRow.id).where(
                col(InmateRow.facility) == facility,
                col(InmateRow.custody_status).in_(IN_CUSTODY),
                col(InmateRow.nik_status).in_([s.value for s in domain.MATCHABLE]),
            )
        ).all()
        items = {person_id: (PENDING, None) for person_id in rows if person_id not in busy}
    else:
        wanted = list(dict.fromkeys(person_ids))
        found = {
            row.id: row
            for chunk in _chunks(wanted, 500)
            for row in session.exec(select(InmateRow).where(col(InmateRow.id).in_(chunk)))
        }
        for person_id in wanted:
            items[person_id] = _initial_item(found.get(person_id), facility, person_id in busy)
    job_id = str(uuid.uuid4())
    now = _now()
    finished = all(state == DONE for state, _ in items.values())
    outcomes = Counter(outcome for state, outcome in items.values() if state == DONE and outcome)
    session.execute(
        insert(MatchingJobRow),
        [
            {
                "id": job_id,
                "facility": facility,
                "purpose": purpose,
                "agreement_id": agreement_id,
                "requested_by": requested_by,
                "created_at": now,
                "finished_at": now if finished else None,
                "status": JobStatus.COMPLETED if finished else JobStatus.RUNNING,
                "total": len(items),
                "detail": None,
                "sent": 0,
                "done": sum(outcomes.values()),
                **{name: outcomes[name] for name in OUTCOMES},
            }
        ],
    )
    if items:
        session.execute(
            insert(MatchingItemRow),
            [
                {
                    "job_id": job_id,
                    "person_id": person_id,
                    "state": state,
                    "batch_id": None,
                    "outcome": outcome,
                    "attempts": 0,
                }
                for person_id, (state, outcome) in items.items()
            ],
        )
    return job_id


def busy_people(session: Session) -> set[str]:
    """People with an unfinished item in a running job: not to be put in another one."""
    return set(
        session.exec(
            select(MatchingItemRow.person_id)
            .join(MatchingJobRow, col(MatchingJobRow.id) == col(MatchingItemRow.job_id))
            .where(
                col(MatchingJobRow.status) == JobStatus.RUNNING,
                col(MatchingItemRow.state).in_((PENDING, SENT)),
            )
        ).all()
    )


def _initial_item(row: Any, facility: str, busy: bool) -> tuple[str, str | None]:
    """``row``: an ``InmateRow``, a table row with its sendable columns, or None."""
    if row is None or row.facility != facility or row.custody_status not in IN_CUSTODY or busy:
        return DONE, Outcome.SKIPPED
    if row.nik_problems:
        return DONE, Outcome.INVALID  # structurally invalid: never sent
    if row.nik_hash is None or row.nik_ciphertext is None:
        return DONE, Outcome.SKIPPED  # no NIK to check
    return PENDING, None


def _chunks(values: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _move_counts(
    session: Session, job_id: str, *, sent: int = 0, outcomes: Mapping[str, int] | None = None
) -> None:
    """Keep the job row's progress counters in step with the items this transaction moved."""
    values: dict[str, Any] = {}
    if sent:
        values["sent"] = _job.c.sent + sent
    done = sum((outcomes or {}).values())
    if done:
        values["done"] = _job.c.done + done
    for outcome, n in (outcomes or {}).items():
        if n:
            values[outcome] = _job.c[outcome] + n
    if values:
        session.execute(update(_job).where(_job.c.id == job_id).values(values))


class MatchingService:
    """Starts, runs, resumes and reports matching jobs; one per process."""

    def __init__(
        self,
        *,
        engine: Engine,
        uow: Callable[[], UnitOfWork],
        vault: NikVault,
        registry: RegistryClient,
        batch_size: int,
        concurrency: int,
        today: Callable[[], date],
    ) -> None:
        self._engine = engine
        self._reader = read_only(engine)
        self._uow = uow
        self._vault = vault
        self.registry = registry
        self._batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self._today = today
        self._stop = asyncio.Event()
        self._runners: dict[str, asyncio.Task[None]] = {}

    # -- starting and stopping -------------------------------------------------------------

    async def start_job(
        self, facility: str, purpose: str, requested_by: str, person_ids: Sequence[str] | None
    ) -> str:
        """Create a job under the legal basis in force today and schedule its run.

        Raises :class:`NoLegalBasisError` (nothing written, nothing sent) without one.
        """

        def create() -> str:
            with Session(self._engine) as session, session.begin():
                basis = legal_basis(session, facility, self._today())
                return create_job(
                    session,
                    facility=facility,
                    purpose=purpose,
                    requested_by=requested_by,
                    agreement_id=basis.agreement_id,
                    person_ids=person_ids,
                )

        job_id = await asyncio.to_thread(create)
        log.info("matching job %s created", job_id, extra={"job_id": job_id})
        self.schedule(job_id)
        return job_id

    def schedule(self, job_id: str) -> None:
        """Run a job in the background (no-op if it already runs here or we are stopping)."""
        if self._stop.is_set() or job_id in self._runners:
            return
        task = asyncio.create_task(self._run(job_id), name=f"matching job {job_id}")
        self._runners[job_id] = task
        task.add_done_callback(lambda _: self._runners.pop(job_id, None))

    async def resume(self) -> list[str]:
        """Schedule every job still ``running`` (called when the service starts)."""
        running = await asyncio.to_thread(self._running_jobs)
        for job_id in running:
            log.info("resuming matching job %s", job_id, extra={"job_id": job_id})
            self.schedule(job_id)
        return running

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Claim nothing more; batches in flight get ``timeout_s`` to finish, else stay sent."""
        self._stop.set()
        tasks = list(self._runners.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout_s)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> frozenset[str]:
        return frozenset(self._runners)

    async def wait(self, job_id: str) -> None:
        """Until this process's runner of the job ends (tests, the CLI)."""
        task = self._runners.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    # -- the runner ------------------------------------------------------------------------

    async def _run(self, job_id: str) -> None:
        with log_context(correlation_id=job_id):
            try:
                await self._run_job(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("matching job %s stopped on an error", job_id)

    async def _run_job(self, job_id: str) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        resumed = await asyncio.to_thread(self._sent_batches, job_id)
        try:
            for sent_id in resumed:
                if not await self._take_slot():
                    return
                in_flight.add(self._spawn(job_id, sent_id, resumed=True))
            while not self._stop.is_set():
                if not await self._take_slot():
                    break
                try:
                    claimed = await asyncio.to_thread(self._claim, job_id)
                except NoLegalBasisError as error:
                    self._slots.release()
                    await asyncio.to_thread(self._cancel, job_id, f"legal basis ended: {error}")
                    break
                except BaseException:
                    self._slots.release()
                    raise
                if claimed is None:
                    self._slots.release()
                    if in_flight:  # items of a failed batch may come back as pending
                        await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                        in_flight = {t for t in in_flight if not t.done()}
                        continue
                    break
                in_flight.add(self._spawn(job_id, claimed.batch_id, resumed=False, claimed=claimed))
                in_flight = {t for t in in_flight if not t.done()}
            if in_flight:
                await asyncio.wait(in_flight)
        finally:
            if in_flight and any(not t.done() for t in in_flight):
                for task in in_flight:
                    task.cancel()
                await asyncio.gather(*in_flight, return_exceptions=True)
        if not self._stop.is_set():
            await asyncio.to_thread(self._finish_if_complete, job_id)

    async def _take_slot(self) -> bool:
        """A place for one more batch in flight, unless the service is stopping."""
        if self._stop.is_set():
            return False
        stop = asyncio.create_task(self._stop.wait())
        slot = asyncio.create_task(self._slots.acquire())
        await asyncio.wait({stop, slot}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if slot.done() and not slot.cancelled():
            if self._stop.is_set():
                self._slots.release()
                return False
            return True
        slot.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await slot
        if slot.done() and not slot.cancelled():  # acquired while being cancelled
            self._slots.release()
        return False

    def _spawn(
        self, job_id: str, batch_id: str, *, resumed: bool, claimed: _Claimed | None = None
    ) -> asyncio.Task[None]:
        async def run() -> None:
            try:
                await self._process(job_id, batch_id, resumed, claimed)
            finally:
                self._slots.release()

        return asyncio.create_task(run(), name=f"matching batch {batch_id}")

    async def _process(
        self, job_id: str, batch_id: str, ask_first: bool, claimed: _Claimed | None
    ) -> None:
        backoff_s = 1.0
        while True:
            if claimed is not None:  # the claim has just read the batch and the basis
                batch, basis, claimed = claimed.batch, claimed.basis, None
            else:
                loaded = await asyncio.to_thread(self._load, batch_id)
                if loaded is None:
                    return  # applied meanwhile (another replica)
                batch = loaded
                try:
                    basis = await asyncio.to_thread(self._basis, batch.facility)
                except NoLegalBasisError as error:
                    await asyncio.to_thread(self._cancel, job_id, f"legal basis ended: {error}")
                    return
            try:
                answers: dict[str, RegistryAnswer] = {}
                if batch.queries:
                    answers = await self._ask(batch, batch_id, ask_first)
                await asyncio.to_thread(self._apply, batch_id, batch, answers, basis)
                return
            except TransactionLostError:
                log.warning("registry lost transaction %s; its items go back", batch_id)
                await asyncio.to_thread(self._give_back, job_id, batch_id)
                return
            except RegistryRefusedError as error:
                log.error("registry refused batch %s: %s", batch_id, error)
                await asyncio.to_thread(self._cancel, job_id, f"registry refused: {error}")
                return
            except RegistryUnavailableError as error:
                ask_first = True  # it may have been accepted before the failure
                wait_s = max(backoff_s, self.registry.breaker.retry_in_s)
                log.warning("batch %s waits %.1f s for the registry: %s", batch_id, wait_s, error)
                await sleep_or_stop(self._stop, wait_s)
                if self._stop.is_set():
                    return  # stays sent, resumed at the next start
                backoff_s = min(backoff_s * 2, 30.0)
            finally:
                batch.queries.clear()  # drop the decrypted NIKs as soon as possible

    async def _ask(
        self, batch: _Batch, batch_id: str, ask_first: bool
    ) -> dict[str, RegistryAnswer]:
        if ask_first:
            known = await self.registry.status(batch_id)
            if known is not None:
                log.info("answer of batch %s fetched, not sent again", batch_id)
                return known
        return await self.registry.search(batch.queries, batch_id)

    # -- the transactions (run in worker threads) -------------------------------------------

    def _basis(self, facility: str) -> LegalBasis:
        with Session(self._reader) as session:
            return legal_basis(session, facility, self._today())

    def _running_jobs(self) -> list[str]:
        with Session(self._reader) as session:
            return list(
                session.exec(
                    select(MatchingJobRow.id)
                    .where(col(MatchingJobRow.status) == JobStatus.RUNNING)
                    .order_by(col(MatchingJobRow.created_at))
                ).all()
            )

    def _sent_batches(self, job_id: str) -> list[str]:
        with Session(self._reader) as session:
            return list(
                session.exec(
                    select(MatchingBatchRow.id).where(
                        col(MatchingBatchRow.job_id) == job_id,
                        col(MatchingBatchRow.state) == SENT,
                    )
                ).all()
            )

    def _claim(self, job_id: str) -> _Claimed | None:
        """Move up to one batch of pending items to a new ``sent`` batch, before any call.

        The same transaction checks the legal basis (raises :class:`NoLegalBasisError`,
        claiming nothing) and reads what is to be sent; NIKs are decrypted after it commits.
        """
        with Session(self._engine) as session, session.begin():
            job = session.get(MatchingJobRow, job_id)
            if job is None or job.status != JobStatus.RUNNING:
                return None
            basis = legal_basis(session, job.facility, self._today())
            person_ids = list(
                session.exec(
                    select(MatchingItemRow.person_id)
                    .where(
                        col(MatchingItemRow.job_id) == job_id,
                        col(MatchingItemRow.state) == PENDING,
                    )
                    .order_by(col(MatchingItemRow.person_id))
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                ).all()
            )
            if not person_ids:
                return None
            batch_id = str(uuid.uuid4())
            session.execute(
                insert(MatchingBatchRow),
                [
                    {
                        "id": batch_id,
                        "job_id": job_id,
                        "state": SENT,
                        "size": len(person_ids),
                        "sent_at": _now(),
                    }
                ],
            )
            claimed = 0
            for chunk in _chunks(person_ids, IN_CHUNK):
                moved = session.execute(
                    update(_item)
                    .where(
                        _item.c.job_id == job_id,
                        _item.c.person_id.in_(chunk),
                        _item.c.state == PENDING,
                    )
                    .values(state=SENT, batch_id=batch_id, attempts=_item.c.attempts + 1)
                )
                claimed += moved.rowcount  # type: ignore[attr-defined]
            _move_counts(session, job_id, sent=claimed)
            people = _sendable(session, person_ids)
            facility, purpose = job.facility, job.purpose
        batch = self._batch(job_id, facility, purpose, person_ids, people)
        return _Claimed(batch_id, batch, basis)

    def _load(self, batch_id: str) -> _Batch | None:
        """A batch still ``sent`` (resumed, or sent again after an outage), read again."""
        with Session(self._reader) as session:
            row = session.get(MatchingBatchRow, batch_id)
            if row is None or row.state != SENT:
                return None
            job = session.get(MatchingJobRow, row.job_id)
            assert job is not None
            person_ids = list(
                session.exec(
                    select(MatchingItemRow.person_id).where(
                        col(MatchingItemRow.job_id) == row.job_id,
                        col(MatchingItemRow.batch_id) == batch_id,
                        col(MatchingItemRow.state) == SENT,
                    )
                ).all()
            )
            people = _sendable(session, person_ids)
            job_id, facility, purpose = row.job_id, job.facility, job.purpose
        return self._batch(job_id, facility, purpose, person_ids, people)

    def _batch(
        self,
        job_id: str,
        facility: str,
        purpose: str,
        person_ids: Sequence[str],
        people: Mapping[str, Any],
    ) -> _Batch:
        """The batch's queries with NIKs decrypted (memory only); unsendable items aside."""
        batch = _Batch(job_id, facility, purpose)
        for person_id in person_ids:
            person = people.get(person_id)
            outcome = _initial_item(person, facility, busy=False)[1]
            if outcome is not None or person is None or person.nik_ciphertext is None:
                batch.local[person_id] = outcome or Outcome.SKIPPED
                continue
            batch.hashes[person_id] = person.nik_hash
            batch.queries.append(
                RegistryQuery(
                    reference_id=person_id,
                    nik=self._vault.decrypt(person.nik_ciphertext),
                    name=canonical_name(person.name),
                    birth_place=person.birth_place,
                    birth_date=person.birth_date,
                    mother_name=person.mother_name,
                    sex="P" if person.sex == domain.Sex.FEMALE.value else "L",
                )
            )
        return batch

    def _apply(
        self,
        batch_id: str,
        batch: _Batch,
        answers: dict[str, RegistryAnswer],
        basis: LegalBasis,
    ) -> None:
        sent = len(batch.queries)
        for attempt in range(1, APPLY_ATTEMPTS + 1):
            try:
                self._apply_once(batch_id, batch, answers, basis, sent)
                return
            except ConcurrencyError:
                if attempt == APPLY_ATTEMPTS:
                    raise
                log.info("batch %s met a concurrent change; applying again", batch_id)

    def _apply_once(
        self,
        batch_id: str,
        batch: _Batch,
        answers: dict[str, RegistryAnswer],
        basis: LegalBasis,
        sent: int,
    ) -> None:
        with self._uow() as uow:
            session = uow.session
            claimed = session.execute(
                update(MatchingBatchRow)
                .where(col(MatchingBatchRow.id) == batch_id, col(MatchingBatchRow.state) == SENT)
                .values(state=DONE)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return  # already applied: an answer counts once
            items = session.execute(
                select(_item.c.person_id, _item.c.attempts).where(
                    _item.c.job_id == batch.job_id,
                    _item.c.batch_id == batch_id,
                    _item.c.state == SENT,
                )
            ).all()
            inmates = uow.inmates.get_many(
                item.person_id
                for item in items
                if item.person_id not in batch.local and item.person_id in answers
            )
            rejected: Counter[str] = Counter()
            outcomes: dict[str, str] = {}
            back_to_pending: list[str] = []
            for item in items:
                person_id = item.person_id
                if person_id in batch.local:
                    outcomes[person_id] = batch.local[person_id]
                    continue
                answer = answers.get(person_id)
                if answer is None:
                    if item.attempts < MAX_ITEM_ATTEMPTS:
                        back_to_pending.append(person_id)
                    else:
                        outcomes[person_id] = Outcome.SKIPPED
                    continue
                inmate = inmates.get(person_id)
                if (
                    inmate is None
                    or inmate.nik is None
                    or inmate.nik.lookup_hash != batch.hashes.get(person_id)
                ):
                    outcomes[person_id] = Outcome.SKIPPED  # the NIK changed meanwhile
                    continue
                if not answer.accepted:
                    rejected[answer.reason_code or "rjct"] += 1
                    outcomes[person_id] = Outcome.INVALID
                    if answer.reason_code == "rjct.nik.invalid":
                        inmate.record_match(
                            domain.MatchOutcome(domain.MatchKind.INVALID, job_id=batch.job_id)
                        )
                    continue
                result = domain.match_outcome(
                    answer.nik_found, dict(answer.verification), answer.alive, batch.job_id
                )
                outcomes[person_id] = result.kind.value
                if not _confirms_validation(inmate, result):
                    inmate.record_match(result)
            for outcome, people in _group(outcomes).items():
                for chunk in _chunks(people, IN_CHUNK):
                    session.execute(
                        update(_item)
                        .where(
                            _item.c.job_id == batch.job_id,
                            _item.c.person_id.in_(chunk),
                            _item.c.batch_id == batch_id,
                        )
                        .values(state=DONE, outcome=outcome)
                    )
            for chunk in _chunks(back_to_pending, IN_CHUNK):
                session.execute(
                    update(_item)
                    .where(
                        _item.c.job_id == batch.job_id,
                        _item.c.person_id.in_(chunk),
                        _item.c.batch_id == batch_id,
                    )
                    .values(state=PENDING, batch_id=None)
                )
            _move_counts(
                session,
                batch.job_id,
                sent=-len(items),
                outcomes=Counter(outcomes.values()),
            )
            if rejected:
                _add_rejections(session, batch.job_id, rejected)
            if sent:
                record_access(
                    session,
                    facility=batch.facility,
                    actor=SYSTEM_ACTOR,
                    action=Access.MATCHING_CALL,
                    purpose=batch.purpose,
                    agreement_id=basis.agreement_id,
                    items=sent,
                )
            uow.commit()
        log.info(
            "batch %s applied: %d sent, %d answered locally",
            batch_id,
            sent,
            len(batch.local),
            extra={"job_id": batch.job_id, "batch_id": batch_id},
        )

    def _give_back(self, job_id: str, batch_id: str) -> None:
        """The registry forgot an accepted transaction: its items are sent again, new id."""
        with Session(self._engine) as session, session.begin():
            done = session.execute(
                update(MatchingBatchRow)
                .where(col(MatchingBatchRow.id) == batch_id, col(MatchingBatchRow.state) == SENT)
                .values(state=LOST)
            )
            if done.rowcount == 1:  # type: ignore[attr-defined]
                back = session.execute(
                    update(_item)
                    .where(
                        _item.c.job_id == job_id,
                        _item.c.batch_id == batch_id,
                        _item.c.state == SENT,
                    )
                    .values(state=PENDING, batch_id=None)
                )
                _move_counts(session, job_id, sent=-back.rowcount)  # type: ignore[attr-defined]

    def _cancel(self, job_id: str, reason: str) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(
                update(MatchingJobRow)
                .where(col(MatchingJobRow.id) == job_id, col(MatchingJobRow.status) == "running")
                .values(status=JobStatus.CANCELLED, finished_at=_now(), detail=reason[:1000])
            )
        log.warning("matching job %s cancelled: %s", job_id, reason)

    def _finish_if_complete(self, job_id: str) -> None:
        with Session(self._engine) as session, session.begin():
            open_items = session.exec(
                select(func.count())
                .select_from(MatchingItemRow)
                .where(
                    col(MatchingItemRow.job_id) == job_id,
                    col(MatchingItemRow.state).in_((PENDING, SENT)),
                )
            ).one()
            if open_items:
                return
            finished = session.execute(
                update(MatchingJobRow)
                .where(
                    col(MatchingJobRow.id) == job_id,
                    col(MatchingJobRow.status) == JobStatus.RUNNING,
                )
                .values(status=JobStatus.COMPLETED, finished_at=_now())
            )
        if finished.rowcount == 1:  # type: ignore[attr-defined]
            log.info("matching job %s completed", job_id, extra={"job_id": job_id})

    # -- reading -----------------------------------------------------------------------------

    def job_progress(self, job_id: str) -> JobProgress | None:
        with Session(self._reader) as session:
            job = session.get(MatchingJobRow, job_id)
            return self._progress(job) if job is not None else None

    def list_jobs(
        self, facility: str, status: str | None = None, limit: int = 100
    ) -> list[JobProgress]:
        with Session(self._reader) as session:
            query = select(MatchingJobRow).where(col(MatchingJobRow.facility) == facility)
            if status is not None:
                query = query.where(col(MatchingJobRow.status) == status)
            jobs = session.exec(
                query.order_by(col(MatchingJobRow.created_at).desc()).limit(limit)
            ).all()
            return [self._progress(job) for job in jobs]

    def _progress(self, job: MatchingJobRow) -> JobProgress:
        """From the job row's counters alone: no count over the items."""
        counts = {
            Outcome.MATCHED: job.matched,
            Outcome.PARTIAL: job.partial,
            Outcome.NOT_FOUND: job.not_found,
            Outcome.INVALID: job.invalid,
            Outcome.SKIPPED: job.skipped,
        }
        return JobProgress(
            job_id=job.id,
            facility=job.facility,
            purpose=job.purpose,
            requested_by=job.requested_by,
            agreement_id=job.agreement_id,
            status=job.status,
            total=job.total,
            pending=job.total - job.sent - job.done,
            sent=job.sent,
            done=job.done,
            outcomes={outcome: n for outcome, n in counts.items() if n},
            created_at=_aware(job.created_at),
            finished_at=_aware(job.finished_at) if job.finished_at else None,
            detail=job.detail,
            breaker=self.registry.breaker.state.value,
        )


def _confirms_validation(inmate: domain.Inmate, result: domain.MatchOutcome) -> bool:
    return (
        inmate.nik_status is domain.NikStatus.VALIDATED
        and result.kind is domain.MatchKind.MATCHED
        and result.alive is not False
    )


def _group(outcomes: dict[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for person_id, outcome in outcomes.items():
        grouped.setdefault(outcome, []).append(person_id)
    return grouped


def _add_rejections(session: Session, job_id: str, rejected: Counter[str]) -> None:
    """Keep the registry's rejection reason codes (counts) in the job's detail."""
    job = session.get(MatchingJobRow, job_id)
    if job is None:
        return
    try:
        known: dict[str, Any] = json.loads(job.detail) if job.detail else {}
    except ValueError:
        known = {}
    reasons = Counter(known.get("rejected", {}))
    reasons.update(rejected)
    job.detail = json.dumps({**known, "rejected": dict(reasons)})[:1000]
    session.add(job)


def _sendable(session: Session, person_ids: Sequence[str]) -> dict[str, Any]:
    """The sendable columns of these people, by id (rows of people since gone are absent)."""
    found: dict[str, Any] = {}
    for chunk in _chunks(person_ids, IN_CHUNK):
        for row in session.execute(select(*_SENDABLE).where(_inmate.c.id.in_(chunk))):
            found[row.id] = row
    return found


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
