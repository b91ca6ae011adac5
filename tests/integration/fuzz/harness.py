"""Schemathesis against a service running over real HTTP: every operation, every case counted.

Each operation of the service's OpenAPI document is fuzzed in two generation modes,
*positive* (requests the schema allows) and *negative* (requests it forbids, which must be
refused with a 4xx problem, never a 5xx). Every drawn case is sent with one of the service's
API keys (so role guards and the code behind them are both reached) and, half of the time,
with path parameters replaced by ids the seeding created (so lookups find something).

Checks that fail the run: not_a_server_error, response_schema_conformance,
status_code_conformance, content_type_conformance. A failing check does not stop the run:
every distinct failure (operation, check, status) is kept with one reproduction, and the
report says how many cases were sent. Invalid input that was accepted (schemathesis'
negative_data_rejection) is listed apart, as leniency to look at, not as a failure.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.infra import free_port

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
AUTH_HEADERS = ("X-API-Key", "Authorization")
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@dataclass(frozen=True)
class FuzzTarget:
    """A running service and what a caller needs to reach into it."""

    service: str
    base_url: str
    callers: Sequence[Mapping[str, str]]  # auth headers, one per key; drawn for every case
    known: Mapping[str, Sequence[str]]  # path parameter name -> ids that exist
    after_case: Callable[[str], None] | None = None  # called with the operation after each case


@dataclass(frozen=True)
class FoundProblem:
    operation: str
    check: str
    status: int | None
    message: str
    reproduce: str

    def __str__(self) -> str:
        head = f"{self.operation} [{self.check}] status {self.status}"
        return f"{head}: {self.message}\n  {self.reproduce}"


@dataclass
class FuzzReport:
    service: str
    examples_per_mode: int
    operations: int = 0
    rounds: int = 0
    cases: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str, int | None], FoundProblem] = field(default_factory=dict)
    lenient: dict[tuple[str, str, int | None], FoundProblem] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "examples_per_mode": self.examples_per_mode,
            "operations": self.operations,
            "rounds": self.rounds,
            "cases": self.cases,
            "failures": len(self.failures),
            "seconds": round(self.seconds, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "per_operation": dict(sorted(self.per_operation.items())),
            "problems": [str(p) for p in self.failures.values()],
            "accepted_invalid_input": [str(p) for p in self.lenient.values()],
        }


def _record(
    found_so_far: dict[tuple[str, str, int | None], FoundProblem],
    label: str,
    response: Any,
    error: BaseException,
) -> None:
    """Keep each distinct failure of ``error`` once (per operation, check and status)."""
    found: Sequence[BaseException] = (
        error.exceptions if isinstance(error, FailureGroup) else (error,)
    )
    status = getattr(response, "status_code", None)
    for failure in found:
        title = failure.title if isinstance(failure, Failure) else type(failure).__name__
        message = failure.message if isinstance(failure, Failure) else str(failure)
        reproduce = _request_of(response)
        key = (label, title, status)
        if key not in found_so_far:
            found_so_far[key] = FoundProblem(label, title, status, message[:600], reproduce)


def _request_of(response: Any) -> str:
    request = getattr(response, "request", None)
    if request is None:
        return ""
    body = request.body or b""
    shown = body[:300] if isinstance(body, bytes) else str(body)[:300].encode()
    kind = request.headers.get("Content-Type", "-")
    return f"{request.method} {request.url} [{kind}] {shown!r}"


def fuzz(target: FuzzTarget, min_cases: int, *, seed: int = 2024) -> FuzzReport:
    """Fuzz every operation of ``target`` until at least ``min_cases`` requests were sent.

    Cases are spread evenly over operations and modes; an operation with few distinct
    inputs (no parameters) yields fewer, so further rounds with the next seeds follow
    until the total is reached.
    """
    schema = schemathesis.openapi.from_url(f"{target.base_url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an OpenAPI document schemathesis cannot read is a failure too
        operations.append(result.ok())
    per_mode = max(1, math.ceil(min_cases * 1.1 / (len(operations) * len(MODES))))
    report = FuzzReport(target.service, per_mode, operations=len(operations))
    session = requests.Session()
    started = time.monotonic()
    callers = st.sampled_from([dict(c) for c in target.callers])
    rounds = 0
    while report.cases < min_cases and rounds < 5:
        for operation in operations:
            label = f"{operation.method.upper()} {operation.path}"
            for mode in MODES:
                strategy = operation.as_strategy(generation_mode=mode)
                test = _one_case(target, report, label, strategy, callers, session)
                run = hypothesis.settings(
                    max_examples=per_mode,
                    deadline=None,
                    database=None,
                    derandomize=False,
                    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                    suppress_health_check=list(hypothesis.HealthCheck),
                    verbosity=hypothesis.Verbosity.quiet,
                )(hypothesis.seed(seed + rounds)(hypothesis.given(data=st.data())(test)))
                with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                    run()  # Unsatisfiable: nothing to negate (no parameters, no body)
        rounds += 1
    report.rounds = rounds
    report.seconds = time.monotonic() - started
    session.close()
    return report


def _one_case(
    target: FuzzTarget,
    report: FuzzReport,
    label: str,
    strategy: st.SearchStrategy[Any],
    callers: st.SearchStrategy[dict[str, str]],
    session: requests.Session,
) -> Callable[[st.DataObject], None]:
    def one_case(data: st.DataObject) -> None:
        case = data.draw(strategy)
        headers = data.draw(callers)
        # The caller's key is chosen above; generated credentials would only shadow it.
        for name in AUTH_HEADERS:
            if case.headers and name in case.headers:
                del case.headers[name]
        try:
            _send_and_check(case, headers, label, report, target.base_url, session)
        finally:
            if target.after_case is not None:
                target.after_case(label)

    return one_case


def _send_and_check(
    case: Any,
    headers: dict[str, str],
    label: str,
    report: FuzzReport,
    base_url: str,
    session: requests.Session,
) -> None:
    response = None
    try:
        response = case.call(base_url=base_url, session=session, headers=headers)
        report.cases += 1
        report.per_operation[label] += 1
        report.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)
    except (Failure, FailureGroup, AssertionError) as error:
        _record(report.failures, label, response, error)
    # Reported, not failed: invalid input that was accepted. Multipart fields are text
    # whatever their declared type, so a "negative" number in a form is valid text there.
    if response is not None and case.media_type != "multipart/form-data":
        try:
            case.validate_response(response, checks=[negative_data_rejection], headers=headers)
        except (Failure, FailureGroup, AssertionError) as error:
            _record(report.lenient, label, response, error)


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own handlers
        pass


@contextlib.contextmanager
def serving(app: FastAPI, *, ready: Callable[[str], bool] | None = None) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, its lifespan run; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", access_log=False
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started or (ready is not None and not ready(base_url)):
        if not thread.is_alive():
            raise RuntimeError("the service stopped while starting")
        if time.monotonic() > deadline:
            raise RuntimeError("the service did not start within 60 s")
        time.sleep(0.05)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
