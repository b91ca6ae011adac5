"""What stands in front of the lookups: rate limits, duplicate ids, faults, usage counts.

All state is in memory and touched only from the event loop (one process, no locks).
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from services.civil_registry.schemas import FaultConfig

__all__ = ["FaultDecision", "Faults", "RateLimiter", "SeenIds", "Usage"]

Clock = Callable[[], float]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self.configure(rate, burst)

    def configure(self, rate: float, burst: float) -> None:
        """Change the limits; every bucket starts full again."""
        self.rate = rate
        self.burst = burst
        self._buckets.clear()

    def acquire(self, client: str) -> float | None:
        """Take a token: ``None`` when allowed, else the seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate


class SeenIds:
    """Bounded memory of (client, kind, id) triples: oldest evicted first, expired after ttl."""

    def __init__(self, capacity: int, ttl_s: float, clock: Clock = time.monotonic) -> None:
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        seen = self._seen
        while seen:
            key, expires = next(iter(seen.items()))
            if expires > now and len(seen) <= self._capacity:
                return
            del seen[key]

    def contains(self, client: str, kind: str, value: str) -> bool:
        now = self._clock()
        self._expire(now)
        return (client, kind, value) in self._seen

    def add(self, client: str, kind: str, value: str) -> None:
        self._seen[(client, kind, value)] = self._clock() + self._ttl_s
        self._expire(self._clock())


@dataclass(frozen=True)
class FaultDecision:
    outage: bool
    error: bool
    hang_s: float
    latency_s: float


class Faults:
    """The current fault configuration and a seeded RNG deciding, request by request.

    Every decision draws exactly two numbers (error, timeout) in the same order, so a run
    with the same configuration and request sequence is reproducible; ``configure`` reseeds.
    """

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self._seed = seed
        self.config = config
        self._rng = random.Random(seed)

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(self._seed)

    def decide(self) -> FaultDecision:
        c = self.config
        if c.outage:
            return FaultDecision(outage=True, error=False, hang_s=0.0, latency_s=0.0)
        error_draw, timeout_draw = self._rng.random(), self._rng.random()
        return FaultDecision(
            outage=False,
            error=error_draw < c.error_rate,
            hang_s=c.hang_s if timeout_draw < c.timeout_rate else 0.0,
            latency_s=c.latency_ms / 1000.0,
        )


@dataclass
class ClientUsage:
    """Counts only: never a NIK, never a submitted value."""

    requests: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    responses: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "requests": dict(self.requests),
            "items": dict(self.items),
            "responses": dict(self.responses),
        }


class Usage:
    """Requests and items per client, for the semester usage report."""

    def __init__(self) -> None:
        self._clients: dict[str, ClientUsage] = {}

    def of(self, client: str) -> ClientUsage:
        usage = self._clients.get(client)
        if usage is None:
            usage = self._clients[client] = ClientUsage()
        return usage

    def snapshot(self) -> dict[str, dict[str, dict[str, int]]]:
        return {client: usage.as_dict() for client, usage in sorted(self._clients.items())}


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1, as HTTP wants it."""
    return str(max(1, math.ceil(seconds)))
