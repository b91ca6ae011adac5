"""Delivery throughput: the service paths against raw redis-py, in one run, on one machine.

    .venv/bin/python -m bench.delivery [--events 100000] [--repeats 3]
        [--database sqlite|postgresql|both] [--output docs/benchmarks.md] [--quick]

Measures, on the same Redis and the same `sinergi.session.held` CloudEvent bodies:
1. raw publish: redis-py pipelined XADD, 500 per execute;
2. raw consume: redis-py XREADGROUP COUNT 100 + one XACK per batch;
3. service consume: the real `GroupConsumer` (batch 100) with a handler doing `claim_fresh`
   and a sequence-checked upsert in one transaction per batch, on SQLite and PostgreSQL;
4. outbox relay: `OutboxRelay.publish_pending()` rounds (batch 500) over a pre-filled outbox.
Each service path is reported as a ratio against its raw counterpart. Every run is checked
(every event applied or published exactly once); the exit status is 0 only if all checks pass.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import platform
import pstats
import shlex
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.utils import HIREDIS_AVAILABLE
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bench.sections import machine_note, write_section
from bench.workload import (
    HandlerStats,
    Workload,
    build_workload,
    check_read_model,
    inbox,
    outbox,
    read_model,
    read_model_handler,
    seed_tables,
)
from shared.events import parse_event
from shared.messaging import DEADLETTER_STREAM, ENTRY_FIELD, OutboxRelay, Subscription
from shared.messaging.connection import connect
from shared.messaging.consumer import ConsumerSettings, GroupConsumer
from shared.messaging.groups import ensure_group
from shared.messaging.outbox import add_to_outbox
from shared.observability.metrics import Metrics
from shared.persistence.engine import make_engine

CONSUME_STREAM = "bench.programs"
COLD_STREAM = "bench.programs.cold"
PROFILE_STREAM = "bench.programs.profile"
READ_BATCH = 100
PUBLISH_BATCH = 500
FILL_BATCH = 500
POLL_S = 0.01
GOAL = 0.5


# --------------------------------------------------------------------------- results


@dataclass
class Sample:
    seconds: float
    events: int
    problems: list[str] = field(default_factory=list)
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass
class Measurement:
    key: str
    title: str
    database: str | None
    samples: list[Sample] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [sample.rate for sample in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    @property
    def problems(self) -> list[str]:
        return [problem for sample in self.samples for problem in sample.problems]

    def note(self, name: str) -> float | None:
        values = [sample.notes[name] for sample in self.samples if name in sample.notes]
        return statistics.median(values) if values else None


@dataclass
class Profile:
    title: str
    events: int
    seconds: float
    loop_thread: str
    worker_threads: str
    headline: dict[str, float]


# --------------------------------------------------------------------------- databases


class Database:
    """A place for fresh, empty service tables: a SQLite file or a scratch PostgreSQL db."""

    name: str

    def fresh_engine(self, tag: str) -> Engine:
        raise NotImplementedError

    def server_version(self) -> str:
        raise NotImplementedError

    def table_scans(self) -> dict[str, float]:
        """How the service tables were read (PostgreSQL's statistics), for the report."""
        return {}

    def close(self) -> None:
        pass


def _create_tables(engine: Engine) -> None:
    for table in (inbox, outbox):
        table.drop(engine, checkfirst=True)
        table.create(engine)
    read_model.drop_all(engine)
    read_model.create_all(engine)


class SqliteDatabase(Database):
    name = "sqlite"

    def __init__(self, directory: Path | None) -> None:
        self._own = directory is None
        self._dir = directory or Path(tempfile.mkdtemp(prefix="sinergi-bench-"))
        self._dir.mkdir(parents=True, exist_ok=True)

    def fresh_engine(self, tag: str) -> Engine:
        path = self._dir / f"{tag}.db"
        for leftover in (path, path.with_suffix(".db-wal"), path.with_suffix(".db-shm")):
            leftover.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{path}")
        _create_tables(engine)
        return engine

    def server_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (file on {self._dir}, WAL, synchronous=NORMAL)"

    def close(self) -> None:
        if self._own:
            shutil.rmtree(self._dir, ignore_errors=True)


class PostgresDatabase(Database):
    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        admin = make_url(admin_url).set(drivername="postgresql+psycopg")
        self._admin = create_engine(admin, isolation_level="AUTOCOMMIT")
        self._db = f"sinergi_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self._db}"'))
        self.url = admin.set(database=self._db).render_as_string(hide_password=False)

    def fresh_engine(self, tag: str) -> Engine:
        engine = make_engine(self.url)
        _create_tables(engine)
        return engine

    def server_version(self) -> str:
        with self._admin.connect() as connection:
            full = connection.execute(text("SELECT version()")).scalar_one()
            sync = connection.execute(text("SHOW synchronous_commit")).scalar_one()
            vacuum = connection.execute(text("SHOW autovacuum")).scalar_one()
        return (
            f"{str(full).split(' on ')[0]} (scratch database, synchronous_commit={sync}, "
            f"autovacuum={vacuum})"
        )

    def table_scans(self) -> dict[str, float]:
        time.sleep(1.2)  # statistics reach the shared counters up to 1 s after a commit
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT relname, seq_scan, seq_tup_read, idx_scan FROM pg_stat_user_tables"
                        " WHERE relname IN ('inbox', 'session_view')"
                    )
                ).all()
        finally:
            engine.dispose()
        scans: dict[str, float] = {}
        for name, seq_scan, seq_read, idx_scan in rows:
            scans |= {
                f"{name}_seq_scan": float(seq_scan or 0),
                f"{name}_seq_tup_read": float(seq_read or 0),
                f"{name}_idx_scan": float(idx_scan or 0),
            }
        return scans

    def close(self) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self._db}" WITH (FORCE)'))
        self._admin.dispose()


