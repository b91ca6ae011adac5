"""The adapter to the civil registry's web service (Dukcapil, or the stand-in): DCI-style search.

One :class:`RegistryClient` per process, over one ``httpx.AsyncClient``:

- :meth:`RegistryClient.search` sends a batch with ``POST /registry/async/search`` and polls
  ``POST /registry/txn/status`` until the answer is there. The caller chooses the
  ``transaction_id`` and keeps it (it is the id of the batch row written before the call), so
  a job restarted after a crash can ask for the answer of a batch it had sent instead of
  sending it again. Every HTTP attempt carries a new ``message_id``; a ``409 rjct.duplicate``
  on a re-sent transaction means the registry already accepted it: we go on to polling.
- :meth:`RegistryClient.status` asks for a transaction's answer: ``None`` when the registry
  does not know it (never received, or forgotten), else the answer once it is complete.
- Retries: 5xx, timeouts, connection errors and 429 (honouring ``Retry-After``) are retried
  with exponential backoff and full jitter, up to ``registry_max_attempts`` per step.
- One :class:`CircuitBreaker` guards every call: after ``registry_breaker_failures``
  consecutive failures it opens and calls fail fast with :class:`RegistryUnavailableError`;
  after ``registry_breaker_reset_s`` one trial call is let through (half-open).

Where the breaker shows: ``/metrics`` (``sinergi_registry_breaker_state``, 0 closed, 1
half-open, 2 open, plus request counts by outcome) and each job's progress, **not**
``/health/ready``. Readiness decides whether a replica gets traffic; a registry outage hits
every replica alike, so failing readiness would only take the roster, review and reports
offline too, while matching jobs already wait out the outage on their own. A separate
always-green "informational" readiness check would be misread by probes and dashboards;
a gauge can be alerted on with the right severity.

Privacy: NIKs and personal fields exist only in the request bodies; nothing here logs them,
and no exception message quotes a body. Logs carry transaction and reference ids only.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "RegistryAnswer",
    "RegistryClient",
    "RegistryError",
    "RegistryQuery",
    "RegistryRefusedError",
    "RegistryUnavailableError",
    "TransactionLostError",
]

log = logging.getLogger(__name__)

MATCH: Final = "SESUAI"
VERSION: Final = "1.0.0"
RECEIVER: Final = "dukcapil"
MAX_ASYNC_ITEMS: Final = 1000
_MAX_BACKOFF_S: Final = 30.0


class RegistryError(Exception):
    """Base class; messages never quote a NIK or a personal field."""


class RegistryUnavailableError(RegistryError):
    """The registry cannot be reached now (breaker open, or retries exhausted): try later."""


class RegistryRefusedError(RegistryError):
    """The registry refused the request itself (4xx other than 409/429): a bug or bad config."""

    def __init__(self, status: int, code: str | None) -> None:
        super().__init__(f"registry refused the request: HTTP {status} {code or ''}".strip())
        self.status = status
        self.code = code


class TransactionLostError(RegistryError):
    """The registry saw this transaction id but no longer has its answer: send under a new id."""


# --- the circuit breaker ------------------------------------------------------------------


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class CircuitBreaker:
    """Closed -> open after ``failures`` consecutive failures -> half-open after ``reset_s``.

    Half-open lets one trial call through at a time: its success closes the breaker, its
    failure opens it again for another ``reset_s``. Used from one event loop only.
    """

    def __init__(
        self,
        failures: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] = lambda _: None,
    ) -> None:
        self._threshold = failures
        self._reset_s = reset_s
        self._clock = clock
        self.on_change = on_change
        self._failures = 0
        self._opened_at = 0.0
        self._state = BreakerState.CLOSED
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self._reset_s:
            self._set(BreakerState.HALF_OPEN)
        return self._state

    @property
    def retry_in_s(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when it would now)."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._reset_s - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go out now; a half-open breaker admits one trial at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def succeeded(self) -> None:
        self._failures = 0
        self._trial_in_flight = False
        self._set(BreakerState.CLOSED)

    def failed(self) -> None:
        self._failures += 1
        trial, self._trial_in_flight = self._trial_in_flight, False
        if trial or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._set(BreakerState.OPEN)

    def released(self) -> None:
        """A call that neither succeeded nor failed (e.g. cancelled) gives back its trial."""
        self._trial_in_flight = False

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            log.warning("civil registry circuit breaker %s", state.value)
            self.on_change(state)


# --- requests and answers ------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryQuery:
    """One person to verify. ``reference_id`` must not be personal data (we use person ids)."""

    reference_id: str
    nik: str
    name: str
    birth_place: str
    birth_date: date
    mother_name: str
    sex: Literal["L", "P"]

    def __repr__(self) -> str:  # never show the NIK or personal fields, even in a traceback
        return f"RegistryQuery(reference_id={self.reference_id!r})"

    def item(self, timestamp: str) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "timestamp": timestamp,
            "search_criteria": {
                "query_type": "idtype-value",
                "query": {"type": "NIK", "value": self.nik},
                "verify": {
                    "name": self.name,
                    "birth_place": self.birth_place,
                    "birth_date": self.birth_date.isoformat(),
                    "mother_name": self.mother_name,
                    "sex": self.sex,
                },
            },
        }


@dataclass(frozen=True)
class RegistryAnswer:
    """The registry's answer for one item: found or not, alive, and per field match or not."""

    reference_id: str
    accepted: bool  # False: the registry rejected the item ("rjct")
    nik_found: bool = False
    alive: bool | None = None
    verification: Mapping[str, bool] = field(default_factory=dict)
    reason_code: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> RegistryAnswer:
        reference_id = str(raw["reference_id"])
        if raw.get("status") != "succ":
            return cls(reference_id, False, reason_code=str(raw.get("status_reason_code", "rjct")))
        data = raw.get("data") or {}
        verification = data.get("verification") or {}
        return cls(
            reference_id,
            True,
            nik_found=bool(data.get("nik_found")),
            alive=data.get("alive"),
            verification={str(k): v == MATCH for k, v in verification.items()},
        )


