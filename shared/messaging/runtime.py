"""Everything a service runs in the background to send and receive events, and its health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import Engine

from shared.config import PlatformSettings
from shared.messaging.consumer import ConsumerSettings, GroupConsumer
from shared.messaging.delivery import Subscription
from shared.messaging.groups import GroupState, group_states
from shared.messaging.outbox import OutboxRelay
from shared.messaging.retention import trim_stream
from shared.messaging.waiting import sleep_or_stop
from shared.observability.health import Check, CheckResult, database_check, redis_check
from shared.observability.metrics import Metrics

log = logging.getLogger(__name__)
IDLE_CONSUMER_MS = 24 * 3600 * 1000


class MessagingRuntime:
    def __init__(
        self,
        *,
        service: str,
        settings: PlatformSettings,
        redis: aioredis.Redis,
        engine: Engine,
        metrics: Metrics,
        subscriptions: Sequence[Subscription],
        owned_streams: Sequence[str],
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.engine = engine
        self.metrics = metrics
        self.owned_streams = tuple(owned_streams)
        self.relay = OutboxRelay(
            engine,
            redis,
            metrics,
            batch_size=settings.relay_batch_size,
            poll_interval_s=settings.relay_poll_interval_s,
        )
        consumer_settings = ConsumerSettings(
            consumer=settings.consumer_name,
            service=service,
            batch_size=settings.batch_size,
            block_ms=settings.block_ms,
            claim_idle_ms=settings.claim_idle_ms,
            claim_interval_s=settings.claim_interval_s,
            max_deliveries=settings.max_deliveries,
        )
        self.consumers = [
            GroupConsumer(redis, subscription, consumer_settings, metrics)
            for subscription in subscriptions
        ]
        self.group_states: dict[tuple[str, str], GroupState] = {}
        self._stop = asyncio.Event()
        self._readers: list[asyncio.Task[None]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._stop.clear()
        self._readers = [
            asyncio.create_task(
                consumer.run(self._stop), name=f"reader {consumer.subscription.label}"
            )
            for consumer in self.consumers
        ]
        self._tasks = [
            asyncio.create_task(self.relay.run(self._stop), name="outbox relay"),
            asyncio.create_task(self._monitor(), name="lag monitor"),
            asyncio.create_task(self._trim(), name="stream trimmer"),
            *(
                asyncio.create_task(consumer.reclaim_forever(self._stop), name="reclaimer")
                for consumer in self.consumers
            ),
        ]

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the batches in hand, publish what the outbox holds, then return."""
        self._stop.set()
        tasks = [*self._readers, *self._tasks]
        _, late = await asyncio.wait(tasks, timeout=timeout_s) if tasks else (set(), set())
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        """Stop, then release the connections: the last step of a service's shutdown."""
        await self.stop()
        await self.redis.aclose()
        self.engine.dispose()

    def readiness_checks(self) -> dict[str, Check]:
        return {
            "redis": redis_check(self.redis),
            "database": database_check(self.engine),
            "subscribers": self._subscribers_check,
            "consumer_lag": self._lag_check,
            "outbox_relay": self._relay_check,
        }

    async def measure(self) -> None:
        subscribed = {(c.subscription.stream, c.subscription.group) for c in self.consumers}
        for stream in {stream for stream, _ in subscribed}:
            for state in await group_states(self.redis, stream, self.settings.lag_threshold + 1):
                if (state.stream, state.group) in subscribed:
                    self.group_states[(state.stream, state.group)] = state
                    self.metrics.set_lag(state.stream, state.group, state.lag, state.pending)

    async def _subscribers_check(self) -> CheckResult:
        if self.consumers and not self._readers:
            return CheckResult(False, "not started")
        stopped = [
            consumer.subscription.label
            for consumer, task in zip(self.consumers, self._readers, strict=True)
            if task.done() or not consumer.reading
        ]
        if stopped:
            return CheckResult(False, "not reading: " + ", ".join(stopped))
        return CheckResult(True, f"{len(self.consumers)} reading")

    async def _lag_check(self) -> CheckResult:
        threshold = self.settings.lag_threshold
        behind = [
            f"{group} on {stream}: {state.lag}"
            for (stream, group), state in self.group_states.items()
            if state.lag > threshold
        ]
        if behind:
            return CheckResult(False, f"lag over {threshold}: " + ", ".join(behind))
        return CheckResult(True, "")

    async def _relay_check(self) -> CheckResult:
        return CheckResult(self.relay.healthy, "" if self.relay.healthy else "cannot publish")

    async def _monitor(self) -> None:
        while not self._stop.is_set():
            try:
                await self.measure()
                await self._forget_idle_consumers()
            except RedisError as error:
                log.debug("lag monitor skipped a round: %s", type(error).__name__)
            await sleep_or_stop(self._stop, self.settings.monitor_interval_s)

    async def _forget_idle_consumers(self) -> None:
        # Consumer names of replicas long gone, with nothing pending, only clutter XINFO.
        for consumer in self.consumers:
            stream, group = consumer.subscription.stream, consumer.subscription.group
            for info in await self.redis.xinfo_consumers(stream, group):
                if int(info["pending"]) == 0 and int(info["idle"]) > IDLE_CONSUMER_MS:
                    await self.redis.xgroup_delconsumer(stream, group, info["name"])

    async def _trim(self) -> None:
        retention_ms = int(self.settings.stream_retention_days * 86_400_000)
        while not self._stop.is_set():
            await sleep_or_stop(self._stop, self.settings.trim_interval_s)
            for stream in self.owned_streams:
                try:
                    trimmed = await trim_stream(self.redis, stream, retention_ms=retention_ms)
                except RedisError as error:
                    log.debug("trim of %s skipped: %s", stream, type(error).__name__)
                    continue
                if trimmed:
                    log.info("trimmed %d entries from %s", trimmed, stream)