# --------------------------------------------------------------------------- raw paths


def _chunks(items: list[bytes], size: int) -> Iterator[list[bytes]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _xadd_all(redis: aioredis.Redis, stream: str, bodies: list[bytes]) -> None:
    for chunk in _chunks(bodies, PUBLISH_BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for body in chunk:
                pipe.xadd(stream, {ENTRY_FIELD: body})
            await pipe.execute()


async def raw_publish(redis: aioredis.Redis, workload: Workload, repeat: int) -> Sample:
    stream = f"bench.raw-publish.{repeat}"
    await redis.delete(stream)
    started = time.perf_counter()
    await _xadd_all(redis, stream, workload.bodies)
    sample = Sample(time.perf_counter() - started, len(workload.bodies))
    written = await redis.xlen(stream)
    if written != len(workload.bodies):
        sample.problems.append(f"raw publish: stream holds {written}, not {len(workload.bodies)}")
    await redis.delete(stream)
    return sample


async def raw_consume(redis: aioredis.Redis, workload: Workload, repeat: int) -> Sample:
    group = f"raw-{repeat}"
    await ensure_group(redis, CONSUME_STREAM, group)
    consumed = 0
    started = time.perf_counter()
    while True:
        reply: Any = await redis.xreadgroup(group, "raw-1", {CONSUME_STREAM: ">"}, count=READ_BATCH)
        if not reply:
            break
        entries = reply[0][1]
        await redis.xack(CONSUME_STREAM, group, *[entry_id for entry_id, _ in entries])
        consumed += len(entries)
    sample = Sample(time.perf_counter() - started, consumed)
    state = await _group(redis, group)
    if consumed != len(workload.bodies) or int(state["pending"]) != 0:
        sample.problems.append(
            f"raw consume: read {consumed} of {len(workload.bodies)}, {state['pending']} pending"
        )
    await redis.xgroup_destroy(CONSUME_STREAM, group)
    return sample


async def _group(redis: aioredis.Redis, group: str, stream: str = CONSUME_STREAM) -> dict[str, Any]:
    for info in await redis.xinfo_groups(stream):
        name = info["name"]
        if (name.decode() if isinstance(name, bytes) else name) == group:
            return dict(info)
    raise LookupError(group)


# --------------------------------------------------------------------------- service paths


@dataclass
class ConsumerRun:
    seconds: float
    stats: HandlerStats
    metrics: Metrics
    stream: str
    group: str


async def _drive_consumer(
    redis: aioredis.Redis,
    poller: aioredis.Redis,
    engine: Engine,
    workload: Workload,
    stream: str,
    group: str,
) -> ConsumerRun:
    await ensure_group(redis, stream, group)
    stats = HandlerStats()
    metrics = Metrics("bench")
    consumer = GroupConsumer(
        redis,
        Subscription(stream, group, read_model_handler(engine, group, stats)),
        ConsumerSettings(consumer="bench-1", service="bench", batch_size=READ_BATCH, block_ms=100),
        metrics,
    )
    total = len(workload.bodies)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run(stop))
    try:
        while True:
            await asyncio.sleep(POLL_S)
            if task.done():
                break
            state = await _group(poller, group, stream)
            read = int(state.get("entries-read") or 0)
            if read >= total and int(state["lag"] or 0) == 0 and int(state["pending"]) == 0:
                break
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        await task
    return ConsumerRun(seconds, stats, metrics, stream, group)


async def service_consume(
    redis: aioredis.Redis,
    poller: aioredis.Redis,
    database: Database,
    workload: Workload,
    repeat: int,
    *,
    stream: str = CONSUME_STREAM,
    seed: bool = True,
) -> Sample:
    """One drain of `stream` by a fresh group into fresh tables (seeded unless cold)."""
    engine = database.fresh_engine(f"consume-{repeat}")
    group = f"svc-{database.name}-{repeat}-{'seeded' if seed else 'cold'}"
    try:
        if seed:
            await asyncio.to_thread(seed_tables, engine, len(workload.bodies))
        run = await _drive_consumer(redis, poller, engine, workload, stream, group)
        sample = Sample(run.seconds, len(workload.bodies))
        sample.problems += await _check_consumer(redis, engine, workload, run)
    finally:
        engine.dispose()
    stats = run.stats
    batches = max(stats.calls, 1)
    first, last = stats.tenths_ms()
    sample.notes = await asyncio.to_thread(database.table_scans)
    sample.notes |= {
        "handler_share": stats.total / run.seconds,
        "batch_ms": 1000 * run.seconds / batches,
        "handler_ms": 1000 * stats.total / batches,
        "claim_ms": 1000 * stats.claim / batches,
        "upsert_ms": 1000 * stats.upsert / batches,
        "commit_ms": 1000 * stats.commit / batches,
        "single_calls": stats.single_calls,
        "first_handler_ms": first,
        "last_handler_ms": last,
    }
    await redis.xgroup_destroy(stream, group)
    return sample


async def _check_consumer(
    redis: aioredis.Redis, engine: Engine, workload: Workload, run: ConsumerRun
) -> list[str]:
    total, where = len(workload.bodies), f"consumer on {engine.dialect.name}"
    problems: list[str] = []
    state = await _group(redis, run.group, run.stream)
    if int(state["pending"]) or int(state["lag"] or 0) or int(state["entries-read"]) != total:
        problems.append(f"{where}: group state {state}")
    model = check_read_model(engine, workload, run.group)
    if model.inbox_rows != total:
        problems.append(f"{where}: {model.inbox_rows} inbox rows, expected {total}")
    if model.applied_sum != total:
        problems.append(f"{where}: read model folded {model.applied_sum} events, not {total}")
    if model.view_rows != workload.sessions or model.mismatched_rows:
        problems.append(
            f"{where}: {model.view_rows} view rows of {workload.sessions}, "
            f"{model.mismatched_rows} not at their last event"
        )
    if run.stats.deliveries != total:
        problems.append(f"{where}: handler saw {run.stats.deliveries} deliveries, not {total}")
    consumed = run.metrics.registry.get_sample_value(
        "sinergi_events_consumed_total",
        {
            "service": "bench",
            "stream": run.stream,
            "group": run.group,
            "type": "sinergi.session.held",
        },
    )
    if consumed != total:
        problems.append(f"{where}: metrics counted {consumed} consumed, not {total}")
    dead = await redis.xlen(DEADLETTER_STREAM)
    if dead:
        problems.append(f"{where}: {dead} dead letters")
    return problems


def _fill_outbox(engine: Engine, workload: Workload, stream: str) -> float:
    started = time.perf_counter()
    events = workload.events
    for start in range(0, len(events), FILL_BATCH):
        with Session(engine) as session:
            add_to_outbox(session, stream, events[start : start + FILL_BATCH])
            session.commit()
    return time.perf_counter() - started


async def relay_publish(
    redis: aioredis.Redis, database: Database, workload: Workload, repeat: int
) -> Sample:
    engine = database.fresh_engine(f"relay-{repeat}")
    stream = f"bench.relay.{database.name}.{repeat}"
    total = len(workload.bodies)
    try:
        fill_s = await asyncio.to_thread(_fill_outbox, engine, workload, stream)
        if database.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE outbox"))
        metrics = Metrics("bench")
        relay = OutboxRelay(engine, redis, metrics, batch_size=PUBLISH_BATCH)
        rounds: list[float] = []
        published = 0
        started = time.perf_counter()
        while True:
            round_started = time.perf_counter()
            count = await relay.publish_pending()
            if not count:
                break
            rounds.append(time.perf_counter() - round_started)
            published += count
        sample = Sample(time.perf_counter() - started, published)
        with engine.connect() as connection:
            unpublished = connection.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            ).scalar_one()
    finally:
        engine.dispose()
    where = f"relay on {database.name}"
    written = await redis.xlen(stream)
    if published != total or written != total or unpublished:
        sample.problems.append(
            f"{where}: published {published}, stream holds {written}, {unpublished} unpublished"
        )
    counted = metrics.registry.get_sample_value(
        "sinergi_events_published_total", {"service": "bench", "stream": stream}
    )
    if counted != total:
        sample.problems.append(f"{where}: metrics counted {counted} published, not {total}")
    tenth = max(len(rounds) // 10, 1)
    sample.notes = {
        "fill_s": fill_s,
        "round_ms": 1000 * statistics.median(rounds) if rounds else 0.0,
        "first_rounds_ms": 1000 * statistics.mean(rounds[:tenth]) if rounds else 0.0,
        "last_rounds_ms": 1000 * statistics.mean(rounds[-tenth:]) if rounds else 0.0,
    }
    await redis.delete(stream)
    return sample


# --------------------------------------------------------------------------- profiling


@contextlib.contextmanager
def _profiled_workers(loop: asyncio.AbstractEventLoop) -> Iterator[list[cProfile.Profile]]:
    """Swap in a default executor whose threads each run their own cProfile."""
    profiles: list[cProfile.Profile] = []

    def start() -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    executor = ThreadPoolExecutor(max_workers=2, initializer=start)
    loop.set_default_executor(executor)
    try:
        yield profiles
    finally:
        executor.shutdown(wait=True)
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4))
        )


