"""A replica's reader for one consumer group: read, validate, apply, acknowledge, reclaim.

Delivery rules:
- entries are read in batches of at most `batch_size` (never the whole backlog), applied
  in one transaction, and acknowledged only after that commit;
- a failing batch is retried entry by entry so one bad event does not hold back the rest;
- an entry that is not a valid event goes to the dead letters at once; one whose handler
  keeps failing is retried on each reclaim until it has failed `max_deliveries` times,
  then dead-lettered; when the database is unreachable the reader pauses instead, and
  nothing counts as a failure;
- a handler whose transaction lost a race to another replica's (`ConcurrencyError`) is run
  again at once on fresh state, up to `CONFLICT_ATTEMPTS` times, before that counts as a
  failure: two replicas applying events of one aggregate conflict often, and that is not
  the event's fault;
- events of a type the subscription skips are acknowledged without calling the handler;
- entries pending on dead replicas are claimed after `claim_idle_ms` (never those this
  consumer's reader is handling right now, however slowly);
- on stop, the batch in hand is finished: nothing read is left stranded.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shared.events import InvalidEventError, parse_event
from shared.messaging.deadletters import dead_letter_fields
from shared.messaging.delivery import Delivery, PermanentEventError, Subscription
from shared.messaging.groups import ensure_group
from shared.messaging.streams import DEADLETTER_STREAM, MAX_ENTRY_BYTES, entry_body, text
from shared.messaging.waiting import sleep_or_stop
from shared.observability.context import log_context
from shared.observability.metrics import Metrics
from shared.observability.redaction import redact
from shared.persistence.unit_of_work import ConcurrencyError

log = logging.getLogger(__name__)
# The database, not the event, is at fault: pause and retry later without counting a failure.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
CONFLICT_ATTEMPTS = 20


class DatabaseUnavailableError(Exception):
    """Applying events failed for a reason outside the events: the reader pauses."""


Entry = tuple[bytes | str, dict[bytes, bytes] | None]


def _entries(reply: Any) -> list[Entry]:
    """The entries of a one-stream XREADGROUP reply (redis-py's types are too wide)."""
    return list(reply[0][1]) if reply else []


@dataclass(frozen=True)
class ConsumerSettings:
    consumer: str
    service: str
    batch_size: int = 100
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    claim_interval_s: float = 5.0
    max_deliveries: int = 5


@dataclass
class _Outcome:
    ack: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    dead: list[dict[str, bytes | str | int]] = field(default_factory=list)


class GroupConsumer:
    def __init__(
        self,
        redis: aioredis.Redis,
        subscription: Subscription,
        settings: ConsumerSettings,
        metrics: Metrics,
    ) -> None:
        self._redis = redis
        self._sub = subscription
        self._settings = settings
        self._metrics = metrics
        self._reasons_key = f"{DEADLETTER_STREAM}.reasons.{subscription.group}"
        self._failures_key = f"{DEADLETTER_STREAM}.failures.{subscription.group}"
        # Redelivered entries whose apply started but never finished: the consumer died on
        # them (a failure is only recorded by a consumer that survives it).
        self._crashes_key = f"{DEADLETTER_STREAM}.crashes.{subscription.group}"
        self.reading = False
        # Entries a handle() call holds and has not settled: slow, not abandoned.
        self._in_hand: set[str] = set()

    @property
    def subscription(self) -> Subscription:
        return self._sub

    async def run(self, stop: asyncio.Event) -> None:
        """Read new entries until stopped; survives Redis outages and lost groups."""
        backoff = 0.1
        drained_own_backlog = False
        while not stop.is_set():
            try:
                await ensure_group(self._redis, self._sub.stream, self._sub.group)
                backoff = 0.1  # reachable again: the next outage starts from a short wait
                if not drained_own_backlog:
                    await self._drain_own_backlog(stop)
                    drained_own_backlog = True
                self.reading = True
                await self._read_new(stop)
            except (RedisError, OSError, DatabaseUnavailableError) as error:
                self.reading = False
                # Entries read but not applied stay pending on this consumer: drain them first.
                drained_own_backlog = False
                log.warning(
                    "reader %s paused, retrying: %s",
                    self._sub.label,
                    redact(str(error.__cause__ or error))[:300],
                )
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
        self.reading = False

    async def reclaim_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await sleep_or_stop(stop, self._settings.claim_interval_s)
            if stop.is_set():
                break
            if not self.reading:
                continue  # no group yet, or paused: the reader resumes its own backlog
            try:
                await self.reclaim_once()
            except (RedisError, OSError, DatabaseUnavailableError) as error:
                log.warning("reclaimer %s failed: %s", self._sub.label, type(error).__name__)

    async def reclaim_once(self) -> int:
        """Claim entries idle longer than `claim_idle_ms` in this group and handle them."""
        cursor: bytes | str = "0-0"
        handled = 0
        while True:
            held = set(self._in_hand)  # also those the reader settles while we claim
            reply = await self._redis.xautoclaim(
                self._sub.stream,
                self._sub.group,
                self._settings.consumer,
                min_idle_time=self._settings.claim_idle_ms,
                start_id=cursor,
                count=self._settings.batch_size,
            )
            cursor, entries = reply[0], list(reply[1])
            # The reader settles what it holds: handling those again would dead-letter twice.
            held |= self._in_hand
            entries = [entry for entry in entries if text(entry[0]) not in held]
            if entries:
                counts = await self._delivery_counts(entries)
                await self.handle(entries, counts)
                handled += len(entries)
            if text(cursor) == "0-0":
                return handled

    async def handle(self, entries: Sequence[Entry], counts: dict[str, int] | None = None) -> None:
        ids = {text(raw_id) for raw_id, _ in entries}
        self._in_hand |= ids
        try:
            await self._handle(entries, counts)
        finally:
            self._in_hand -= ids

    async def _handle(self, entries: Sequence[Entry], counts: dict[str, int] | None) -> None:
        outcome = _Outcome()
        deliveries: list[Delivery] = []
        failures, crashes = await self._failure_counts(
            [text(raw_id) for raw_id, _ in entries if (counts or {}).get(text(raw_id), 1) > 1]
        )
        for raw_id, fields in entries:
            entry_id = text(raw_id)
            delivery_count = (counts or {}).get(entry_id, 1)
            if not fields:  # deleted (trimmed) while pending
                outcome.ack.append(entry_id)
                continue
            body = entry_body(fields)
            if failures.get(entry_id, 0) >= self._settings.max_deliveries:
                reason = await self._last_failure(entry_id)
                self._dead(outcome, entry_id, body, "max_deliveries", reason, delivery_count)
                continue
            if crashes.get(entry_id, 0) >= self._settings.max_deliveries:
                reason = f"the consumer stopped {crashes[entry_id]} times while applying it"
                self._dead(outcome, entry_id, body, "max_deliveries", reason, delivery_count)
                continue
            if body is None:
                self._dead(
                    outcome, entry_id, None, "no_event_field", "no __data__ field", delivery_count
                )
                continue
            if len(body) > MAX_ENTRY_BYTES:
                reason = f"{len(body)} bytes, over {MAX_ENTRY_BYTES}"
                self._dead(outcome, entry_id, body, "too_large", reason, delivery_count)
                continue
            try:
                event, payload = parse_event(body)
            except InvalidEventError as invalid:
                self._dead(outcome, entry_id, body, invalid.code, invalid.reason, delivery_count)
                continue
            deliveries.append(
                Delivery(
                    self._sub.stream, self._sub.group, entry_id, event, payload, delivery_count
                )
            )
        if self._sub.skip:
            skipped = [d for d in deliveries if d.event.type in self._sub.skip]
            if skipped:
                self._record_consumed(skipped, outcome)
                deliveries = [d for d in deliveries if d.event.type not in self._sub.skip]
        redelivered = [d.entry_id for d in deliveries if d.delivery_count > 1]
        if redelivered:
            await self._count_attempts(redelivered, 1)
        try:
            if deliveries:
                await self._apply(deliveries, outcome)
        finally:
            # Reached unless the process dies: only a death leaves the attempt counted.
            if redelivered:
                await self._count_attempts(redelivered, -1)
            await self._settle(outcome)

    async def _apply(self, deliveries: list[Delivery], outcome: _Outcome) -> None:
        if len(deliveries) > 1:
            started = time.perf_counter()
            try:
                await self._call_handler(deliveries)
            except TRANSIENT_ERRORS as error:
                raise DatabaseUnavailableError(self._sub.group) from error
            except Exception:
                log.debug(
                    "batch of %d failed in %s; applying one by one",
                    len(deliveries),
                    self._sub.group,
                )
            else:
                self._record_applied(deliveries, outcome, time.perf_counter() - started)
                return
        for delivery in deliveries:
            await self._apply_one(delivery, outcome)

    async def _apply_one(self, delivery: Delivery, outcome: _Outcome) -> None:
        started = time.perf_counter()
        try:
            await self._call_handler([delivery])
        except TRANSIENT_ERRORS as error:
            raise DatabaseUnavailableError(self._sub.group) from error
        except PermanentEventError as permanent:
            self._dead(
                outcome,
                delivery.entry_id,
                delivery.event.to_json().encode(),
                permanent.code,
                permanent.reason,
                delivery.delivery_count,
            )
        except Exception as error:
            await self._record_failure(delivery, error)
        else:
            self._record_applied([delivery], outcome, time.perf_counter() - started)

    async def _call_handler(self, deliveries: list[Delivery]) -> None:
        """The handler in a thread; again, after a short random pause, while it conflicts."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                await asyncio.to_thread(self._sub.handler, deliveries)
                return
            except ConcurrencyError:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                log.debug("conflict in %s, applying again (%d)", self._sub.group, attempt)
                await asyncio.sleep(random.uniform(0, 0.005 * attempt))

    def _record_applied(
        self, deliveries: Sequence[Delivery], outcome: _Outcome, seconds: float
    ) -> None:
        self._metrics.observe_handling(self._sub.stream, self._sub.group, seconds / len(deliveries))
        self._record_consumed(deliveries, outcome)

    def _record_consumed(self, consumed: Sequence[Delivery], outcome: _Outcome) -> None:
        """Counted and acknowledged: applied, or skipped by type."""
        by_type = Counter(delivery.event.type for delivery in consumed)
        for event_type, n in by_type.items():
            self._metrics.count_consumed(self._sub.stream, self._sub.group, event_type, n)
        for delivery in consumed:
            outcome.ack.append(delivery.entry_id)
            if delivery.delivery_count > 1:
                outcome.retried.append(delivery.entry_id)

    async def _record_failure(self, delivery: Delivery, error: Exception) -> None:
        reason = redact(f"{type(error).__name__}: {error}")[:500]
        with log_context(event_id=delivery.event.id, correlation_id=delivery.event.correlationid):
            log.warning(
                "event %s failed in %s (delivery %d of %d): %s",
                delivery.event.type,
                self._sub.group,
                delivery.delivery_count,
                self._settings.max_deliveries,
                reason,
            )
        self._metrics.count_failed(self._sub.stream, self._sub.group, delivery.event.type)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._reasons_key, delivery.entry_id, reason)
            pipe.hincrby(self._failures_key, delivery.entry_id, 1)
            await pipe.execute()

    def _dead(
        self,
        outcome: _Outcome,
        entry_id: str,
        body: bytes | None,
        code: str,
        reason: str,
        deliveries: int,
    ) -> None:
        outcome.dead.append(
            dead_letter_fields(
                stream=self._sub.stream,
                group=self._sub.group,
                entry_id=entry_id,
                body=body,
                reason_code=code,
                reason=reason,
                deliveries=deliveries,
                service=self._settings.service,
            )
        )
        outcome.ack.append(entry_id)
        self._metrics.count_dead_lettered(self._sub.stream, self._sub.group, code)
        log.error(
            "entry %s of %s dead-lettered for %s: %s",
            entry_id,
            self._sub.stream,
            code,
            redact(reason),
        )

    async def _settle(self, outcome: _Outcome) -> None:
        if not outcome.ack:
            return
        forget = outcome.retried + [str(fields["entry_id"]) for fields in outcome.dead]
        if not outcome.dead and not forget:
            # the common case: one XACK, atomic by itself, without MULTI/EXEC around it
            await self._redis.xack(self._sub.stream, self._sub.group, *outcome.ack)
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for fields in outcome.dead:
                pipe.xadd(DEADLETTER_STREAM, fields)  # type: ignore[arg-type]
            pipe.xack(self._sub.stream, self._sub.group, *outcome.ack)
            if forget:
                pipe.hdel(self._reasons_key, *forget)
                pipe.hdel(self._failures_key, *forget)
                pipe.hdel(self._crashes_key, *forget)
            await pipe.execute()

    async def _drain_own_backlog(self, stop: asyncio.Event) -> None:
        """Entries this consumer name read in an earlier life but never acknowledged."""
        last_id = "0"
        while not stop.is_set():
            reply = await self._redis.xreadgroup(
                self._sub.group,
                self._settings.consumer,
                {self._sub.stream: last_id},
                count=self._settings.batch_size,
            )
            entries = _entries(reply)
            if not entries:
                return
            counts = await self._delivery_counts(entries)
            await self.handle(entries, counts)
            last_id = text(entries[-1][0])

    async def _read_new(self, stop: asyncio.Event) -> None:
        """Read the next batch while the current one is applied (one batch of read-ahead).

        Whatever a read returns is handled, even after a stop request: an entry read is
        pending on this consumer, so leaving it unhandled would strand it.
        """
        next_read = asyncio.ensure_future(self._read_batch())
        try:
            while not stop.is_set():
                entries = await next_read
                next_read = asyncio.ensure_future(self._read_batch())
                if entries:
                    await self.handle(entries)
        except BaseException:
            # Whatever the read in flight returns stays pending on this consumer name; the
            # reader drains its own backlog first when it resumes.
            await _settled(next_read)
            raise
        leftover = await _settled(next_read)
        if leftover:
            await self.handle(leftover)

    async def _read_batch(self) -> list[Entry]:
        try:
            reply = await self._redis.xreadgroup(
                self._sub.group,
                self._settings.consumer,
                {self._sub.stream: ">"},
                count=self._settings.batch_size,
                block=self._settings.block_ms,
            )
        except ResponseError as error:
            if "NOGROUP" in str(error):
                # The stream or group vanished (e.g. Redis restarted empty): recreate it.
                raise ConnectionError("consumer group is gone") from error
            raise
        return _entries(reply)

    async def _delivery_counts(self, entries: Sequence[Entry]) -> dict[str, int]:
        # One lookup per entry: a range query over [first, last] with a COUNT can fill up
        # with this consumer's other pending entries (its batch in flight) lying in between,
        # and a claimed entry missing from the reply would count as a first delivery.
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id, _ in entries:
                pipe.xpending_range(
                    self._sub.stream,
                    self._sub.group,
                    min=entry_id,
                    max=entry_id,
                    count=1,
                    consumername=self._settings.consumer,
                )
            replies: list[list[dict[str, Any]]] = await pipe.execute()
        return {
            text(item["message_id"]): int(item["times_delivered"])
            for reply in replies
            for item in reply
        }

    async def _failure_counts(self, entry_ids: list[str]) -> tuple[dict[str, int], dict[str, int]]:
        """Recorded handler failures and consumer crashes per redelivered entry."""
        if not entry_ids:
            return {}, {}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._failures_key, entry_ids)
            pipe.hmget(self._crashes_key, entry_ids)
            failures, crashes = await pipe.execute()
        return _counts(entry_ids, failures), _counts(entry_ids, crashes)

    async def _count_attempts(self, entry_ids: list[str], step: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.hincrby(self._crashes_key, entry_id, step)
            await pipe.execute()

    async def _last_failure(self, entry_id: str) -> str:
        reason = await self._redis.hget(self._reasons_key, entry_id)
        return text(reason) if reason else "failed on every delivery"


async def _settled(read: asyncio.Future[list[Entry]]) -> list[Entry]:
    """The entries of a read in flight once it finishes; none if it failed."""
    try:
        return await read
    except (RedisError, OSError):
        return []


def _counts(entry_ids: list[str], values: list[bytes | None]) -> dict[str, int]:
    return {entry_id: int(v) for entry_id, v in zip(entry_ids, values, strict=True) if v}
