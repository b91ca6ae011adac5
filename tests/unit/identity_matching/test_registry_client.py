"""The pure parts of the registry adapter: the breaker, backoff, answers, no NIK in reprs."""

from __future__ import annotations

from datetime import date

from services.identity.registry_client import (
    BreakerState,
    CircuitBreaker,
    RegistryAnswer,
    RegistryQuery,
    RetryPolicy,
    parse_answers,
)


def state(breaker: CircuitBreaker) -> BreakerState:
    """The state as read now (a property mypy would otherwise narrow across calls)."""
    return breaker.state


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_consecutive_failures_and_fails_fast() -> None:
    breaker = CircuitBreaker(3, 10.0, Clock())
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.allow()
    breaker.failed()

    assert state(breaker) is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_in_s == 10.0


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(2, 10.0, Clock())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()

    assert state(breaker) is BreakerState.CLOSED


def test_after_the_reset_time_one_trial_call_goes_through_and_its_success_closes() -> None:
    clock = Clock()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(1, 5.0, clock, on_change=changes.append)
    breaker.failed()
    clock.now += 5.0

    assert state(breaker) is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time
    breaker.succeeded()
    assert state(breaker) is BreakerState.CLOSED
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_a_failed_trial_opens_the_breaker_again_for_another_reset_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 5.0, clock)
    for _ in range(3):
        breaker.failed()
    clock.now += 5.0
    assert breaker.allow()

    breaker.failed()

    assert state(breaker) is BreakerState.OPEN
    assert breaker.retry_in_s == 5.0


def test_a_released_trial_lets_the_next_call_try() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1.0, clock)
    breaker.failed()
    clock.now += 1.0
    assert breaker.allow()

    breaker.released()

    assert breaker.allow()


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_attempts=6, base_s=0.5, cap_s=4.0)

    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (6, 4.0)]:
        assert all(0 <= policy.delay(attempt) <= ceiling for _ in range(50))
    assert all(policy.delay(1, retry_after=3.0) >= 3.0 for _ in range(20))


def test_answers_are_read_per_reference_id_with_sesuai_as_a_match() -> None:
    body = {
        "message": {
            "search_response": [
                {
                    "reference_id": "a",
                    "status": "succ",
                    "data": {
                        "nik_found": True,
                        "alive": True,
                        "verification": {"name": "SESUAI", "mother_name": "TIDAK SESUAI"},
                    },
                },
                {"reference_id": "b", "status": "succ", "data": {"nik_found": False}},
                {
                    "reference_id": "c",
                    "status": "rjct",
                    "status_reason_code": "rjct.nik.invalid",
                    "status_reason_message": "not a structurally valid NIK",
                },
            ]
        }
    }

    answers = parse_answers(body)

    assert answers["a"] == RegistryAnswer(
        "a", True, True, True, {"name": True, "mother_name": False}
    )
    assert answers["b"] == RegistryAnswer("b", True, nik_found=False)
    assert answers["c"] == RegistryAnswer("c", False, reason_code="rjct.nik.invalid")


def test_a_query_never_shows_its_nik_or_personal_fields() -> None:
    query = RegistryQuery(
        "person-1", "6307061203850001", "AHMAD FAUZI", "BARABAI", date(1985, 3, 12), "SITI", "L"
    )

    shown = repr(query) + str(query)

    assert "6307061203850001" not in shown
    assert "AHMAD" not in shown
    assert query.item("2024-06-01T00:00:00Z")["search_criteria"]["query"]["value"] == (
        "6307061203850001"
    )