def _stats_text(stats: pstats.Stats, lines: int) -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats("tottime").print_stats(lines)
    body = out.getvalue()
    start = body.find("   ncalls")
    return body[start:].rstrip() if start >= 0 else body.rstrip()


def _cumulative(stats: pstats.Stats, name: str) -> float:
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    return float(sum(entry[3] for (_, _, function), entry in table.items() if function == name))


async def _profile(
    title: str, events: int, work: Callable[[], Awaitable[float]], headline: list[str]
) -> Profile:
    loop = asyncio.get_running_loop()
    main = cProfile.Profile()
    with _profiled_workers(loop) as workers:
        main.enable()
        try:
            seconds = await work()
        finally:
            main.disable()
    loop_stats = pstats.Stats(main)
    worker_stats = pstats.Stats(*workers) if workers else pstats.Stats()
    found = {name: _cumulative(loop_stats, name) for name in headline}
    found |= {f"worker:{name}": _cumulative(worker_stats, name) for name in headline}
    return Profile(
        title=title,
        events=events,
        seconds=seconds,
        loop_thread=_stats_text(loop_stats, 18),
        worker_threads=_stats_text(worker_stats, 14) if workers else "",
        headline=found,
    )


async def profile_consumer(
    redis: aioredis.Redis, poller: aioredis.Redis, database: Database, workload: Workload
) -> Profile:
    engine = database.fresh_engine("profile-consume")
    group = f"profile-{database.name}"
    await asyncio.to_thread(seed_tables, engine, len(workload.bodies))

    async def work() -> float:
        run = await _drive_consumer(redis, poller, engine, workload, PROFILE_STREAM, group)
        return run.seconds

    try:
        return await _profile(
            f"GroupConsumer on {database.name} (seeded tables)",
            len(workload.bodies),
            work,
            ["parse_event", "handle", "_settle", "xreadgroup", "poll", "claim_fresh", "commit"],
        )
    finally:
        engine.dispose()
        await redis.xgroup_destroy(PROFILE_STREAM, group)


