"""Identity matching (pemadanan) at national scale: every person in custody against the registry.

    .venv/bin/python -m bench.identity_matching [--people 270000] [--registry 1000000]
        [--database sqlite|postgresql] [--output docs/benchmarks.md] [--quick]
        [--batch-size 1000] [--concurrency 4] [--profile]

1. starts the civil-registry stand-in (``python -m services.civil_registry``) with a
   ``--registry``-person population, a high rate limit for our client and no faults, and a
   Redis server of its own;
2. seeds the identity database with a ``--people`` roster drawn from the same population
   (most exact, some with a different mother's name or birth place, some with a NIK the
   registry does not know, some structurally invalid), in bulk through the domain and the
   repository's own row mapping (timed apart: seeding is not the matching figure);
3. starts the identity service as a process, publishes the civil-registry agreement on the
   agreements stream and waits until its legal-basis read model has it;
4. ``POST /matching/jobs`` for the whole facility, polls ``GET /matching/jobs/{id}`` until the
   job is no longer running, and times it;
5. checks exactly once: one done item per matchable person, the expected outcome counts, every
   batch applied once, the audit and the registry's own usage counts equal to the people sent.

``--profile`` runs the matching in-process (``MatchingService``) under cProfile instead, with
the legal basis written straight into its read model. The exit status is 0 only if every check
passes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import random
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import redis
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from services.civil_registry.population import Person, Population
from services.identity import domain
from services.identity.handlers import protect
from services.identity.legal_basis import apply_agreement
from services.identity.matching import MatchingService
from services.identity.migrations import upgrade_to_head
from services.identity.orm import InmateRow
from services.identity.protection import NikVault, generate_key
from services.identity.registry_client import CircuitBreaker, RegistryClient
from services.identity.repository import _values as inmate_values
from services.identity.unit_of_work import STREAM, UnitOfWork
from shared.events import build_event
from shared.events.agreements import AgreementActivated, AgreementState
from shared.http.auth import ApiKeyEntry, Role, hash_api_key
from shared.messaging import ENTRY_FIELD
from shared.persistence.engine import make_engine

REPO = Path(__file__).resolve().parents[1]
SECTION = "identity-matching"
FACILITY = "rutan-barabai"
ZONE = ZoneInfo("Asia/Makassar")
SEED = 2023
CLIENT_TOKEN = "bench-identity-client-token-0123456789"
ADMIN_TOKEN = "bench-registry-admin-token-0123456789"
REGISTRATION_KEY = "bench-registration-key-0123456789abcdef"
STAFF_KEY = "bench-staff-key-0123456789abcdef0123"
AGREEMENTS_STREAM = "sinergi.agreements"
ADMISSION = date(2024, 1, 10)
SEED_CHUNK = 5000
POLL_S = 1.0
GOAL_S = 300.0

# The roster's mix (shares of --people); the rest match exactly.
SHARE_PARTIAL = 0.08  # a different mother's name or birth place on our side
SHARE_NOT_FOUND = 0.05  # a well-formed NIK the registry does not know
SHARE_INVALID = 0.03  # structurally invalid: never sent
SHARE_SPELLING = 0.25  # of exact MUHAMMAD names: written M. / MUH. (still a match)


# --------------------------------------------------------------------------- the roster


@dataclass(frozen=True)
class Entry:
    register_number: str
    person: Person
    nik: str
    name: str
    birth_place: str
    mother_name: str
    expected: str  # matched, partial, not_found, invalid


@dataclass
class Roster:
    entries: list[Entry]
    expected: Counter[str]
    dead: int  # found in the registry, reported dead


def build_roster(population: Sequence[Person], size: int, seed: int = SEED) -> Roster:
    rng = random.Random(seed)
    known = {person.nik for person in population}
    chosen = rng.sample(range(len(population)), size)
    n_partial = round(size * SHARE_PARTIAL)
    n_missing = round(size * SHARE_NOT_FOUND)
    n_invalid = round(size * SHARE_INVALID)
    entries: list[Entry] = []
    dead = 0
    for k, index in enumerate(chosen):
        person = population[index]
        nik, name, place, mother = person.nik, person.name, person.birth_place, person.mother_name
        if k < n_partial:
            expected = "partial"
            if k % 2:
                other = population[(index + 7919) % len(population)].mother_name
                mother = other if other != mother else f"{mother} BINTI ALI"
            else:
                place = "MARTAPURA" if place != "MARTAPURA" else "AMUNTAI"
        elif k < n_partial + n_missing:
            expected = "not_found"
            nik = next(
                candidate
                for serial in range(9876, 1000, -1)
                if (candidate := f"{person.nik[:12]}{serial:04d}") not in known
            )
        elif k < n_partial + n_missing + n_invalid:
            expected = "invalid"
            nik = nik[:8] + "13" + nik[10:] if k % 2 else nik[:15]  # month 13, or 15 digits
        else:
            expected = "matched"
            if name.startswith("MUHAMMAD ") and rng.random() < SHARE_SPELLING:
                name = rng.choice(("M. ", "MUH. ", "MUHAMAD ")) + name[len("MUHAMMAD ") :]
        if expected in ("matched", "partial") and not person.alive:
            dead += 1
        entries.append(Entry(f"B.{k + 1:06d}/2024", person, nik, name, place, mother, expected))
    rng.shuffle(entries)
    return Roster(entries, Counter(entry.expected for entry in entries), dead)


def seed_roster(engine: Engine, vault: NikVault, roster: Roster) -> tuple[float, float, list[str]]:
    """Admit everyone through the domain and the repository's row mapping, in bulk inserts.

    Returns (seconds building rows, seconds inserting, problems). No duplicate search and no
    `inmate.admitted` facts in the outbox: a bulk load, as a data migration would do it.
    """
    problems: list[str] = []
    build_s = insert_s = 0.0
    with engine.begin() as connection:
        for start in range(0, len(roster.entries), SEED_CHUNK):
            began = time.perf_counter()
            rows: list[dict[str, Any]] = []
            for entry in roster.entries[start : start + SEED_CHUNK]:
                person = entry.person
                personal = domain.PersonalData(
                    name=entry.name,
                    sex=domain.Sex(person.sex),
                    birth_place=entry.birth_place,
                    birth_date=person.birth_date,
                    mother_name=entry.mother_name,
                )
                inmate = domain.Inmate.admit(
                    str(uuid.uuid4()),
                    FACILITY,
                    entry.register_number,
                    domain.Category.A_I,
                    personal,
                    ADMISSION,
                    protect(vault, entry.nik, personal),
                )
                invalid = inmate.nik_status is domain.NikStatus.INVALID
                if invalid != (entry.expected == "invalid"):
                    problems.append(
                        f"seed: {entry.register_number} meant {entry.expected}, "
                        f"admitted with NIK status {inmate.nik_status.value}"
                    )
                rows.append({**inmate_values(inmate), "id": inmate.id, "origin_facility": FACILITY})
            middle = time.perf_counter()
            connection.execute(insert(InmateRow), rows)
            build_s += middle - began
            insert_s += time.perf_counter() - middle
    return build_s, insert_s, problems[:10]


# --------------------------------------------------------------------------- infrastructure


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    what: str, ready: Any, timeout: float, process: subprocess.Popen[bytes] | None
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def child(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def registry_env(port: int, population: int) -> dict[str, str]:
    return {
        **os.environ,
        "SINERGI_HTTP_HOST": "127.0.0.1",
        "SINERGI_HTTP_PORT": str(port),
        "SINERGI_LOG_LEVEL": "WARNING",
        "SINERGI_REGISTRY_CLIENT_TOKENS": json.dumps({CLIENT_TOKEN: FACILITY}),
        "SINERGI_REGISTRY_ADMIN_TOKEN": ADMIN_TOKEN,
        "SINERGI_REGISTRY_POPULATION": str(population),
        "SINERGI_REGISTRY_SEED": str(SEED),
        "SINERGI_REGISTRY_RATE_LIMIT_PER_S": "1000",
        "SINERGI_REGISTRY_RATE_BURST": "2000",
    }


def registry_usage(url: str) -> dict[str, dict[str, int]]:
    response = httpx.get(
        f"{url}/admin/usage", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
    )
    response.raise_for_status()
    clients: dict[str, dict[str, dict[str, int]]] = response.json()["clients"]
    return clients.get(FACILITY, {"requests": {}, "items": {}, "responses": {}})


class Database:
    name: str
    url: str

    def version(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SqliteDatabase(Database):
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.url = f"sqlite:///{directory / 'identity.db'}"

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (file in a temp dir, WAL, synchronous=NORMAL)"


class PostgresDatabase(Database):
    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        admin = make_url(admin_url).set(drivername="postgresql+psycopg")
        self._admin = create_engine(admin, isolation_level="AUTOCOMMIT")
        self._db = f"sinergi_bench_identity_{os.getpid()}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self._db}"'))
        self.url = admin.set(database=self._db).render_as_string(hide_password=False)

    def version(self) -> str:
        with self._admin.connect() as connection:
            full = str(connection.execute(text("SELECT version()")).scalar_one())
            sync = connection.execute(text("SHOW synchronous_commit")).scalar_one()
        return f"{full.split(' on ')[0]} (scratch database, synchronous_commit={sync})"

    def close(self) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self._db}" WITH (FORCE)'))
        self._admin.dispose()


def agreement_event(today: date) -> tuple[str, AgreementState]:
    agreement_id = str(uuid.uuid4())
    state = AgreementState(
        agreement_id=agreement_id,
        partner_id=str(uuid.uuid4()),
        partner_code="dukcapil",
        facility_number="W15.PAS.PAS.12-UM.01.01-08",
        partner_number="470/08/DUKCAPIL/2023",
        title="Pemadanan dan pengesahan NIK WBP",
        programme_kinds=["nik_matching", "ktp_recording"],
        start_date=today - timedelta(days=365),
        end_date=today + timedelta(days=365),
        status="active",
        signed_on=today - timedelta(days=365),
    )
    return agreement_id, state


# --------------------------------------------------------------------------- the run


@dataclass
class Options:
    people: int
    registry: int
    database: str
    output: Path
    quick: bool
    batch_size: int
    concurrency: int
    poll_interval_s: float
    postgres_url: str
    profile: bool


@dataclass
class Report:
    options: Options
    command: str
    started: datetime
    machine: dict[str, str] = field(default_factory=dict)
    load: list[str] = field(default_factory=list)
    expected: Counter[str] = field(default_factory=Counter)
    dead: int = 0
    figures: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    usage: dict[str, dict[str, int]] = field(default_factory=dict)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    profile: str = ""
    pids: dict[str, int] = field(default_factory=dict)  # child processes whose CPU is counted

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append((what, ok))
        if not ok:
            self.problems.append(f"{what}: {detail}" if detail else what)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 when it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine(database: Database, redis_version: str) -> dict[str, str]:
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
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Database": database.version(),
        "Redis server": f"{redis_version} (own process, 127.0.0.1)",
        "SQLAlchemy / httpx / cryptography": (
            f"{version('sqlalchemy')} / {version('httpx')} / {version('cryptography')}"
        ),
    }


def identity_env(
    options: Options,
    port: int,
    database_url: str,
    redis_url: str,
    keys: dict[str, str],
    registry_url: str,
) -> dict[str, str]:
    registration = hash_api_key(REGISTRATION_KEY)
    entries = [
        ApiKeyEntry(name="registration", role=Role.REGISTRATION, sha256=registration),
        ApiKeyEntry(name="staff", role=Role.STAFF, sha256=hash_api_key(STAFF_KEY)),
    ]
    return {
        **os.environ,
        "SINERGI_ENVIRONMENT": "test",
        "SINERGI_LOG_LEVEL": "WARNING",
        "SINERGI_FACILITY": FACILITY,
        "SINERGI_IDENTITY_DATABASE_URL": database_url,
        "SINERGI_REDIS_URL": redis_url,
        "SINERGI_IDENTITY_NIK_KEY": keys["nik"],
        "SINERGI_IDENTITY_LOOKUP_KEY": keys["lookup"],
        "SINERGI_IDENTITY_API_KEYS": json.dumps([e.model_dump(mode="json") for e in entries]),
        "SINERGI_REGISTRY_URL": registry_url,
        "SINERGI_REGISTRY_TOKEN": CLIENT_TOKEN,
        "SINERGI_REGISTRY_BATCH_SIZE": str(options.batch_size),
        "SINERGI_REGISTRY_CONCURRENCY": str(options.concurrency),
        "SINERGI_REGISTRY_POLL_INTERVAL_S": str(options.poll_interval_s),
        "SINERGI_REGISTRY_RESYNC_ENABLED": "false",
        "SINERGI_HTTP_HOST": "127.0.0.1",
        "SINERGI_HTTP_PORT": str(port),
        "SINERGI_CONSUMER_NAME": "identity-bench-1",
    }


def run(options: Options, command: str) -> Report:
    report = Report(options=options, command=command, started=datetime.now(UTC))
    began = time.perf_counter()
    report.load.append(_loadavg())
    workdir = Path(tempfile.mkdtemp(prefix="sinergi-bench-identity-"))
    database: Database = (
        PostgresDatabase(options.postgres_url)
        if options.database == "postgresql"
        else SqliteDatabase(workdir)
    )
    try:
        with contextlib.ExitStack() as stack:
            _run(options, report, workdir, database, stack)
    finally:
        database.close()
        shutil.rmtree(workdir, ignore_errors=True)
    report.load.append(_loadavg())
    report.figures["total_s"] = time.perf_counter() - began
    return report


def _run(
    options: Options,
    report: Report,
    workdir: Path,
    database: Database,
    stack: contextlib.ExitStack,
) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not on PATH")
    redis_port, registry_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis_server = stack.enter_context(
        child(
            [binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir)],
            dict(os.environ),
            workdir / "redis.log",
        )
    )  # fmt: skip
    report.pids["Redis"] = redis_server.pid
    streams = redis.Redis.from_url(redis_url)
    stack.callback(streams.close)

    def redis_up() -> bool:
        with contextlib.suppress(redis.RedisError):
            return bool(streams.ping())
        return False

    wait_for("redis-server", redis_up, 10, None)
    redis_info: dict[str, Any] = streams.info("server")
    report.machine = machine(database, str(redis_info.get("redis_version")))

    print(f"starting the stand-in with {options.registry:,} people", flush=True)
    started = time.perf_counter()
    registry = stack.enter_context(
        child(
            [sys.executable, "-m", "services.civil_registry"],
            registry_env(registry_port, options.registry),
            workdir / "civil-registry.log",
        )
    )
    report.pids["stand-in"] = registry.pid
    registry_url = f"http://127.0.0.1:{registry_port}"
    # Build our copy of the population while the stand-in builds its own.
    population = Population(options.registry, SEED).people()
    roster = build_roster(population, options.people)
    del population
    report.expected, report.dead = roster.expected, roster.dead
    wait_for("the stand-in", lambda: _http_ok(f"{registry_url}/health/ready"), 300, registry)
    report.figures["registry_start_s"] = time.perf_counter() - started
    print(f"  ready after {report.figures['registry_start_s']:.1f} s; roster {roster.expected}")

    keys = {"nik": generate_key(), "lookup": generate_key()}
    vault = NikVault(keys["nik"], keys["lookup"])
    engine = make_engine(database.url)
    stack.callback(engine.dispose)
    upgrade_to_head(engine)
    print(f"seeding {options.people:,} people into {database.name}", flush=True)
    started = time.perf_counter()
    build_s, insert_s, problems = seed_roster(engine, vault, roster)
    report.figures |= {
        "seed_s": time.perf_counter() - started,
        "seed_build_s": build_s,
        "seed_insert_s": insert_s,
    }
    report.check("roster seeded as meant", not problems, "; ".join(problems))
    if database.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    print(f"  seeded in {report.figures['seed_s']:.1f} s", flush=True)
    matchable = len(roster.entries) - roster.expected["invalid"]
    del roster

    if options.profile:
        asyncio.run(_in_process(options, report, engine, vault, registry_url))
    else:
        _as_process(options, report, database, keys, redis_url, registry_url, workdir, stack)
    _verify(report, engine, registry_url, matchable)


def _as_process(
    options: Options,
    report: Report,
    database: Database,
    keys: dict[str, str],
    redis_url: str,
    registry_url: str,
    workdir: Path,
    stack: contextlib.ExitStack,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = identity_env(options, port, database.url, redis_url, keys, registry_url)
    started = time.perf_counter()
    identity = stack.enter_context(
        child([sys.executable, "-m", "services.identity"], env, workdir / "identity.log")
    )
    report.pids["identity"] = identity.pid
    wait_for("the identity service", lambda: _http_ok(f"{url}/health/live"), 120, identity)
    report.figures["identity_start_s"] = time.perf_counter() - started

    agreement_id, state = agreement_event(datetime.now(ZONE).date())
    event = build_event(
        AgreementActivated(agreement=state), subject=agreement_id, facility=FACILITY, sequence=1
    )
    with redis.Redis.from_url(redis_url) as streams:
        streams.xadd(AGREEMENTS_STREAM, {ENTRY_FIELD: event.to_json()})
    check = make_engine(database.url)
    try:

        def arrived() -> bool:
            with check.connect() as connection:
                return bool(
                    connection.execute(
                        text("SELECT count(*) FROM legal_basis WHERE agreement_id = :id"),
                        {"id": agreement_id},
                    ).scalar_one()
                )

        wait_for("the agreement in the legal-basis read model", arrived, 60, identity)
    finally:
        check.dispose()

    print(f"matching: batch {options.batch_size}, concurrency {options.concurrency}", flush=True)
    with httpx.Client(base_url=url, timeout=120) as client:
        cpu_before = {name: _cpu_s(pid) for name, pid in report.pids.items()}
        started = time.perf_counter()
        response = client.post(
            "/matching/jobs",
            json={"purpose": "bench: national roster re-check"},
            headers={"X-API-Key": REGISTRATION_KEY},
        )
        accepted = time.perf_counter()
        if response.status_code != 202:
            report.check("job accepted", False, f"HTTP {response.status_code} {response.text}")
            return
        job_id = response.json()["job_id"]
        polls: list[float] = []
        last_print = 0.0
        while True:
            time.sleep(options.poll_interval_s if options.quick else POLL_S)
            asked = time.perf_counter()
            body = client.get(f"/matching/jobs/{job_id}", headers={"X-API-Key": STAFF_KEY})
            polls.append(time.perf_counter() - asked)
            body.raise_for_status()
            progress: dict[str, Any] = body.json()
            if progress["status"] != "running":
                break
            if identity.poll() is not None:
                report.check("identity service alive", False, "it exited during the job")
                return
            if time.perf_counter() - last_print > 15:
                last_print = time.perf_counter()
                print(
                    f"  {time.perf_counter() - started:6.1f} s: {progress['done']:,} done, "
                    f"{progress['sent']:,} sent, {progress['pending']:,} pending",
                    flush=True,
                )
        elapsed = time.perf_counter() - started
    for name, pid in report.pids.items():
        report.figures[f"cpu_s:{name}"] = _cpu_s(pid) - cpu_before[name]
    report.figures |= {
        "job_accept_s": accepted - started,
        "matching_s": elapsed,
        "poll_median_ms": 1000 * sorted(polls)[len(polls) // 2],
        "poll_max_ms": 1000 * max(polls),
    }
    report.outcomes = dict(progress["outcomes"])
    report.check("job completed", progress["status"] == "completed", str(progress.get("detail")))
    print(f"  {progress['status']} after {elapsed:.1f} s: {progress['outcomes']}", flush=True)


@contextlib.contextmanager
def _profiled_workers(loop: asyncio.AbstractEventLoop) -> Iterator[list[cProfile.Profile]]:
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start() -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()

    executor = ThreadPoolExecutor(max_workers=8, initializer=start)
    loop.set_default_executor(executor)
    try:
        yield profiles
    finally:
        executor.shutdown(wait=True)


def _stats_text(stats: pstats.Stats, lines: int, sort: str) -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats(sort).print_stats(lines)
    body = out.getvalue()
    start = body.find("   ncalls")
    return body[start:].rstrip() if start >= 0 else body.rstrip()


async def _in_process(
    options: Options, report: Report, engine: Engine, vault: NikVault, registry_url: str
) -> None:
    today = datetime.now(ZONE).date()
    _, state = agreement_event(today)
    with Session(engine) as session, session.begin():
        apply_agreement(session, FACILITY, state, 1)
    client = RegistryClient(
        registry_url,
        CLIENT_TOKEN,
        sender_id=FACILITY,
        timeout_s=10.0,
        max_attempts=6,
        breaker=CircuitBreaker(5, 30.0),
        poll_interval_s=options.poll_interval_s,
        result_timeout_s=600.0,
    )
    service = MatchingService(
        engine=engine,
        uow=lambda: UnitOfWork(engine, STREAM),
        vault=vault,
        registry=client,
        batch_size=options.batch_size,
        concurrency=options.concurrency,
        today=lambda: today,
    )
    loop = asyncio.get_running_loop()
    main = cProfile.Profile()
    print("matching in-process under cProfile", flush=True)
    try:
        with _profiled_workers(loop) as workers:
            started = time.perf_counter()
            main.enable()
            try:
                job_id = await service.start_job(FACILITY, "bench: profile", "bench", None)
                await service.wait(job_id)
            finally:
                main.disable()
            elapsed = time.perf_counter() - started
    finally:
        await client.aclose()
    report.figures["matching_s"] = elapsed
    progress = service.job_progress(job_id)
    assert progress is not None
    report.outcomes = dict(progress.outcomes)
    report.check("job completed", progress.status == "completed", str(progress.detail))
    loop_stats = pstats.Stats(main)
    worker_stats = pstats.Stats(*workers)
    report.profile = "\n\n".join(
        [
            "Event-loop thread, by own time:",
            _stats_text(loop_stats, 12, "tottime"),
            f"Worker threads ({len(workers)}), by cumulative time:",
            _stats_text(worker_stats, 30, "cumulative"),
            "Worker threads, by own time:",
            _stats_text(worker_stats, 20, "tottime"),
        ]
    )
    print(report.profile)


def _verify(report: Report, engine: Engine, registry_url: str, matchable: int) -> None:
    """Exactly once, from the database and from the registry's own counts."""
    expected = report.expected
    with engine.connect() as connection:

        def scalar(sql: str) -> int:
            return int(connection.execute(text(sql)).scalar_one() or 0)

        jobs = connection.execute(text("SELECT id, total, status FROM matching_job")).all()
        report.check("one job", len(jobs) == 1, f"{len(jobs)} jobs")
        if not jobs:
            return
        total = int(jobs[0][1])
        items = scalar("SELECT count(*) FROM matching_item")
        people = scalar("SELECT count(DISTINCT person_id) FROM matching_item")
        item_people = {
            str(r[0]) for r in connection.execute(text("SELECT person_id FROM matching_item"))
        }
        invalid = {
            str(r[0])
            for r in connection.execute(text("SELECT id FROM inmate WHERE nik_status = 'invalid'"))
        }
        report.check(
            "one item per matchable person, no one else",
            total == items == people == len(item_people) == matchable and not item_people & invalid,
            f"total {total}, items {items}, distinct {people}, matchable {matchable}, "
            f"invalid in job {len(item_people & invalid)}",
        )
        open_items = scalar("SELECT count(*) FROM matching_item WHERE state <> 'done'")
        report.check("every item done with an outcome", open_items == 0, f"{open_items} open")
        outcomes = {
            str(o): int(n)
            for o, n in connection.execute(
                text("SELECT outcome, count(*) FROM matching_item GROUP BY outcome")
            )
        }
        report.outcomes = outcomes
        want = {k: expected[k] for k in ("matched", "partial", "not_found") if expected[k]}
        report.check("outcome counts as expected", outcomes == want, f"{outcomes} != {want}")
        statuses = {
            str(s): int(n)
            for s, n in connection.execute(
                text("SELECT nik_status, count(*) FROM inmate GROUP BY nik_status")
            )
        }
        report.statuses = statuses
        want_status = {k: v for k, v in expected.items() if v}
        report.check("NIK statuses as expected", statuses == want_status, f"{statuses}")
        attempts = scalar("SELECT count(*) FROM matching_item WHERE attempts <> 1")
        report.check("every item claimed once", attempts == 0, f"{attempts} claimed again")
        batches = connection.execute(
            text("SELECT state, count(*), sum(size) FROM matching_batch GROUP BY state")
        ).all()
        by_state = {str(s): (int(n), int(size)) for s, n, size in batches}
        report.figures["batches"] = float(sum(n for n, _ in by_state.values()))
        report.check(
            "every batch applied once",
            set(by_state) == {"done"} and by_state["done"][1] == matchable,
            f"{by_state}",
        )
        audited = scalar(
            "SELECT sum(items) FROM access_audit WHERE action = 'matching_call'"
            " AND agreement_id IS NOT NULL"
        )
        report.check("audit counts every person sent once", audited == matchable, f"{audited}")
        dead = 0
        for (match,) in connection.execute(
            text("SELECT last_match FROM inmate WHERE last_match IS NOT NULL")
        ):
            value = json.loads(match) if isinstance(match, str) else match
            dead += bool(value) and value.get("alive") is False
        report.check("deaths reported", dead == report.dead, f"{dead} != {report.dead}")
        report.figures["outbox"] = float(scalar("SELECT count(*) FROM outbox"))
    usage = registry_usage(registry_url)
    report.usage = usage
    items_seen = usage.get("items", {})
    sent = sum(int(v) for v in items_seen.values())
    report.check(
        "the registry saw each sent person once",
        sent == matchable
        and int(items_seen.get("not_found", 0)) == expected["not_found"]
        and int(items_seen.get("rejected", 0)) == 0,
        f"{items_seen}",
    )


