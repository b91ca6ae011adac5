"""Programs service: held-session latency across three services, and read-model replay.

    .venv/bin/python -m bench.programs [--rate 200] [--rates 50,100,150] [--seconds 20]
        [--participants 40] [--replay-events 1000000] [--replay-budget-s 420]
        [--concurrency 32] [--quick] [--output docs/benchmarks.md]

1. Latency: agreements, identity and programs run as processes (SQLite files, one Redis of
   the run's own). One active agreement with an action-plan item, `--participants` people in
   custody; then held sessions with all of them are POSTed to the programs API at `--rate`
   per second (paced by schedule, bounded concurrency) for `--seconds`. Measured: the HTTP
   latency of the command, and the propagation from each HTTP response to the moment the
   agreements service's `sinergi.action_plan.realisation_updated` for that session arrives
   on `sinergi.agreements` (a background XREAD BLOCK reader stamps arrivals). With
   `--rates`, the same services first run the same measurement at each of those rates (a
   sweep: achieved rate, HTTP and propagation p50/p99 per offered rate), then at `--rate`.
2. Replay: state-carrying agreement and inmate events are XADDed (untimed) into the source
   streams of a scratch Redis; `rebuild_read_models` is timed on a fresh, migrated SQLite
   file, and the rebuilt rows are compared with the final state of every aggregate.

The exit status is 0 only if every correctness check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import shlex
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import httpx
import redis.asyncio as aioredis
from sqlalchemy import Engine, select
from sqlmodel import Session

from bench.sections import write_section
from services.identity.protection import generate_key
from services.programs.migrations import upgrade_to_head
from services.programs.orm import AgreementViewRow, InmateViewRow, ItemViewRow
from services.programs.read_models import rebuild_read_models
from shared.events import EventPayload, build_event
from shared.events.agreements import (
    ActionPlanItemAdded,
    ActionPlanItemAssessed,
    ActionPlanItemState,
    AgreementActivated,
    AgreementDrafted,
    AgreementSigned,
    AgreementState,
    SignatoryState,
)
from shared.events.identity import (
    CustodyPeriod,
    InmateAdmitted,
    InmateState,
    InmateStatusChanged,
    NikStatusChanged,
)
from shared.http.auth import hash_api_key
from shared.messaging import ENTRY_FIELD, stream_of
from shared.messaging.connection import connect
from shared.persistence.engine import make_engine
from tests.e2e.processes import ServiceProcess, json_env
from tests.infra import RedisProcess, free_port

SECTION = "programs"
FACILITY = "rutan-barabai"
TODAY = "2024-06-01"
STAFF_KEY = "bench-programs-staff-key-0123456789abcdef"
PARTNER_KEY = "bench-programs-partner-key-0123456789abcdef"
STAFF = {"X-API-Key": STAFF_KEY}
PARTNER = {"X-API-Key": PARTNER_KEY}
REALISED = "sinergi.action_plan.realisation_updated"
AGREEMENTS_STREAM = stream_of("agreements")
IDENTITY_STREAM = stream_of("identity")
GOAL_RATE = 200.0
GOAL_P50_MS = 20.0
GOAL_P99_MS = 100.0
WARMUP_SESSIONS = 20
DRAIN_TIMEOUT_S = 120.0
XADD_BATCH = 1000
PILOT_EVENTS = 20_000
IDLE_REUSE_S = 2.0  # keep-alive connections idle longer are not reused (uvicorn keeps 5 s)


# --------------------------------------------------------------------------- small helpers


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc; 0 when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    redis_version = "unknown"
    binary = shutil.which("redis-server")
    if binary:
        with contextlib.suppress(OSError):
            import subprocess

            out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
            redis_version = out.split("v=", 1)[1].split()[0] if "v=" in out else out.strip()
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Redis server": f"{redis_version} (own redis-server per run, TCP, no persistence)",
        "SQLite": f"{sqlite3.sqlite_version} (files in a temporary directory)",
        "redis-py / httpx / SQLAlchemy / pydantic": (
            f"{version('redis')} / {version('httpx')} / {version('sqlalchemy')} / "
            f"{version('pydantic')}"
        ),
    }


# --------------------------------------------------------------------------- latency


@dataclass
class LatencyResult:
    rate: float
    seconds: float
    participants: int
    concurrency: int
    sent: int = 0
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    http_ms: list[float] = field(default_factory=list)
    propagation_ms: list[float] = field(default_factory=list)
    late_starts: int = 0
    max_start_lag_ms: float = 0.0
    missing_realisations: int = 0
    realised_expected: int = 0
    realised_reported: int = -1
    cpu_s: dict[str, float] = field(default_factory=dict)
    load: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def achieved_rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def meets_goal(self) -> dict[str, bool]:
        http, prop = self.http_ms, self.propagation_ms
        return {
            "rate": self.achieved_rate >= 0.95 * GOAL_RATE,
            "http": bool(http)
            and percentile(http, 50) < GOAL_P50_MS
            and percentile(http, 99) < GOAL_P99_MS,
            "propagation": bool(prop)
            and percentile(prop, 50) < GOAL_P50_MS
            and percentile(prop, 99) < GOAL_P99_MS,
        }


def _keys() -> str:
    return json_env(
        [
            {"name": "staff", "role": "staff", "sha256": hash_api_key(STAFF_KEY)},
            {"name": "bnnk", "role": "partner", "partner": "bnnk",
             "sha256": hash_api_key(PARTNER_KEY)},
        ]
    )  # fmt: skip


def _environments(workdir: Path, redis_url: str) -> dict[str, dict[str, str]]:
    """Service defaults (block 1000 ms, relay poll 1 s, woken on commit), a pinned day."""
    common = {
        "SINERGI_ENVIRONMENT": "test",
        "SINERGI_FACILITY": FACILITY,
        "SINERGI_REDIS_URL": redis_url,
        "SINERGI_TODAY": TODAY,
    }
    return {
        "services.agreements": common
        | {
            "SINERGI_AGREEMENTS_DATABASE_URL": f"sqlite:///{workdir / 'agreements.db'}",
            "SINERGI_AGREEMENTS_DOCUMENTS_DIR": str(workdir / "documents"),
            "SINERGI_AGREEMENTS_API_KEYS": _keys(),
            "SINERGI_CONSUMER_NAME": "agreements-bench-1",
        },
        "services.identity": common
        | {
            "SINERGI_IDENTITY_DATABASE_URL": f"sqlite:///{workdir / 'identity.db'}",
            "SINERGI_IDENTITY_API_KEYS": _keys(),
            "SINERGI_IDENTITY_NIK_KEY": generate_key(),
            "SINERGI_IDENTITY_LOOKUP_KEY": generate_key(),
            "SINERGI_REGISTRY_RESYNC_ENABLED": "false",
            "SINERGI_CONSUMER_NAME": "identity-bench-1",
        },
        "services.programs": common
        | {
            "SINERGI_PROGRAMS_DATABASE_URL": f"sqlite:///{workdir / 'programs.db'}",
            "SINERGI_PROGRAMS_API_KEYS": _keys(),
            "SINERGI_CONSUMER_NAME": "programs-bench-1",
        },
    }


@contextlib.contextmanager
def _services(workdir: Path, redis_url: str) -> Iterator[dict[str, ServiceProcess]]:
    services = {
        module.rsplit(".", 1)[-1]: ServiceProcess(
            module, port=free_port(), env=env, log_dir=workdir
        ).start()
        for module, env in _environments(workdir, redis_url).items()
    }
    try:
        for service in services.values():
            service.wait_ready(90)
        yield services
    finally:
        for service in services.values():
            service.kill()


def _ok(response: httpx.Response, status: int = 201) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text[:300]}")  # fmt: skip
    return response.json() if response.content else None


def _agreement_with_item(agreements: httpx.Client) -> tuple[str, str]:
    partner = _ok(agreements.post(
        "/partners", json={"code": "bnnk", "name": "BNN Kabupaten HST", "kind": "health"},
        headers=STAFF,
    ))  # fmt: skip
    agreement = _ok(
        agreements.post(
            "/agreements",
            json={
                "partner_id": partner["id"],
                "facility_number": "W.18.PAS.PAS.22-PK.01.01-07",
                "partner_number": "B/77/BNNK-HST/2024",
                "title": "Drug counselling for people in custody",
                "programme_kinds": ["drug_counselling"],
                "start_date": "2024-01-01",
                "end_date": "2026-12-31",
            },
            headers=STAFF,
        )
    )["id"]
    signatories = [
        {"party": "facility", "name": "Kepala Rutan Barabai", "position": "Head"},
        {"party": "partner", "name": "Kepala BNNK HST", "position": "Head of the agency"},
    ]
    _ok(agreements.post(
        f"/agreements/{agreement}/sign",
        json={"signed_on": "2023-12-20", "signatories": signatories}, headers=STAFF,
    ), 204)  # fmt: skip
    item = _ok(
        agreements.post(
            f"/agreements/{agreement}/action-plan/items",
            json={
                "programme_kind": "drug_counselling",
                "description": "Group counselling (konseling adiksi)",
                "target_quantity": 1_000_000,
                "unit": "participants",
                "period_start": "2024-01-01",
                "period_end": "2024-12-31",
                "responsible": "partner",
            },
            headers=STAFF,
        )
    )["id"]
    return str(agreement), str(item)


def _admit(identity: httpx.Client, count: int) -> list[str]:
    people = []
    for index in range(count):
        admitted = _ok(
            identity.post(
                "/inmates",
                json={
                    "register_number": f"B.I-{1000 + index}/2024",
                    "category": "B.I",
                    "name": f"Peserta {index:03d}",
                    "sex": "L",
                    "birth_place": "Barabai",
                    "birth_date": "1990-04-12",
                    "mother_name": "Siti Aminah",
                    "admission_date": "2024-01-10",
                },
                headers=STAFF,
            )
        )
        people.append(str(admitted["id"]))
    return people


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def _realised(agreements: httpx.Client, item: str) -> int:
    rows = _ok(agreements.get("/reports/realisation", headers=PARTNER), 200)["rows"]
    return sum(int(r["realised_quantity"]) for r in rows if r["item_id"] == item)


class RealisationWatcher:
    """Stamps the arrival of each session's realisation on `sinergi.agreements`."""

    def __init__(self, redis: aioredis.Redis, start_id: str) -> None:
        self.redis = redis
        self.last_id = start_id
        self.arrivals: dict[str, float] = {}
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            reply = cast(
                list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
                await self.redis.xread({AGREEMENTS_STREAM: self.last_id}, count=500, block=200),
            )
            now = time.perf_counter()
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self.last_id = entry_id.decode()
                    body = fields.get(ENTRY_FIELD.encode())
                    if body is None:
                        continue
                    event = json.loads(body)
                    if event.get("type") == REALISED:
                        self.arrivals.setdefault(event["data"]["session_id"], now)