async def profile_relay(redis: aioredis.Redis, database: Database, workload: Workload) -> Profile:
    engine = database.fresh_engine("profile-relay")
    stream = f"bench.profile-relay.{database.name}"
    await asyncio.to_thread(_fill_outbox, engine, workload, stream)
    relay = OutboxRelay(engine, redis, Metrics("bench"), batch_size=PUBLISH_BATCH)

    async def work() -> float:
        started = time.perf_counter()
        while await relay.publish_pending():
            pass
        return time.perf_counter() - started

    try:
        return await _profile(
            f"OutboxRelay on {database.name}",
            len(workload.bodies),
            work,
            ["publish_pending", "execute", "poll", "_fetch_pending", "_mark_published"],
        )
    finally:
        engine.dispose()
        await redis.delete(stream)


def parse_cost_us(workload: Workload, limit: int = 20_000) -> float:
    bodies = workload.bodies[:limit]
    started = time.perf_counter()
    for body in bodies:
        parse_event(body)
    return 1e6 * (time.perf_counter() - started) / len(bodies)


# --------------------------------------------------------------------------- the run


@dataclass
class Options:
    events: int
    repeats: int
    databases: list[str]
    output: Path
    redis_url: str
    postgres_url: str
    sqlite_dir: Path | None
    profile: bool
    profile_events: int
    quick: bool