def parse_answers(body: Mapping[str, Any]) -> dict[str, RegistryAnswer]:
    items = (body.get("message") or {}).get("search_response") or []
    answers = (RegistryAnswer.parse(item) for item in items)
    return {answer.reference_id: answer for answer in answers}


# --- the client ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_s: float = 0.2
    cap_s: float = _MAX_BACKOFF_S

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter on an exponential ceiling; ``Retry-After`` is a floor when given."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        jittered = random.uniform(0, ceiling)  # jitter, not cryptography
        return max(jittered, retry_after or 0.0)


class _Retry(Exception):
    """One failed attempt worth retrying; ``counts`` says whether the breaker should count it."""

    def __init__(self, reason: str, retry_after: float | None = None, counts: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.counts = counts


class RegistryClient:
    """Search, status and the changes feed; one instance (and one breaker) per process."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        sender_id: str,
        timeout_s: float,
        max_attempts: int,
        breaker: CircuitBreaker,
        poll_interval_s: float,
        result_timeout_s: float = 600.0,
        metrics_registry: CollectorRegistry | None = None,
        service: str = "identity",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )
        self.sender_id = sender_id
        self.breaker = breaker
        self._retry = RetryPolicy(max_attempts)
        self._poll_interval_s = poll_interval_s
        self._result_timeout_s = result_timeout_s
        self._service = service
        self._requests: Counter | None = None
        self._breaker_gauge: Gauge | None = None
        if metrics_registry is not None:
            self._requests = Counter(
                "sinergi_registry_requests_total",
                "HTTP requests to the civil registry, by operation and outcome.",
                ("service", "operation", "outcome"),
                registry=metrics_registry,
            )
            self._breaker_gauge = Gauge(
                "sinergi_registry_breaker_state",
                "Circuit breaker in front of the civil registry: 0 closed, 1 half-open, 2 open.",
                ("service",),
                registry=metrics_registry,
            )
            self._breaker_gauge.labels(service).set(0)
            gauge = self._breaker_gauge
            breaker.on_change = lambda state: gauge.labels(service).set(_STATE_VALUE[state])

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- public operations ----------------------------------------------------------------

    async def search(
        self, items: Sequence[RegistryQuery], transaction_id: str
    ) -> dict[str, RegistryAnswer]:
        """Send a batch under ``transaction_id`` (kept by the caller) and wait for its answer."""
        if not items:
            return {}
        if len(items) > MAX_ASYNC_ITEMS:
            raise ValueError(f"at most {MAX_ASYNC_ITEMS} items per transaction")
        await self._submit(items, transaction_id)
        answers = await self.status(transaction_id)
        if answers is None:  # accepted, yet unknown a moment later: the registry forgot it
            raise TransactionLostError(f"transaction {transaction_id} unknown after acceptance")
        return answers

    async def status(self, transaction_id: str) -> dict[str, RegistryAnswer] | None:
        """The answer of a transaction, waiting while it is pending; None if it is unknown."""
        deadline = time.monotonic() + self._result_timeout_s
        while True:
            response = await self._call(
                "txn_status",
                lambda: self._http.post(
                    "/registry/txn/status", json={"transaction_id": transaction_id}
                ),
                ok=(200, 202, 404),
            )
            if response.status_code == 404:
                return None
            if response.status_code == 200:
                return parse_answers(response.json())
            if time.monotonic() > deadline:
                raise RegistryUnavailableError(
                    f"transaction {transaction_id} still pending after {self._result_timeout_s} s"
                )
            await asyncio.sleep(self._poll_interval_s)

    async def changes(self, after: int, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        """One page of the deaths/corrections feed after ``after``, and the next cursor."""
        response = await self._call(
            "changes",
            lambda: self._http.get("/registry/changes", params={"after": after, "limit": limit}),
            ok=(200,),
        )
        body = response.json()
        return list(body.get("changes") or []), int(body.get("next", after))

    # -- the steps ------------------------------------------------------------------------

    async def _submit(self, items: Sequence[RegistryQuery], transaction_id: str) -> None:
        def send() -> Awaitable[httpx.Response]:
            now = datetime.now(UTC).isoformat(timespec="milliseconds")
            body = {
                "header": {
                    "version": VERSION,
                    "message_id": str(uuid.uuid4()),  # a new one for every attempt
                    "message_ts": now,
                    "action": "search",
                    "sender_id": self.sender_id,
                    "receiver_id": RECEIVER,
                    "total_count": len(items),
                    "callback_url": None,
                },
                "message": {
                    "transaction_id": transaction_id,
                    "search_request": [item.item(now) for item in items],
                },
            }
            return self._http.post("/registry/async/search", json=body)

        response = await self._call("async_search", send, ok=(202, 200, 409))
        if response.status_code == 409:
            code = _problem_code(response)
            if code != "rjct.duplicate":
                raise RegistryRefusedError(409, code)
            log.info(
                "registry already had transaction %s; fetching its answer",
                transaction_id,
                extra={"transaction_id": transaction_id},
            )
        else:
            log.debug(
                "registry accepted %d items", len(items), extra={"transaction_id": transaction_id}
            )

    async def _call(
        self,
        operation: str,
        send: Callable[[], Awaitable[httpx.Response]],
        ok: tuple[int, ...],
    ) -> httpx.Response:
        """One request with retries, every attempt through the breaker."""
        attempt = 0
        while True:
            attempt += 1
            if not self.breaker.allow():
                self._count(operation, "breaker_open")
                raise RegistryUnavailableError(
                    f"civil registry circuit open; retry in {self.breaker.retry_in_s:.1f} s"
                )
            try:
                response = await self._attempt(send, ok)
            except _Retry as retry:
                self._count(operation, retry.reason)
                if retry.counts:
                    self.breaker.failed()
                else:
                    self.breaker.released()
                if attempt >= self._retry.max_attempts:
                    raise RegistryUnavailableError(
                        f"{operation} failed {attempt} times, last: {retry.reason}"
                    ) from None
                delay = self._retry.delay(attempt, retry.retry_after)
                log.info(
                    "registry %s attempt %d failed (%s); retrying in %.2f s",
                    operation,
                    attempt,
                    retry.reason,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            except BaseException:
                self.breaker.released()
                raise
            self.breaker.succeeded()
            self._count(operation, str(response.status_code))
            return response

    async def _attempt(
        self, send: Callable[[], Awaitable[httpx.Response]], ok: tuple[int, ...]
    ) -> httpx.Response:
        try:
            response = await send()
        except httpx.TimeoutException:
            raise _Retry("timeout") from None
        except httpx.TransportError as error:
            raise _Retry(type(error).__name__) from None
        status = response.status_code
        if status in ok:
            return response
        if status == 429:
            # Back-pressure, not sickness: wait as told, but do not count it towards opening.
            raise _Retry("throttled", _retry_after(response), counts=False)
        if status >= 500:
            raise _Retry(f"http_{status}", _retry_after(response))
        raise RegistryRefusedError(status, _problem_code(response))

    def _count(self, operation: str, outcome: str) -> None:
        if self._requests is not None:
            self._requests.labels(self._service, operation, outcome).inc()


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return str(code) if code is not None else None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