class RawHttpClient:
    """Keep-alive HTTP/1.1 POSTs of ready-made JSON over asyncio streams, for the load only.

    httpx costs a few milliseconds of CPU per request, taken from the same two cores as
    the services under test; this client writes the request bytes and reads the status
    line, headers and `Content-Length` body, little more.
    """

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        url = httpx.URL(base_url)
        self._host, self._port = url.host, url.port or 80
        self._headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.last_replayed = False  # the last answer repeated a first one (Idempotency-Key)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # uvicorn closes a keep-alive connection idle for 5 s; at low rates the least
        # recently used ones would otherwise be reset under the next request
        while self._idle:
            reader, writer, used = self._idle.pop()
            if time.monotonic() - used < IDLE_REUSE_S:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self._host, self._port)

    async def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        reader, writer = await self._connection()
        more = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n{self._headers}{more}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            writer.write(head.encode() + body)
            status = int((await reader.readline()).split(b" ", 2)[1])
            length, keep_alive = 0, True
            self.last_replayed = False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "idempotent-replayed":
                    self.last_replayed = value.strip() == "true"
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    keep_alive = False
            content = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if keep_alive:
            self._idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return status, content

    async def aclose(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()


async def _drive(
    base_url: str, agreement: str, item: str, people: list[str], result: LatencyResult,
    watcher: RealisationWatcher, *, total: int, measured: bool,
) -> dict[str, float]:  # fmt: skip
    """POST `total` held sessions at the rate; returns session id -> response time."""
    responded: dict[str, float] = {}
    gate = asyncio.Semaphore(result.concurrency)
    client = RawHttpClient(base_url, PARTNER)
    template = {
        "agreement_id": agreement,
        "programme_kind": "drug_counselling",
        "action_plan_item_id": item,
        "held_on": "HELD_ON",
        "attendance": people,
    }
    before, after = json.dumps(template).encode().split(b"HELD_ON")
    try:

        async def one(index: int, due: float) -> None:
            held_on = date(2024, 5, 1) + timedelta(days=index % 31)
            body = before + held_on.isoformat().encode() + after
            async with gate:
                started = time.perf_counter()
                lag = started - due
                try:
                    status, content = await client.post("/sessions", body)
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as error:
                    if measured:
                        result.failures.append(f"{type(error).__name__}: {error}")
                    return
                done = time.perf_counter()
            if status != 201:
                if measured:
                    result.failures.append(f"{status} {content[:200]!r}")
                return
            responded[str(json.loads(content)["id"])] = done
            if measured:
                result.ok += 1
                result.http_ms.append(1000 * (done - started))
                if lag > 0.010:
                    result.late_starts += 1
                result.max_start_lag_ms = max(result.max_start_lag_ms, 1000 * lag)

        interval = 1.0 / result.rate
        begin = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []
        for index in range(total):
            due = begin + index * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, due)))
        await asyncio.gather(*tasks)
        if measured:
            result.sent = total
            result.elapsed_s = time.perf_counter() - begin
    finally:
        await client.aclose()
    return responded