@dataclass
class Report:
    options: Options
    command: str
    machine: dict[str, str]
    body_bytes: tuple[int, int, int]
    measurements: list[Measurement]
    profiles: list[Profile]
    parse_us: float
    started: datetime
    seconds: float = 0.0
    load: list[str] = field(default_factory=list)

    def find(self, key: str, database: str | None = None) -> Measurement | None:
        for measurement in self.measurements:
            if measurement.key == key and measurement.database == database:
                return measurement
        return None

    @property
    def problems(self) -> list[str]:
        return [problem for m in self.measurements for problem in m.problems]


async def _repeat(
    measurement: Measurement, repeats: int, one: Callable[[int], Awaitable[Sample]]
) -> Measurement:
    for repeat in range(repeats):
        sample = await one(repeat)
        measurement.samples.append(sample)
        where = f" ({measurement.database})" if measurement.database else ""
        status = "ok" if not sample.problems else "; ".join(sample.problems)
        print(
            f"  {measurement.title}{where} #{repeat + 1}: {sample.events} in "
            f"{sample.seconds:.2f}s = {sample.rate:,.0f}/s [{status}]",
            flush=True,
        )
    return measurement


async def run(options: Options, command: str) -> Report:
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    redis = connect(options.redis_url)
    poller = connect(options.redis_url)
    databases: list[Database] = []
    try:
        await redis.flushdb()
        print(f"building {options.events:,} events", flush=True)
        workload = build_workload(options.events)
        sizes = [len(body) for body in workload.bodies]
        if "sqlite" in options.databases:
            databases.append(SqliteDatabase(options.sqlite_dir))
        if "postgresql" in options.databases:
            databases.append(PostgresDatabase(options.postgres_url))
        report = Report(
            options=options,
            command=command,
            machine=await machine(redis, databases),
            body_bytes=(min(sizes), int(statistics.median(sizes)), max(sizes)),
            measurements=[],
            profiles=[],
            parse_us=0.0,
            started=started_at,
        )
        measurements = report.measurements
        report.load.append(_loadavg())
        repeats = options.repeats
        measurements.append(
            await _repeat(
                Measurement("raw_publish", "raw XADD, pipelined 500", None),
                repeats,
                lambda r: raw_publish(redis, workload, r),
            )
        )
        await _xadd_all(redis, CONSUME_STREAM, workload.bodies)
        measurements.append(
            await _repeat(
                Measurement("raw_consume", "raw XREADGROUP 100 + XACK", None),
                repeats,
                lambda r: raw_consume(redis, workload, r),
            )
        )
        for database in databases:
            measurements.append(
                await _repeat(
                    Measurement("consumer", "GroupConsumer + inbox + upsert", database.name),
                    repeats,
                    lambda r, db=database: service_consume(redis, poller, db, workload, r),  # type: ignore[misc]
                )
            )
        small = build_workload(min(options.profile_events, options.events))
        await _xadd_all(redis, COLD_STREAM, small.bodies)
        for database in databases:
            measurements.append(
                await _repeat(
                    Measurement("consumer_cold", "GroupConsumer, cold start", database.name),
                    1,
                    lambda r, db=database: service_consume(  # type: ignore[misc]
                        redis, poller, db, small, r, stream=COLD_STREAM, seed=False
                    ),
                )
            )
        await redis.delete(COLD_STREAM)
        for database in databases:
            measurements.append(
                await _repeat(
                    Measurement("relay", "OutboxRelay.publish_pending, 500", database.name),
                    repeats,
                    lambda r, db=database: relay_publish(redis, db, workload, r),  # type: ignore[misc]
                )
            )
        report.parse_us = parse_cost_us(workload)
        if options.profile:
            await redis.delete(CONSUME_STREAM)
            await _xadd_all(redis, PROFILE_STREAM, small.bodies)
            for database in databases:
                print(f"  profiling consumer and relay on {database.name}", flush=True)
                report.profiles.append(await profile_consumer(redis, poller, database, small))
                report.profiles.append(await profile_relay(redis, database, small))
        report.seconds = time.perf_counter() - started
        report.load.append(_loadavg())
        return report
    finally:
        with contextlib.suppress(Exception):
            await redis.flushdb()
        for database in databases:
            database.close()
        await redis.aclose()
        await poller.aclose()


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