# --------------------------------------------------------------------------- markdown


def _n(value: float) -> str:
    return f"{value:,.0f}"


def render(report: Report) -> str:
    o, f = report.options, report.figures
    matchable = sum(report.expected[k] for k in ("matched", "partial", "not_found"))
    seconds = f.get("matching_s", 0.0)
    rate = matchable / seconds if seconds else 0.0
    mode = (
        "in-process `MatchingService` under cProfile (slower than without)"
        if o.profile
        else "the identity service as a process, `POST /matching/jobs` + polling"
    )
    lines = [
        "## Identity matching (pemadanan) at national scale",
        "",
        "Generated by `bench/identity_matching.py`; do not edit by hand, re-run the command.",
        "",
        f"Run started {report.started:%Y-%m-%d %H:%M} UTC, took {f.get('total_s', 0):.0f} s. "
        f"Load average (1/5/15 min) at the start: {report.load[0]}, at the end: "
        f"{report.load[-1]} on {os.cpu_count()} cores; the stand-in, Redis, the database and "
        "the identity service all share these cores.",
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
        *[f"| {k} | {v} |" for k, v in report.machine.items()],
        "",
        "### Workload",
        "",
        f"- Civil-registry stand-in as a process, population {o.registry:,} (seed {SEED}), "
        "rate limit 1000/s (burst 2000) for our client, no faults, async search.",
        f"- Roster of {o.people:,} people in custody at one facility, drawn without repeats "
        f"from the same population: {_n(report.expected['matched'])} exact (a quarter of the "
        f"MUHAMMAD names written M. / MUH. / MUHAMAD, still a match), "
        f"{_n(report.expected['partial'])} with another mother's name or birth place, "
        f"{_n(report.expected['not_found'])} with a well-formed NIK the registry does not "
        f"know, {_n(report.expected['invalid'])} structurally invalid (month 13 or 15 digits: "
        f"status `invalid` at admission, never sent, not in the job); {report.dead:,} of those "
        "found are dead in the registry.",
        "- Seeding: `Inmate.admit` + `protect` (NIK check, AES-GCM, HMAC) + the repository's "
        f"row mapping, `INSERT` of {SEED_CHUNK:,} rows per statement in one transaction; no "
        "duplicate search and no `inmate.admitted` facts (a bulk load). Not part of the "
        "matching figure.",
        f"- Matching: {mode}; one job for the whole facility "
        f"({matchable:,} people), `registry_batch_size={o.batch_size}`, "
        f"`registry_concurrency={o.concurrency}`, "
        f"`registry_poll_interval_s={o.poll_interval_s}`. Timed from the POST to the first "
        f"poll that sees the job finished (polls every {POLL_S:.0f} s).",
        "",
        "### Results",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| stand-in start ({o.registry:,} people) | {f.get('registry_start_s', 0):.1f} s |",
        f"| seeding {o.people:,} people (build rows / insert) | {f.get('seed_s', 0):.1f} s "
        f"({f.get('seed_build_s', 0):.1f} / {f.get('seed_insert_s', 0):.1f}) |",
        f"| **matching {matchable:,} people, wall time** | **{seconds:.1f} s** |",
        f"| people/s | {rate:,.0f} |",
        f"| goal | < {GOAL_S:.0f} s: {'met' if seconds and seconds < GOAL_S else 'NOT met'} |",
    ]
    if "job_accept_s" in f:
        lines += [
            f"| POST /matching/jobs answered after (job + items written) | "
            f"{f['job_accept_s']:.1f} s |",
            f"| GET /matching/jobs/{{id}} median / max | {f['poll_median_ms']:.0f} / "
            f"{f['poll_max_ms']:.0f} ms |",
        ]
    cpu = [(k.split(":", 1)[1], v) for k, v in f.items() if k.startswith("cpu_s:")]
    if cpu:
        lines.append(
            "| CPU used during matching (user + system) | "
            + ", ".join(f"{name} {value:.0f} s" for name, value in cpu)
            + " |"
        )
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(report.statuses.items()))
    lines += [
        f"| batches | {f.get('batches', 0):,.0f} |",
        f"| outbox facts written by matching | {f.get('outbox', 0):,.0f} |",
        "",
        f"Outcomes: {', '.join(f'{k} {v:,}' for k, v in sorted(report.outcomes.items()))}. "
        f"NIK statuses after: {statuses}."
        f" Registry usage (its own counters): {json.dumps(report.usage.get('items', {}))}.",
        "",
        "### Checks",
        "",
        *[f"- {'ok' if ok else 'FAILED'}: {what}" for what, ok in report.checks],
        *[f"  - {problem}" for problem in report.problems],
        "",
    ]
    if report.profile:
        lines += ["### Profile", "", "```", report.profile, "```", ""]
    return "\n".join(lines)