async def _wait_arrivals(watcher: RealisationWatcher, sessions: dict[str, float]) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline and any(s not in watcher.arrivals for s in sessions):
        await asyncio.sleep(0.1)


async def _latency_phase(
    result: LatencyResult, base_url: str, agreement: str, item: str, people: list[str],
    redis_url: str, pids: dict[str, int],
) -> None:  # fmt: skip
    redis = connect(redis_url)
    try:
        info = await redis.xinfo_stream(AGREEMENTS_STREAM)
        last = info["last-generated-id"]
        watcher = RealisationWatcher(redis, last.decode() if isinstance(last, bytes) else last)
        reader = asyncio.create_task(watcher.run())
        warm = await _drive(base_url, agreement, item, people, result, watcher,
                            total=WARMUP_SESSIONS, measured=False)  # fmt: skip
        await _wait_arrivals(watcher, warm)
        before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        before["load driver"] = time.process_time()
        redis_cpu = await redis.info("cpu")
        result.load.append(_loadavg())
        total = int(result.rate * result.seconds)
        sessions = await _drive(base_url, agreement, item, people, result, watcher,
                                total=total, measured=True)  # fmt: skip
        result.load.append(_loadavg())
        await _wait_arrivals(watcher, sessions)
        after = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        after["load driver"] = time.process_time()
        redis_after = await redis.info("cpu")
        after_redis = float(redis_after["used_cpu_user"]) + float(redis_after["used_cpu_sys"])
        before_redis = float(redis_cpu["used_cpu_user"]) + float(redis_cpu["used_cpu_sys"])
        result.cpu_s = {name: after[name] - before[name] for name in after}
        result.cpu_s["redis-server"] = after_redis - before_redis
        watcher.stop.set()
        await reader
        negative = 0
        for session_id, responded in sessions.items():
            arrived = watcher.arrivals.get(session_id)
            if arrived is None:
                result.missing_realisations += 1
                continue
            if arrived < responded:
                negative += 1
            result.propagation_ms.append(1000 * max(0.0, arrived - responded))
        if negative:
            result.problems.append(
                f"note: {negative} realisations stamped before the HTTP response was read "
                "(counted as 0 ms)"
            )
    finally:
        await redis.aclose()


def run_latency(rate: float, seconds: float, participants: int, concurrency: int) -> LatencyResult:
    return run_latencies([rate], seconds, participants, concurrency)[-1]


def run_latencies(
    rates: list[float], seconds: float, participants: int, concurrency: int
) -> list[LatencyResult]:
    """One measured window per rate, in order, against the same services and agreement."""
    results = [LatencyResult(rate, seconds, participants, concurrency) for rate in rates]
    result = results[-1]
    workdir = Path(tempfile.mkdtemp(prefix="sinergi-bench-programs-"))
    redis = RedisProcess().start()
    try:
        with (
            _services(workdir, redis.url) as services,
            httpx.Client(base_url=services["agreements"].base_url, timeout=30) as agreements,
            httpx.Client(base_url=services["identity"].base_url, timeout=30) as identity,
            httpx.Client(base_url=services["programs"].base_url, timeout=30) as programs,
        ):
            print("  latency: setting up the agreement, item and people", flush=True)
            agreement, item = _agreement_with_item(agreements)
            people = _admit(identity, participants)

            def programs_ready() -> bool:
                rows = programs.get("/reports/realisation", headers=PARTNER).json()["items"]
                if not any(row["item_id"] == item for row in rows):
                    return False
                answer = programs.get(f"/people/{people[-1]}/participation", headers=STAFF)
                return answer.status_code == 200

            _wait(programs_ready, 60, "the programs service to know the item and the people")
            pids = {
                name: service.process.pid
                for name, service in services.items()
                if service.process is not None
            }
            for phase in results:
                print(f"  latency: {phase.rate:g} sessions/s for {seconds:g} s", flush=True)
                asyncio.run(
                    _latency_phase(
                        phase, services["programs"].base_url, agreement, item, people,
                        redis.url, pids,
                    )
                )  # fmt: skip
                print(f"  latency: {_summary(phase)}", flush=True)
            sessions = sum(WARMUP_SESSIONS + phase.ok for phase in results)
            result.realised_expected = sessions * participants
            result.realised_reported = _realised(agreements, item)
            for name in ("programs", "identity", "agreements"):
                code = services[name].stop(timeout=60)
                if code != 0:
                    result.problems.append(f"{name} exited {code}: {services[name].tail(10)}")
    finally:
        redis.close()
        shutil.rmtree(workdir, ignore_errors=True)
    for phase in results:
        at = f"at {phase.rate:g}/s: " if len(results) > 1 else ""
        if phase.failures:
            result.problems.append(
                f"{at}{len(phase.failures)} commands failed, e.g. {phase.failures[0]}"
            )
        if phase.missing_realisations:
            result.problems.append(
                f"{at}{phase.missing_realisations} sessions' realisations never arrived "
                f"(waited {DRAIN_TIMEOUT_S:.0f} s)"
            )
        if phase is not result:
            # a note stays a note ("note: ..." first), whichever rate it came from
            result.problems += [
                f"note: {at}{p.removeprefix('note: ')}" if p.startswith("note:") else f"{at}{p}"
                for p in phase.problems
            ]
    if result.realised_reported != result.realised_expected:
        result.problems.append(
            f"agreements reports {result.realised_reported} realised, expected "
            f"{result.realised_expected}"
        )
    return results