async def machine(redis: aioredis.Redis, databases: list[Database]) -> dict[str, str]:
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
    server: dict[str, Any] = await redis.info("server")
    memory: dict[str, Any] = await redis.info("memory")
    info = {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Redis server": f"{server.get('redis_version')} (127.0.0.1, TCP; "
        f"maxmemory-policy {memory.get('maxmemory_policy')})",
        "redis-py / hiredis": f"{version('redis')} / {version('hiredis')} "
        f"(hiredis parser in use: {HIREDIS_AVAILABLE})",
        "SQLAlchemy / psycopg / pydantic": (
            f"{version('sqlalchemy')} / {version('psycopg')} / {version('pydantic')}"
        ),
    }
    for database in databases:
        info[database.name] = database.server_version()
    return info


# --------------------------------------------------------------------------- markdown


def _rate(value: float) -> str:
    return f"{value / 1000:.1f}k"


def _ratio(report: Report, measurement: Measurement) -> tuple[str, float | None]:
    raw_key = {
        "consumer": "raw_consume",
        "consumer_cold": "raw_consume",
        "relay": "raw_publish",
    }.get(measurement.key)
    raw = report.find(raw_key) if raw_key else None
    if raw is None:
        return "", None
    ratio = measurement.median / raw.median
    return f"{ratio:.2f} of {_rate(raw.median)}", ratio


def render(report: Report) -> str:
    options = report.options
    lines = [
        "# Delivery benchmarks",
        "",
        "Generated by `bench/delivery.py`; do not edit by hand, re-run the command instead.",
        "",
        f"Run started {report.started:%Y-%m-%d %H:%M} UTC, took {report.seconds:.0f} s. "
        f"Load average (1/5/15 min) at the start: {report.load[0] if report.load else '?'}, "
        f"at the end: {report.load[-1] if report.load else '?'} on "
        f"{os.cpu_count()} cores. {machine_note(report.load[0] if report.load else '')}",
        "",
        "## Command",
        "",
        "```sh",
        report.command,
        "```",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in report.machine.items()),
        "",
        "## Workload",
        "",
        f"- {options.events:,} `sinergi.session.held` CloudEvents (structured JSON, "
        f"{report.body_bytes[0]}-{report.body_bytes[2]} bytes, median {report.body_bytes[1]}), "
        f"over {max(100, options.events // 4):,} sessions with rising sequences; the very same "
        "bodies in every path, one `__data__` field per stream entry.",
        f"- Each measurement repeated {options.repeats} time(s); the table shows the median "
        "and the min-max range. Ratio = service median / raw median from this same run.",
        "- Raw paths: plain redis-py (`redis.asyncio`, hiredis) with nothing else.",
        "- Consumer: the real `GroupConsumer` (`batch_size=100`) running `run(stop)`, until "
        "XINFO GROUPS shows the group read everything with pending 0 and lag 0. Its handler "
        "does, per batch and in one transaction: `claim_fresh`, a SELECT of the current "
        "sequences, `is_newer`, one executemany of `INSERT ... ON CONFLICT DO UPDATE ... "
        "WHERE sequence < excluded.sequence` into `session_view`, commit; then "
        "the consumer acks. The inbox and read model are seeded first with as many earlier "
        "rows as the run has events, and ANALYZEd, as on a service that has been running.",
        "- Cold start: the same consumer on empty, never-analyzed tables (a new deployment), "
        f"{min(options.profile_events, options.events):,} events, once.",
        "- Relay: the outbox is pre-filled with `add_to_outbox` (500 per transaction, not "
        "timed); then `OutboxRelay.publish_pending()` (`batch_size=500`) rounds are timed "
        "until one returns 0.",
        "",
        "## Results",
        "",
        "| path | database | events/s median | min - max | vs raw (goal >= 0.5) | checks |",
        "|---|---|---:|---:|---|---|",
    ]
    for measurement in report.measurements:
        ratio_text, ratio = _ratio(report, measurement)
        verdict = ""
        if ratio is not None:
            verdict = "meets goal" if ratio >= GOAL else "**below goal**"
        checks = "exactly once: ok" if not measurement.problems else "**FAILED**"
        rates = measurement.rates
        lines.append(
            f"| {measurement.title} | {measurement.database or '-'} | "
            f"{_rate(measurement.median)} | {_rate(min(rates))} - {_rate(max(rates))} | "
            f"{ratio_text} {verdict} | {checks} |"
        )
    lines += ["", *_details(report), *_reading(report), *_profiles(report)]
    if report.problems:
        lines += ["", "## Failed checks", "", *(f"- {problem}" for problem in report.problems)]
    return "\n".join(lines).rstrip() + "\n"


