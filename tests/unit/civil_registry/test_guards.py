"""Rate limit buckets, duplicate-id memory, reproducible faults, the changes feed."""

from __future__ import annotations

from datetime import date

import pytest

from services.civil_registry.guards import Faults, RateLimiter, SeenIds, retry_after_header
from services.civil_registry.population import Population
from services.civil_registry.registry import Registry, UnknownNik
from services.civil_registry.schemas import FaultConfig


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_refills_per_client() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3.0, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [None, None, None]
    wait = limiter.acquire("a")
    assert wait == pytest.approx(0.5)
    assert limiter.acquire("b") is None  # buckets are per client
    clock.now += 0.5
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is not None
    clock.now += 100
    assert [limiter.acquire("a") for _ in range(4)][-1] is not None  # never above burst


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.2) == "2"


def test_seen_ids_expire_and_are_bounded() -> None:
    clock = FakeClock()
    seen = SeenIds(capacity=3, ttl_s=10, clock=clock)
    seen.add("c", "message_id", "m1")
    assert seen.contains("c", "message_id", "m1")
    assert not seen.contains("other", "message_id", "m1")
    assert not seen.contains("c", "transaction_id", "m1")
    clock.now += 11
    assert not seen.contains("c", "message_id", "m1")
    for i in range(5):
        seen.add("c", "message_id", f"x{i}")
    assert len(seen) == 3
    assert not seen.contains("c", "message_id", "x0")
    assert seen.contains("c", "message_id", "x4")


def test_fault_decisions_are_reproducible_after_configure() -> None:
    faults = Faults(FaultConfig(error_rate=0.5, timeout_rate=0.3, hang_s=2.0), seed=5)
    first = [faults.decide() for _ in range(50)]
    faults.configure(FaultConfig(error_rate=0.5, timeout_rate=0.3, hang_s=2.0))
    assert [faults.decide() for _ in range(50)] == first
    assert 10 < sum(d.error for d in first) < 40
    assert any(d.hang_s == 2.0 for d in first)
    faults.configure(FaultConfig(outage=True))
    assert faults.decide().outage


def test_changes_feed_and_corrections() -> None:
    population = Population(50, seed=3)
    registry = Registry(population.build())
    nik = population.person(0).nik
    death = registry.apply_change(nik, "death", [], {})
    assert (death.cursor, death.change, death.fields) == (1, "death", ("alive",))
    fix = registry.apply_change(
        nik,
        "correction",
        ["mother_name", "birth_date"],
        {"mother_name": " siti  aminah ", "birth_date": "1990-01-02"},
    )
    assert fix.cursor == 2
    assert fix.fields == ("mother_name", "birth_date")
    page, nxt = registry.changes_after(0, 1)
    assert [c.cursor for c in page] == [1]
    assert nxt == 1
    page, nxt = registry.changes_after(1, 100)
    assert [c.cursor for c in page] == [2]
    assert nxt == 2
    assert registry.changes_after(2, 100) == ([], 2)
    assert registry.changes_after(99, 100) == ([], 2)
    with pytest.raises(UnknownNik):
        registry.apply_change("6307061203900009", "death", [], {})
    with pytest.raises(ValueError):
        registry.apply_change(nik, "correction", ["name"], {})
    person = registry.person(nik)
    assert person is not None
    assert not person.alive
    assert person.mother_name == "SITI AMINAH"
    assert person.birth_date == date(1990, 1, 2)