def _summary(lat: LatencyResult) -> str:
    cpu = ", ".join(
        f"{name} {1000 * value / max(lat.ok, 1):.1f}" for name, value in sorted(lat.cpu_s.items())
    )
    return (
        f"{lat.rate:g}/s offered, {lat.achieved_rate:.1f}/s achieved; HTTP p50/p99 "
        f"{_ms(lat.http_ms, 50)}/{_ms(lat.http_ms, 99)} ms; propagation p50/p99 "
        f"{_ms(lat.propagation_ms, 50)}/{_ms(lat.propagation_ms, 99)} ms; CPU ms per "
        f"session: {cpu}"
    )


# --------------------------------------------------------------------------- replay workload


@dataclass
class Expected:
    agreements: dict[str, tuple[int, str, str, date]] = field(default_factory=dict)
    items: dict[str, tuple[int, str, int, str]] = field(default_factory=dict)
    inmates: dict[str, tuple[int, str, str, str, int]] = field(default_factory=dict)


SIGNATORIES = [
    SignatoryState(party="facility", name="Kepala Rutan", position="Head"),
    SignatoryState(party="partner", name="Direktur", position="Director"),
]
NIK_STEPS = ("unverified", "matched", "partial", "validated", "invalid")


def _uuid(number: int) -> str:
    """The text of `uuid.UUID(int=number)`, a few times cheaper (1M events need millions)."""
    h = f"{number:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _Template:
    """An event type's JSON, built once through the shared models (`build_event`).

    Each event copies it and sets only what varies, so a million bodies cost a dict copy
    and a `json.dumps` each; the rebuild parses every one of them with `parse_event`.
    """

    def __init__(self, payload: EventPayload) -> None:
        event = build_event(payload, subject="template", facility=FACILITY, sequence=1)
        self.envelope: dict[str, Any] = json.loads(event.to_json())
        self.data: dict[str, Any] = self.envelope["data"]

    def body(self, data: dict[str, Any], subject: str, sequence: int, index: int, start: datetime
             ) -> bytes:  # fmt: skip
        event_id = _uuid((9 << 64) + index)
        when = (start + timedelta(milliseconds=index)).isoformat().replace("+00:00", "Z")
        envelope = {**self.envelope, "id": event_id, "subject": subject, "time": when,
                    "sequence": sequence, "correlationid": event_id, "data": data}  # fmt: skip
        return json.dumps(envelope, separators=(",", ":")).encode()