def _details(report: Report) -> list[str]:
    lines = [
        "## Where a batch's time goes",
        "",
        "Consumer, per batch of 100 (medians over the repeats; handler phases timed inside "
        "the handler, in its worker thread):",
        "",
        "| database | batch ms | handler ms (share) | claim_fresh ms | select+upsert ms | "
        "commit ms | single-entry retries |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in report.measurements:
        if m.key != "consumer":
            continue
        lines.append(
            f"| {m.database} | {m.note('batch_ms') or 0:.2f} | {m.note('handler_ms') or 0:.2f} "
            f"({100 * (m.note('handler_share') or 0):.0f}%) | {m.note('claim_ms') or 0:.2f} | "
            f"{m.note('upsert_ms') or 0:.2f} | {m.note('commit_ms') or 0:.2f} | "
            f"{m.note('single_calls') or 0:.0f} |"
        )
    lines += [
        "",
        "Relay, per round of 500 (medians over the repeats):",
        "",
        "| database | outbox fill s (untimed) | round ms median | first 10% of rounds ms | "
        "last 10% of rounds ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for m in report.measurements:
        if m.key != "relay":
            continue
        lines.append(
            f"| {m.database} | {m.note('fill_s') or 0:.1f} | {m.note('round_ms') or 0:.2f} | "
            f"{m.note('first_rounds_ms') or 0:.2f} | {m.note('last_rounds_ms') or 0:.2f} |"
        )
    scanned = [m for m in report.measurements if m.note("inbox_seq_scan") is not None]
    if scanned:
        lines += [
            "",
            "PostgreSQL's own count of how the consumer's tables were read "
            "(`pg_stat_user_tables`, median per run; seeding and the checks add a few scans):",
            "",
            "| run | batches | inbox seq scans | inbox rows read by seq scans | inbox index scans "
            "| session_view seq scans | session_view rows read by seq scans | handler ms/batch, "
            "first -> last tenth |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for m in scanned:
            batches = m.samples[0].events / READ_BATCH
            counts = " | ".join(
                f"{m.note(name) or 0:,.0f}"
                for name in (
                    "inbox_seq_scan",
                    "inbox_seq_tup_read",
                    "inbox_idx_scan",
                    "session_view_seq_scan",
                    "session_view_seq_tup_read",
                )
            )
            lines.append(
                f"| {m.title} ({m.database}) | {batches:,.0f} | {counts} | "
                f"{m.note('first_handler_ms') or 0:.1f} -> {m.note('last_handler_ms') or 0:.1f} |"
            )
    raw_consume = report.find("raw_consume")
    lines += [
        "",
        f"`parse_event` alone (envelope + payload validation, no I/O): "
        f"{report.parse_us:.1f} us per event, i.e. {100 * report.parse_us / 1000:.2f} ms per "
        f"batch of 100; on its own it caps one consumer at {1e6 / report.parse_us / 1000:.0f}k "
        "events/s"
        + (
            f" ({1e6 / report.parse_us / raw_consume.median:.2f} x the raw consume rate)."
            if raw_consume
            else "."
        ),
        "",
    ]
    return lines


def _reading(report: Report) -> list[str]:
    lines = ["## Reading", ""]
    raw_consume, raw_publish = report.find("raw_consume"), report.find("raw_publish")
    for m in report.measurements:
        _, ratio = _ratio(report, m)
        if ratio is None:
            continue
        state = "meets" if ratio >= GOAL else "is BELOW"
        if m.key == "consumer" and raw_consume:
            batch, handler = m.note("batch_ms") or 0.0, m.note("handler_ms") or 0.0
            raw_batch = 1000 * READ_BATCH / raw_consume.median
            parse = report.parse_us * READ_BATCH / 1000
            other = max(batch - handler - parse - raw_batch, 0.0)
            lines.append(
                f"- Consumer on {m.database}: {_rate(m.median)}/s, {ratio:.2f} of raw, {state} "
                f"the 0.5 goal. A batch of 100 takes {batch:.1f} ms against {raw_batch:.1f} ms "
                f"raw: the handler's transaction {handler:.1f} ms "
                f"({100 * handler / batch:.0f}%), event validation ~{parse:.1f} ms, "
                f"the raw read+ack ~{raw_batch:.1f} ms, and ~{other:.1f} ms of the consumer's own "
                "bookkeeping (Delivery objects, metrics, thread hand-off, the XACK). "
                "Batches run strictly one after another (read, validate, apply, ack), so these "
                "add up instead of overlapping."
            )
        elif m.key == "consumer_cold":
            first, last = m.note("first_handler_ms") or 0.0, m.note("last_handler_ms") or 0.0
            seq = m.note("inbox_seq_scan")
            growth = (
                f" The handler's time per batch grows from {first:.1f} ms to {last:.1f} ms as "
                "the tables fill"
                if last > 2 * first
                else f" Handler time per batch stays at {first:.1f} -> {last:.1f} ms"
            )
            evidence = (
                f"; PostgreSQL counted {seq:,.0f} sequential scans of `inbox` and "
                f"{m.note('inbox_idx_scan') or 0:,.0f} index scans: the `claim_fresh` SELECT "
                "(and the read model's) runs a plan cached while the table was empty."
                if seq is not None and seq > (m.note("inbox_idx_scan") or 0)
                else "."
            )
            lines.append(
                f"- Cold start on {m.database}: {_rate(m.median)}/s, {ratio:.2f} of raw, {state} "
                f"the 0.5 goal.{growth}{evidence}"
            )
        elif m.key == "relay" and raw_publish:
            round_ms = m.note("round_ms") or 0.0
            raw_round = 1000 * PUBLISH_BATCH / raw_publish.median
            first, last = m.note("first_rounds_ms") or 0.0, m.note("last_rounds_ms") or 0.0
            trend = (
                f"; rounds slow down through the run ({first:.1f} ms first tenth, "
                f"{last:.1f} ms last tenth)"
                if first and last > 1.5 * first
                else f"; round time is flat through the run ({first:.1f} -> {last:.1f} ms)"
            )
            lines.append(
                f"- Relay on {m.database}: {_rate(m.median)}/s, {ratio:.2f} of raw, {state} the "
                f"0.5 goal. A round of 500 takes {round_ms:.1f} ms against {raw_round:.1f} ms for "
                f"the pipelined XADDs alone: the rest is reading the pending rows and marking "
                f"them published (the mark and the next read share a transaction), "
                f"{'on the event loop' if m.database == 'sqlite' else 'in a worker thread'} "
                f"(decision 0019){trend}."
            )
    lines.append("")
    return lines


def _profiles(report: Report) -> list[str]:
    if not report.profiles:
        return []
    lines = [
        "## Profiles",
        "",
        "One extra, untimed run of each service path under cProfile (the event-loop thread and, "
        "separately, the worker threads that `asyncio.to_thread` uses). cProfile slows Python "
        "code down, so read shares, not absolute times. `poll` on the loop thread is the loop "
        "waiting: on Redis replies or on the handler thread.",
        "",
    ]
    for profile in report.profiles:
        head = ", ".join(
            f"`{name}` {seconds:.2f}s" for name, seconds in profile.headline.items() if seconds
        )
        lines += [
            f"### {profile.title}: {profile.events:,} events in {profile.seconds:.2f} s (profiled)",
            "",
            f"Cumulative: {head}",
            "",
            "Loop thread, top by own time:",
            "",
            "```",
            profile.loop_thread,
            "```",
            "",
        ]
        if profile.worker_threads:
            lines += ["Worker threads, top by own time:", "", "```", profile.worker_threads, "```"]
            lines.append("")
    return lines


# --------------------------------------------------------------------------- entry point


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__)
    parser.add_argument("--events", type=int, default=None, help="events per run (100000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per measurement (3)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a database to connect to; a scratch database is created beside it and dropped",
    )
    parser.add_argument("--sqlite-dir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument(
        "--quick", action="store_true", help="smoke check: 5000 events, 1 repeat, no profile"
    )
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--profile-events", type=int, default=20_000)
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    events = args.events or (5_000 if quick else 100_000)
    if events < READ_BATCH:
        parser.error(f"--events must be at least {READ_BATCH}")
    return Options(
        events=events,
        repeats=args.repeats or (1 if quick else 3),
        databases=["sqlite", "postgresql"] if args.database == "both" else [args.database],
        output=args.output,
        redis_url=args.redis_url,
        postgres_url=args.postgres_url,
        sqlite_dir=args.sqlite_dir,
        profile=(not quick) if args.profile is None else bool(args.profile),
        profile_events=args.profile_events,
        quick=quick,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = parse_options(argv)
    command = shlex.join([".venv/bin/python", "-m", "bench.delivery", *argv])
    report = asyncio.run(run(options, command))
    markdown = render(report)
    write_section(options.output, "delivery", markdown)
    print(f"wrote {options.output}")
    if report.problems:
        print("exactly-once checks FAILED:", *report.problems, sep="\n  ", file=sys.stderr)
        return 1
    print("all exactly-once checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