def write_section(path: Path, markdown: str) -> None:
    """Replace this benchmark's marked section, or append it; no other byte changes."""
    start, end = f"<!-- bench:{SECTION}:start -->", f"<!-- bench:{SECTION}:end -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text_ = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text_ and end in text_.split(start, 1)[1]:
        before, rest = text_.split(start, 1)
        after = rest.split(end, 1)[1]
        text_ = f"{before}{block}{after}"
    else:
        text_ = f"{text_}{'' if text_.endswith(chr(10)) else chr(10)}\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text_)


# --------------------------------------------------------------------------- entry point


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.identity_matching", description=__doc__)
    parser.add_argument("--people", type=int, default=None, help="roster size (270000)")
    parser.add_argument("--registry", type=int, default=None, help="population (1000000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--quick", action="store_true", help="2,000 people, 50,000 registry")
    parser.add_argument("--batch-size", type=int, default=1000, help="registry_batch_size")
    parser.add_argument("--concurrency", type=int, default=4, help="registry_concurrency")
    parser.add_argument("--poll-interval", type=float, default=0.05, help="registry poll, s")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--profile", action="store_true", help="in-process, under cProfile")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    people = args.people or (2_000 if quick else 270_000)
    registry = args.registry or (50_000 if quick else 1_000_000)
    if not 0 < people <= registry:
        parser.error("--people must be between 1 and --registry")
    if not 1 <= args.batch_size <= 1000 or not 1 <= args.concurrency <= 64:
        parser.error("--batch-size must be 1..1000 and --concurrency 1..64")
    return Options(
        people=people,
        registry=registry,
        database=args.database,
        output=args.output,
        quick=quick,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        poll_interval_s=args.poll_interval,
        postgres_url=args.postgres_url,
        profile=bool(args.profile),
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = parse_options(argv)
    command = shlex.join([".venv/bin/python", "-m", "bench.identity_matching", *argv])
    report = run(options, command)
    write_section(options.output, render(report))
    print(f"wrote {options.output}")
    if report.problems:
        print("exactly-once checks FAILED:", *report.problems, sep="\n  ", file=sys.stderr)
        return 1
    print("all exactly-once checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