class ReplayWorkload:
    """State-carrying events: a few aggregates with many versions, and many with few.

    A quarter each: item assessments of 10 busy agreements (realisation updates would be
    passed over: no read model here holds the realised quantity); status and NIK changes of 10
    busy inmates; 4-event lifecycles (drafted, signed, activated, item added) of many
    agreements; 2-event lives (admitted, NIK changed) of many inmates. Interleaved, so the
    busy aggregates' versions are spread over the whole stream.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.expected = Expected()
        self._sequence: dict[str, int] = {}
        self._start = datetime(2024, 1, 1, tzinfo=UTC)
        agreement = self._agreement_state(_uuid(1 << 64), 0, "active")
        item = self._item_state(_uuid(2 << 64), 0)
        inmate = self._inmate_state(_uuid(3 << 64), 0, "detainee", "missing")
        self._templates: dict[type[EventPayload], _Template] = {
            template.__class__: _Template(template)
            for template in (
                AgreementActivated(agreement=agreement),
                ActionPlanItemAssessed(agreement=agreement, item=item),
                AgreementDrafted(agreement=agreement.model_copy(update={"status": "draft"})),
                AgreementSigned(agreement=agreement, signatories=SIGNATORIES),
                ActionPlanItemAdded(agreement=agreement, item=item),
                InmateAdmitted(inmate=inmate),
                InmateStatusChanged(inmate=inmate, previous_category="B.I"),
                NikStatusChanged(inmate=inmate, previous_status="missing"),
            )
        }

    def _next(self, aggregate: str) -> int:
        sequence = self._sequence.get(aggregate, 0) + 1
        self._sequence[aggregate] = sequence
        return sequence

    @staticmethod
    def _agreement_state(agreement_id: str, index: int, status: str) -> AgreementState:
        return AgreementState(
            agreement_id=agreement_id,
            partner_id=_uuid((7 << 64) + index % 50),
            partner_code=f"partner-{index % 50:02d}",
            facility_number=f"W.18.PAS-{index}",
            partner_number=f"P/{index}/2024",
            title=f"Agreement {index}",
            programme_kinds=["drug_counselling"],
            start_date=date(2024, 1, 1),
            end_date=date(2026, 12, 31) + timedelta(days=index % 100),
            status=cast(Any, status),
            signed_on=None if status == "draft" else date(2023, 12, 20),
        )

    @staticmethod
    def _item_state(item_id: str, realised: int) -> ActionPlanItemState:
        return ActionPlanItemState(
            item_id=item_id,
            programme_kind="drug_counselling",
            description=f"Group counselling {item_id[-4:]}",
            target_quantity=100_000,
            unit="participants",
            period_start=date(2024, 1, 1),
            period_end=date(2024, 12, 31),
            responsible="partner",
            realised_quantity=realised,
            milestone="open",
        )

    @staticmethod
    def _inmate_state(person_id: str, index: int, status: str, nik: str) -> InmateState:
        return InmateState(
            person_id=person_id,
            register_number=f"B.I-{index}/2024",
            name=f"Warga Binaan {index}",
            category="B.I",
            custody_status=cast(Any, status),
            admission_date=date(2024, 1, 10),
            custody_periods=[CustodyPeriod(facility=FACILITY, since=date(2024, 1, 10))],
            nik_status=cast(Any, nik),
        )

    # The JSON of the states above, for one aggregate: what varies from the templates.
    def _agreement(self, kind: type[EventPayload], agreement_id: str, index: int, status: str
                   ) -> dict[str, Any]:  # fmt: skip
        template = self._templates[kind].data["agreement"]
        return {
            **template,
            "agreement_id": agreement_id,
            "partner_id": _uuid((7 << 64) + index % 50),
            "partner_code": f"partner-{index % 50:02d}",
            "facility_number": f"W.18.PAS-{index}",
            "partner_number": f"P/{index}/2024",
            "title": f"Agreement {index}",
            "end_date": (date(2026, 12, 31) + timedelta(days=index % 100)).isoformat(),
            "status": status,
            "signed_on": None if status == "draft" else "2023-12-20",
        }

    def _item(self, kind: type[EventPayload], item_id: str, realised: int) -> dict[str, Any]:
        template = self._templates[kind].data["item"]
        return {**template, "item_id": item_id, "description": f"Group counselling {item_id[-4:]}",
                "realised_quantity": realised}  # fmt: skip

    def _inmate(self, kind: type[EventPayload], person_id: str, index: int, status: str,
                nik: str) -> dict[str, Any]:  # fmt: skip
        template = self._templates[kind].data["inmate"]
        return {
            **template,
            "person_id": person_id,
            "register_number": f"B.I-{index}/2024",
            "name": f"Warga Binaan {index}",
            "custody_status": status,
            "nik_status": nik,
        }

    def _body(self, kind: type[EventPayload], data: dict[str, Any], subject: str, index: int
              ) -> tuple[bytes, int]:  # fmt: skip
        sequence = self._next(subject)
        template = self._templates[kind]
        return template.body(
            {**template.data, **data}, subject, sequence, index, self._start
        ), sequence

    def _busy_agreement(self, index: int, k: int) -> tuple[str, bytes]:
        slot = k % 10
        agreement_id = _uuid((1 << 64) + slot)
        item_id = _uuid((2 << 64) + slot)
        version = self._sequence.get(agreement_id, 0)
        kind: type[EventPayload] = AgreementActivated if version == 0 else ActionPlanItemAssessed
        data: dict[str, Any] = {"agreement": self._agreement(kind, agreement_id, slot, "active")}
        if version:
            data["item"] = self._item(kind, item_id, version)
            self.expected.items[item_id] = (version + 1, agreement_id, 100_000, "")
        body, sequence = self._body(kind, data, agreement_id, index)
        end_date = date(2026, 12, 31) + timedelta(days=slot % 100)
        partner_code = data["agreement"]["partner_code"]
        self.expected.agreements[agreement_id] = (sequence, "active", partner_code, end_date)
        return AGREEMENTS_STREAM, body

    def _busy_inmate(self, index: int, k: int) -> tuple[str, bytes]:
        slot = k % 10
        person_id = _uuid((3 << 64) + slot)
        version = self._sequence.get(person_id, 0)
        status = "detainee" if version % 2 == 0 else "convict"
        nik = NIK_STEPS[version % len(NIK_STEPS)]
        kind: type[EventPayload]
        if version == 0:
            kind = InmateAdmitted
        elif version % 3 == 0:
            kind = InmateStatusChanged
        else:
            kind = NikStatusChanged
        inmate = self._inmate(kind, person_id, slot, status, nik)
        body, sequence = self._body(kind, {"inmate": inmate}, person_id, index)
        self.expected.inmates[person_id] = (sequence, status, nik, inmate["name"], 1)
        return IDENTITY_STREAM, body

    def _many_agreements(self, index: int, k: int) -> tuple[str, bytes]:
        slot, step = 10 + k // 4, k % 4
        agreement_id = _uuid((1 << 64) + slot)
        status = ("draft", "signed", "active", "active")[step]
        kind = (AgreementDrafted, AgreementSigned, AgreementActivated, ActionPlanItemAdded)[step]
        data: dict[str, Any] = {"agreement": self._agreement(kind, agreement_id, slot, status)}
        if step == 3:
            item_id = _uuid((2 << 64) + slot)
            data["item"] = self._item(kind, item_id, 0)
            self.expected.items[item_id] = (4, agreement_id, 100_000, "")
        body, sequence = self._body(kind, data, agreement_id, index)
        end_date = date(2026, 12, 31) + timedelta(days=slot % 100)
        partner_code = data["agreement"]["partner_code"]
        self.expected.agreements[agreement_id] = (sequence, status, partner_code, end_date)
        return AGREEMENTS_STREAM, body

    def _many_inmates(self, index: int, k: int) -> tuple[str, bytes]:
        slot, step = 10 + k // 2, k % 2
        person_id = _uuid((3 << 64) + slot)
        nik = "missing" if step == 0 else "unverified"
        kind: type[EventPayload] = InmateAdmitted if step == 0 else NikStatusChanged
        inmate = self._inmate(kind, person_id, slot, "detainee", nik)
        body, sequence = self._body(kind, {"inmate": inmate}, person_id, index)
        self.expected.inmates[person_id] = (sequence, "detainee", nik, inmate["name"], 1)
        return IDENTITY_STREAM, body

    def events(self) -> Iterator[tuple[str, bytes]]:
        makers = (self._busy_agreement, self._busy_inmate, self._many_agreements,
                  self._many_inmates)  # fmt: skip
        for index in range(self.n):
            yield makers[index % 4](index, index // 4)


# Many XADDs in one call: the load is the server's, not a client round trip per entry.
XADD_MANY = """
for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', KEYS[2], ARGV[i])
end
return #ARGV
"""


async def _fill_streams(redis: aioredis.Redis, workload: ReplayWorkload) -> dict[str, int]:
    counts = {AGREEMENTS_STREAM: 0, IDENTITY_STREAM: 0}
    batches: dict[str, list[bytes]] = {AGREEMENTS_STREAM: [], IDENTITY_STREAM: []}
    xadd_many = redis.register_script(XADD_MANY)

    async def flush(stream: str) -> None:
        # the streams are read one after the other, so only the order within each matters
        await xadd_many(keys=[stream, ENTRY_FIELD], args=batches[stream])
        batches[stream].clear()

    for stream, body in workload.events():
        batches[stream].append(body)
        counts[stream] += 1
        if len(batches[stream]) >= XADD_BATCH:
            await flush(stream)
    for stream, batch in batches.items():
        if batch:
            await flush(stream)
    return counts


def check_rebuilt(engine: Engine, expected: Expected) -> list[str]:
    problems: list[str] = []
    with Session(engine) as session:
        agreements = {
            r.agreement_id: (r.sequence, r.status, r.partner_code, r.end_date)
            for r in session.execute(select(AgreementViewRow)).scalars()
        }
        items = {
            r.item_id: (r.sequence, r.agreement_id, r.target_quantity, "")
            for r in session.execute(select(ItemViewRow)).scalars()
        }
        inmates = {
            r.person_id: (
                r.sequence,
                r.custody_status,
                r.nik_status,
                r.name,
                len(r.custody_periods),
            )
            for r in session.execute(select(InmateViewRow)).scalars()
        }
    for name, got, want in (
        ("agreement_view", agreements, expected.agreements),
        ("action_plan_item_view", items, expected.items),
        ("inmate_view", inmates, expected.inmates),
    ):
        if len(got) != len(want):
            problems.append(f"{name}: {len(got)} rows, expected {len(want)}")
        wrong = [key for key, value in want.items() if got.get(key) != value]
        if wrong:
            key = wrong[0]
            problems.append(
                f"{name}: {len(wrong)} rows not at their final state, e.g. {key}: "
                f"{got.get(key)} != {want[key]}"
            )
    return problems


@dataclass
class ReplayResult:
    requested: int
    events: int
    fill_s: float = 0.0
    rebuild_s: float = 0.0
    rebuild_cpu_s: float = 0.0
    entries: int = 0
    applied: int = 0
    invalid: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    pilot_rate: float | None = None
    reduced_reason: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.rebuild_s if self.rebuild_s else 0.0


async def _replay_once(n: int, requested: int) -> ReplayResult:
    result = ReplayResult(requested, n)
    redis_server = RedisProcess().start()
    workdir = Path(tempfile.mkdtemp(prefix="sinergi-bench-replay-"))
    redis = connect(redis_server.url)
    engine = make_engine(f"sqlite:///{workdir / 'programs.db'}")
    try:
        workload = ReplayWorkload(n)
        started = time.perf_counter()
        await _fill_streams(redis, workload)
        result.fill_s = time.perf_counter() - started
        await asyncio.to_thread(upgrade_to_head, engine)
        # the bench's own bookkeeping (the expected final states) stays out of the collector's
        # way, as it would in a rebuild process of its own
        gc.collect()
        gc.freeze()
        started, cpu = time.perf_counter(), time.process_time()
        try:
            report = await rebuild_read_models(engine, redis)
        finally:
            result.rebuild_s = time.perf_counter() - started
            result.rebuild_cpu_s = time.process_time() - cpu
            gc.unfreeze()
        result.entries, result.applied = report.entries, report.applied
        result.invalid = report.skipped_invalid
        expected = workload.expected
        result.rows = {
            "agreement_view": len(expected.agreements),
            "action_plan_item_view": len(expected.items),
            "inmate_view": len(expected.inmates),
        }
        if report.entries != n:
            result.problems.append(f"rebuild read {report.entries} entries, expected {n}")
        if report.applied != n or report.skipped_invalid:
            result.problems.append(
                f"rebuild applied {report.applied} of {n} ({report.skipped_invalid} invalid); "
                "every event here is newer than the row it meets"
            )
        result.problems += await asyncio.to_thread(check_rebuilt, engine, expected)
    finally:
        engine.dispose()
        await redis.aclose()
        redis_server.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"  replay: {n:,} events rebuilt in {result.rebuild_s:.1f} s = {result.rate:,.0f}/s "
        f"({result.rebuild_cpu_s:.1f} CPU s; fill {result.fill_s:.1f} s) "
        f"[{'ok' if not result.problems else result.problems}]",
        flush=True,
    )
    return result


def run_replay(requested: int, budget_s: float) -> ReplayResult:
    """A pilot first; when the requested size would outlast the budget, a smaller run."""
    n = requested
    pilot: ReplayResult | None = None
    if requested > PILOT_EVENTS:
        pilot = asyncio.run(_replay_once(PILOT_EVENTS, requested))
        projected = requested / pilot.rate if pilot.rate else float("inf")
        if pilot.problems:
            return pilot
        if projected > budget_s:
            n = max(PILOT_EVENTS, int(pilot.rate * budget_s * 0.9) // 10_000 * 10_000)
    result = asyncio.run(_replay_once(n, requested))
    if pilot is not None:
        result.pilot_rate = pilot.rate
        if n < requested:
            result.reduced_reason = (
                f"the {PILOT_EVENTS:,}-event pilot rebuilt at {pilot.rate:,.0f} events/s, so "
                f"{requested:,} events would take ~{requested / pilot.rate:.0f} s, over the "
                f"{budget_s:.0f} s budget; ran {n:,} instead"
            )
    return result


# --------------------------------------------------------------------------- report


@dataclass
class Report:
    command: str
    machine: dict[str, str]
    started: datetime
    latency: LatencyResult
    replay: ReplayResult
    seconds: float = 0.0
    quick: bool = False
    sweep: list[LatencyResult] = field(default_factory=list)  # every rate, `latency` last

    @property
    def problems(self) -> list[str]:
        blocking = [p for p in self.latency.problems if not p.startswith("note:")]
        return blocking + self.replay.problems


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p):.1f}" if values else "-"


def render(report: Report) -> str:
    lat, rep = report.latency, report.replay
    goal = lat.meets_goal()
    yes = {True: "meets goal", False: "**below goal**"}
    cores = os.cpu_count()
    cpu_total = sum(lat.cpu_s.values())
    lines = [
        "## Programs: held-session latency and read-model replay",
        "",
        "Generated by `bench/programs.py`; do not edit by hand, re-run the command instead.",
        "",
        f"Run started {report.started:%Y-%m-%d %H:%M} UTC, took {report.seconds:.0f} s"
        + (" (`--quick`: a smoke run, not a measurement)." if report.quick else "."),
        "",
        "### Command",
        "",
        "```sh",
        report.command,
        "```",
        "",
        "### Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in report.machine.items()),
        "",
        "### 1. Held sessions through three services",
        "",
        f"agreements, identity and programs as `python -m` processes (one uvicorn worker "
        f"each, SQLite files, service defaults: `block_ms=1000`, relay woken on commit), one "
        f"`redis-server`, and the load driver (keep-alive HTTP/1.1 over asyncio streams, at "
        f"most {lat.concurrency} requests in flight, paced by schedule), all on the same "
        f"{cores} cores. One active "
        f"agreement, one action-plan item, {lat.participants} people in custody; each request "
        f"is `POST /sessions` held with all {lat.participants} of them. {WARMUP_SESSIONS} "
        "warm-up sessions are not counted. Propagation = from reading the HTTP response to "
        f"the agreements service's `{REALISED}` for that session arriving on "
        "`sinergi.agreements` (XREAD BLOCK in the driver's event loop, matched by "
        "`session_id`); it spans the programs outbox relay, the agreements consumer "
        "(inbox, realisation ledger, its own outbox) and the agreements relay.",
        "",
        f"Goal: {GOAL_RATE:.0f} sessions/s with p50 < {GOAL_P50_MS:.0f} ms and p99 < "
        f"{GOAL_P99_MS:.0f} ms.",
        "",
        "| measure | value | goal |",
        "|---|---:|---|",
        f"| target rate | {lat.rate:g} sessions/s for {lat.seconds:g} s ({lat.sent:,} sent) | |",
        f"| achieved rate (201s / elapsed) | {lat.achieved_rate:.1f} sessions/s "
        f"({lat.ok:,} ok in {lat.elapsed_s:.1f} s) | {yes[goal['rate']]} |",
        f"| HTTP latency p50 / p99 / max | {_ms(lat.http_ms, 50)} / {_ms(lat.http_ms, 99)} / "
        f"{_ms(lat.http_ms, 100)} ms | {yes[goal['http']]} |",
        f"| propagation p50 / p99 / max | {_ms(lat.propagation_ms, 50)} / "
        f"{_ms(lat.propagation_ms, 99)} / {_ms(lat.propagation_ms, 100)} ms | "
        f"{yes[goal['propagation']]} |",
        f"| requests started > 10 ms after their slot | {lat.late_starts:,} "
        f"(worst {lat.max_start_lag_ms:.0f} ms) | |",
        f"| realisations arrived / realised quantity | "
        f"{len(lat.propagation_ms):,} of {lat.ok + 0:,} / {lat.realised_reported:,} "
        f"(expected {lat.realised_expected:,}) | |",
        "",
        "CPU seconds used during the measured window (and drain), by process: "
        + ", ".join(f"{name} {value:.1f}" for name, value in sorted(lat.cpu_s.items()))
        + f"; total {cpu_total:.1f} s over a {lat.elapsed_s:.1f} s window on {cores} cores. "
        f"Load average at start/end: {' / '.join(lat.load) or '?'}.",
        "",
        *_sweep(report),
        "### 2. Read-model replay (`rebuild_read_models`)",
        "",
        f"{rep.events:,} state-carrying CloudEvents (JSON templates made with `build_event`, "
        f"one per event type) XADDed, 1,000 per Lua call and untimed ({rep.fill_s:.1f} s), "
        "into `sinergi.agreements` and "
        "`sinergi.identity` of a scratch `redis-server`: a quarter each of item "
        "assessments of 10 busy agreements, status/NIK changes of 10 busy inmates, 4-event "
        "lifecycles of many agreements, 2-event lives of many inmates. Timed: "
        "`rebuild_read_models(engine, redis)` on a fresh SQLite file migrated to head, then "
        "every row compared with its aggregate's final state. CPU s = the bench process's "
        "CPU time during the rebuild (Redis excluded); the bench's expected states are "
        "frozen out of the garbage collector's way first (`gc.freeze`).",
        "",
        "| events | rebuild s | events/s | CPU s | rows rebuilt | checks |",
        "|---:|---:|---:|---:|---|---|",
        f"| {rep.events:,} | {rep.rebuild_s:.1f} | {rep.rate:,.0f} | {rep.rebuild_cpu_s:.1f} | "
        + ", ".join(f"{k} {v:,}" for k, v in rep.rows.items())
        + f" | {'final state of every aggregate: ok' if not rep.problems else '**FAILED**'} |",
        "",
    ]
    if rep.reduced_reason:
        lines += [f"Not the requested size: {rep.reduced_reason}.", ""]
    elif rep.pilot_rate is not None:
        lines += [f"A {PILOT_EVENTS:,}-event pilot rebuilt at {rep.pilot_rate:,.0f} events/s.", ""]
    lines += _reading(report)
    if report.problems or lat.problems:
        lines += ["", "### Failed checks and notes", "",
                  *(f"- {p}" for p in lat.problems + rep.problems)]  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


def _sweep(report: Report) -> list[str]:
    """Latency at every offered rate of the run, `--rate` last (nothing without `--rates`)."""
    if len(report.sweep) < 2:
        return []
    lines = [
        "#### Latency by offered rate",
        "",
        "The same services, agreement and people, one measured window per rate in this "
        "order (each after its own warm-up, the realisations of the previous window drained); "
        "CPU is per measured session.",
        "",
        "| offered /s | achieved /s | HTTP p50 / p99 ms | propagation p50 / p99 ms "
        "| CPU ms per session (programs / agreements / identity) |",
        "|---:|---:|---:|---:|---|",
    ]
    for lat in report.sweep:
        per = {name: 1000 * value / max(lat.ok, 1) for name, value in lat.cpu_s.items()}
        lines.append(
            f"| {lat.rate:g} | {lat.achieved_rate:.1f} | {_ms(lat.http_ms, 50)} / "
            f"{_ms(lat.http_ms, 99)} | {_ms(lat.propagation_ms, 50)} / "
            f"{_ms(lat.propagation_ms, 99)} | {per.get('programs', 0.0):.1f} / "
            f"{per.get('agreements', 0.0):.1f} / {per.get('identity', 0.0):.1f} |"
        )
    return [*lines, ""]


def _reading(report: Report) -> list[str]:
    lat, rep = report.latency, report.replay
    cores = os.cpu_count() or 1
    busy = sum(lat.cpu_s.values()) / lat.elapsed_s if lat.elapsed_s else 0.0
    goal = lat.meets_goal()
    verdict = "meets" if all(goal.values()) else "does not meet"
    lines = [
        "### Reading",
        "",
        f"- This run {verdict} the goal. The whole system (three services, Redis, the "
        f"driver) kept about {busy:.1f} of {cores} cores busy on average: the services are "
        "not measured in isolation, they compete with each other and with the load driver "
        "for the same CPUs, so these figures are a floor for what separate machines would do, "
        "and a ceiling for what a 2-core box serving real users beside them would do.",
        "- Each held session with "
        f"{lat.participants} participants is one SQLite write transaction in programs "
        "(session, attendance rows, outbox), then one in agreements (inbox, realisation "
        "ledger entry of that session and the item's running total, its outbox): both "
        "databases serialise writers. The agreement is read without its ledger, so the work "
        "per realisation does not grow with the sessions already recorded.",
        "- Propagation includes queueing: when the services fall behind the offered rate, "
        "the realisations queue in the streams and the propagation grows over the run; p50 "
        "and p99 are then mostly that backlog, not the per-hop cost.",
        "- Programs, per held session: one transaction that reads the agreement and the "
        "item by id, everyone attending in one `IN` query (custody periods included), the "
        "kind from a per-process catalogue; writes the session, the attendance as one "
        "executemany and the outbox row; then the relay's XADD. On SQLite the transaction "
        "and the relay's outbox reads and marks run on the event loop, not in worker "
        "threads (docs/decisions/0019-sqlite-work-on-the-event-loop.md).",
        "- CPU per measured session: "
        + ", ".join(
            f"{name} {1000 * value / max(lat.ok, 1):.1f} ms"
            for name, value in sorted(lat.cpu_s.items())
        )
        + "; one Python process is bound by one core, so the programs service alone "
        f"caps the rate near {lat.ok / max(lat.cpu_s.get('programs', 0.0), 0.001):.0f} "
        "sessions/s on this machine.",
        f"- Replay: {rep.rate:,.0f} events/s "
        f"({rep.events / max(rep.rebuild_cpu_s, 0.001):,.0f} per CPU second), one "
        "transaction; entries read 2,000 at a time (the next chunk while the current one is "
        "applied), each chunk parsed with `parse_event` and applied by `apply_events`, the "
        "function the live consumer uses: one SELECT per read model for the rows the chunk "
        "names, the facts folded over them in memory in stream order (newest sequence wins), "
        "one INSERT and one UPDATE executemany per read model.",
    ]
    if rep.reduced_reason:
        lines.append(f"- The requested {rep.requested:,}-event replay was not run: "
                     f"{rep.reduced_reason}.")  # fmt: skip
    return lines


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.programs", description=__doc__)
    parser.add_argument("--rate", type=float, default=None, help="sessions/s (default 200)")
    parser.add_argument(
        "--rates",
        default=None,
        help="comma-separated rates measured first, same services (default 50,100,150; "
        "none with --quick; '' for none)",
    )
    parser.add_argument("--seconds", type=float, default=None, help="measured window (20)")
    parser.add_argument("--participants", type=int, default=40)
    parser.add_argument("--replay-events", type=int, default=None, help="default 1,000,000")
    parser.add_argument(
        "--replay-budget-s",
        type=float,
        default=420.0,
        help="when the pilot projects a longer rebuild, replay fewer events (420)",
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--quick", action="store_true", help="rate 20 for 5 s, 20,000 events")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    rate = args.rate if args.rate is not None else (20.0 if quick else GOAL_RATE)
    seconds = args.seconds if args.seconds is not None else (5.0 if quick else 20.0)
    replay_events = args.replay_events or (PILOT_EVENTS if quick else 1_000_000)
    command = shlex.join([".venv/bin/python", "-m", "bench.programs", *sys.argv[1:]])
    started_at, started = datetime.now(UTC), time.perf_counter()
    sweep_text = args.rates if args.rates is not None else ("" if quick else "50,100,150")
    rates = [float(r) for r in sweep_text.split(",") if r.strip()]
    rates = [r for r in dict.fromkeys(rates) if r != rate] + [rate]
    print(
        f"latency: {', '.join(f'{r:g}' for r in rates)} sessions/s x {seconds:g} s each, "
        f"{args.participants} participants"
    )
    sweep = run_latencies(rates, seconds, args.participants, args.concurrency)
    latency = sweep[-1]
    print(f"replay: {replay_events:,} events (budget {args.replay_budget_s:.0f} s)")
    replay = run_replay(replay_events, args.replay_budget_s)
    report = Report(command, machine(), started_at, latency, replay, quick=quick, sweep=sweep)
    report.seconds = time.perf_counter() - started
    markdown = render(report)
    write_section(args.output, SECTION, markdown)
    print(markdown)
    for problem in report.problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
