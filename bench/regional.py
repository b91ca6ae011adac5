"""Regional office load: the Barabai case scaled to 20 facilities, run against every service.

    .venv/bin/python -m bench.regional [--facilities 20] [--people 20000] [--months 12]
        [--rates 5,10,20,40,80] [--stage-seconds 30] [--database postgresql|sqlite]
        [--backlog 2000] [--output docs/benchmarks.md] [--json result.json] [--workdir DIR]

The case is generated deterministically from scenarios/barabai: every facility has the
Barabai partners (codes suffixed with the facility's number) and its 8 agreements with their
action plans, loaded over the agreements API as staff would; `--people` people in custody
are split over the facilities and imported through the identity API as one roster CSV file
per facility; then a year (`--months`) of programme sessions per the action plans' targets,
with participants drawn from each facility's roster, and monthly sales, are recorded through
the programs API in the order they happened.

Agreements, identity and programs run as processes (ProcessTopology) on PostgreSQL databases
of the run's own (`regional_<service>_<hex>`, dropped afterwards) or SQLite files, with one
redis-server of the run's own. The sessions and sales are sent in stages of rising offered
rate (`--rates`, `--stage-seconds` each); what is left after the last stage is sent at the
highest rate that was sustained. Measured: throughput and p50/p99 latency per command type,
propagation (session held -> the agreements service's realisation_updated on its stream;
identity admission event -> the programs read model has the person), consumer lag over time
(XINFO GROUPS), RSS (VmRSS/VmHWM) and CPU seconds per process (and per service's PostgreSQL
backends). Last, the programs process is paused (SIGSTOP) while `--backlog` more people are
imported, then resumed: its drain rate of that backlog is compared, in the same Redis, with
the raw redis-py path (XADD, then XREADGROUP + XACK) of as many entries of the same size.

The exit status is 0 only if every check passed (every command accepted, every person known
to programs, every realisation arrived, the realisation report equals the plan's total per
item, every consumer group drained).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import random
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal, cast

import httpx
import psycopg
import redis.asyncio as aioredis
from sqlalchemy import Engine, bindparam, text

from bench.programs import RawHttpClient, RealisationWatcher, percentile
from bench.sections import machine_note, was_shared, write_section
from services.cli.roster import DEFAULT_MIX, build_roster, write_csv
from services.cli.scenario import Agreement, Scenario, load_scenario
from services.cli.supervisor import ProcessTopology
from services.cli.topology import Secrets, Topology, TopologyConfig
from shared.messaging import ENTRY_FIELD, stream_of
from shared.persistence.engine import make_engine
from tests.infra import DEFAULT_POSTGRES_URL, RedisProcess

SECTION = "regional"
SERVICES = ("agreements", "identity", "programs")
TODAY = date(2024, 3, 12)  # the last day of the action plans' year: every agreement in force
YEAR_START = date(2023, 3, 13)
ADMITTED = "sinergi.inmate.admitted"
KINDS_FILE = Path(__file__).resolve().parents[1] / "services" / "programs" / "kinds.json"
SUSTAINED_SHARE = 0.95  # achieved / offered at or above which a stage counts as sustained
SUSTAINED_P99_MS = 1000.0  # and its propagation p99 below this
SAMPLE_EVERY_S = 0.25
POLL_EVERY_S = 0.05
DRAIN_TIMEOUT_S = 300.0
RAW_BATCH = 100
RAW_PIPELINE = 500
SETUP_CONCURRENCY = 4

Database = Literal["postgresql", "sqlite"]


# --------------------------------------------------------------------------- the case


@dataclass(frozen=True)
class Options:
    facilities: int = 20
    people: int = 20_000
    months: int = 12
    rates: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0, 80.0)
    stage_seconds: float = 30.0
    database: Database = "postgresql"
    concurrency: int = 16
    output: Path | None = None
    json_path: Path | None = None
    workdir: Path | None = None  # the services' logs and files; None: a temporary one
    backlog: int = 2000

    def command(self) -> str:
        rates = ",".join(f"{r:g}" for r in self.rates)
        parts = [
            ".venv/bin/python -m bench.regional",
            f"--facilities {self.facilities} --people {self.people} --months {self.months}",
            f"--rates {rates} --stage-seconds {self.stage_seconds:g}",
            f"--database {self.database} --backlog {self.backlog}",
        ]
        if self.output is not None:
            parts.append(f"--output {shlex.quote(str(self.output))}")
        return " ".join(parts)


@dataclass(frozen=True)
class Facility:
    number: int

    @property
    def code(self) -> str:
        return f"rutan-barabai-{self.number:02d}"

    def partner(self, code: str) -> str:
        return f"{code}-{self.number:02d}"

    def numbered(self, number: str) -> str:
        return f"{number}/F{self.number:02d}"


@dataclass
class Command:
    """One POST of the paced phase (a held session or a sale), in the order it happened."""

    kind: Literal["session", "sale"]
    day: date
    facility: int
    body: dict[str, Any]
    item: tuple[int, str, str] | None = None  # (facility, agreement key, item key)
    counted: int = 0


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))


def quantity_rules() -> dict[str, str]:
    kinds = cast(list[dict[str, Any]], json.loads(KINDS_FILE.read_text()))
    return {str(k["code"]): str(k["quantity_rule"]) for k in kinds}


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def plan_commands(
    scenario: Scenario,
    facility: Facility,
    agreement_ids: dict[str, str],
    item_ids: dict[tuple[str, str], str],
    people: Sequence[tuple[str, date]],
    months: int,
) -> list[Command]:
    """A year of sessions per the action plans' targets, and a sale a month (deterministic).

    Items counted in sessions get as many sessions as their target (15 participants each);
    items counted in participants get sessions of 10 until the target is reached; reported
    items get 12 sessions of 5 participants sharing the target. Sessions are spread evenly
    over the item's period; only those within the first `months` months are kept.
    """
    rules = quantity_rules()
    horizon = min(add_months(YEAR_START, months) - timedelta(days=1), TODAY)
    commands: list[Command] = []
    for agreement in scenario.agreements:
        for item in agreement.action_plan:
            rule = item.counts or rules[item.programme_kind]
            start = max(item.period_start, agreement.start_date)
            end = min(item.period_end, agreement.end_date, TODAY)
            reported: list[int | None]
            if rule == "sessions":
                sizes, reported = [15] * item.target_quantity, [None] * item.target_quantity
            elif rule == "participants":
                count = math.ceil(item.target_quantity / 10)
                sizes, reported = _split(item.target_quantity, count), [None] * count
            else:
                sizes, reported = [5] * 12, list(_split(item.target_quantity, 12))
            span = (end - start).days
            for index, (size, quantity) in enumerate(zip(sizes, reported, strict=True)):
                held_on = start + timedelta(days=int((index + 0.5) * span / len(sizes)))
                if held_on > horizon:
                    continue
                rng = random.Random(f"{facility.code}/{agreement.key}/{item.key}/{index}")
                eligible = [pid for pid, admitted in people if admitted <= held_on]
                attendance = rng.sample(eligible, min(size, len(eligible)))
                body: dict[str, Any] = {
                    "agreement_id": agreement_ids[agreement.key],
                    "programme_kind": item.programme_kind,
                    "action_plan_item_id": item_ids[(agreement.key, item.key)],
                    "held_on": held_on.isoformat(),
                    "attendance": attendance,
                }
                if quantity is not None:
                    body["delivered_quantity"] = quantity
                counted = 1 if rule == "sessions" else len(attendance)
                commands.append(Command("session", held_on, facility.number, body,
                                        (facility.number, agreement.key, item.key),
                                        quantity if quantity is not None else counted))  # fmt: skip
    trade = next(a for a in scenario.agreements if "product_sales" in a.programme_kinds)
    for month in range(months):
        sold_on = add_months(date(YEAR_START.year, YEAR_START.month, 28), month)
        if sold_on > horizon:
            break
        model = scenario.sales[month % len(scenario.sales)]
        body = {
            "agreement_id": agreement_ids[trade.key],
            "sold_on": sold_on.isoformat(),
            "buyer_type": model.buyer_type,
            "lines": [line.model_dump() for line in model.lines],
        }
        commands.append(Command("sale", sold_on, facility.number, body))
    return commands


def roster_files(options: Options, directory: Path) -> list[tuple[Path, list[date]]]:
    """One roster CSV per facility (the Barabai roster generator, `--people` in all)."""
    scale = options.people / sum(DEFAULT_MIX.values())
    mix = {outcome: round(count * scale) for outcome, count in DEFAULT_MIX.items()}
    mix["matched"] += options.people - sum(mix.values())
    entries = build_roster(mix, population_size=max(2 * options.people, 1000))
    files = []
    for facility, size in enumerate(_split(len(entries), options.facilities), start=1):
        start = sum(_split(len(entries), options.facilities)[: facility - 1])
        part = entries[start : start + size]
        path = write_csv(part, directory / f"roster-{facility:02d}.csv")
        files.append((path, [entry.admission_date for entry in part]))
    return files


# --------------------------------------------------------------------------- measurements


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in KiB (empty when the process is gone)."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


@dataclass
class GroupSample:
    at: float
    stream: str
    group: str
    lag: int  # entries added to the stream and not yet delivered to the group
    pending: int  # delivered, not yet acked
    done: int  # delivered and acked


@dataclass
class Sampler:
    """Consumer groups (XINFO) and process memory, every SAMPLE_EVERY_S, in the background."""

    redis: aioredis.Redis
    pids: dict[str, int]
    groups: list[GroupSample] = field(default_factory=list)
    rss_kib: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    peak_kib: dict[str, int] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        streams = [stream_of(name) for name in SERVICES]
        while not self.stop.is_set():
            now = time.time()
            for stream in streams:
                with contextlib.suppress(aioredis.ResponseError):
                    info = await self.redis.xinfo_stream(stream)
                    added = int(info.get("entries-added", info.get("length", 0)))
                    for g in await self.redis.xinfo_groups(stream):
                        read = g.get("entries-read")
                        pending = int(g["pending"])
                        lag = g.get("lag")
                        lag_n = int(lag) if lag is not None else added - int(read or 0)
                        done = added - lag_n - pending
                        name = g["name"]
                        group = name.decode() if isinstance(name, bytes) else str(name)
                        self.groups.append(GroupSample(now, stream, group, lag_n, pending, done))
            self.sample_memory(now)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), SAMPLE_EVERY_S)

    def sample_memory(self, now: float) -> None:
        for name, pid in self.pids.items():
            status = proc_status(pid)
            if "VmRSS" in status:
                self.rss_kib[name].append((now, status["VmRSS"]))
                self.peak_kib[name] = max(self.peak_kib.get(name, 0), status["VmHWM"])


@dataclass
class AdmissionWatcher:
    """The `time` of every InmateAdmitted on the identity stream, by person id."""

    redis: aioredis.Redis
    last_id: str = "0"
    times: dict[str, float] = field(default_factory=dict)
    errors: int = 0
    unreadable: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        stream = stream_of("identity")
        while not self.stop.is_set():
            try:
                reply = cast(
                    list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
                    await self.redis.xread({stream: self.last_id}, count=1000, block=200),
                )
            except aioredis.RedisError:
                self.errors += 1
                await asyncio.sleep(0.1)
                continue
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self.last_id = entry_id.decode()
                    self._stamp(fields.get(ENTRY_FIELD.encode()))

    def _stamp(self, body: bytes | None) -> None:
        if body is None:
            return
        try:
            event = json.loads(body)
            if event.get("type") == ADMITTED:
                at = datetime.fromisoformat(event["time"]).timestamp()
                self.times[str(event["data"]["inmate"]["person_id"])] = at
        except (ValueError, KeyError, TypeError, AttributeError):
            self.unreadable += 1


def known_to_programs(engine: Engine, person_ids: list[str]) -> set[str]:
    query = text("SELECT person_id FROM inmate_view WHERE person_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    seen: set[str] = set()
    with engine.connect() as connection:
        for start in range(0, len(person_ids), 500):
            chunk = person_ids[start : start + 500]
            seen.update(str(r[0]) for r in connection.execute(query, {"ids": chunk}))
    return seen


def ready_in_programs(engine: Engine, agreements: int, items: int) -> bool:
    with engine.connect() as connection:
        active = connection.execute(
            text("SELECT count(*) FROM agreement_view WHERE status IN ('active', 'expiring')")
        ).scalar_one()
        known_items = connection.execute(
            text("SELECT count(*) FROM action_plan_item_view")
        ).scalar_one()
    return int(active) >= agreements and int(known_items) >= items


class KeepAliveClient(RawHttpClient):
    """RawHttpClient that opens a new connection when a kept-alive one was closed by the server.

    Uvicorn closes a connection idle for 5 s; a POST written to it reads an empty status
    line. Only that case (nothing read back at all) is retried, once, on a new connection.
    """

    retries = 0

    async def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        try:
            return await super().post(path, body, headers)
        except (IndexError, ConnectionResetError, BrokenPipeError):
            await self.aclose()  # the other idle connections are as old
            self.retries += 1
            return await super().post(path, body, headers)


# --------------------------------------------------------------------------- results


@dataclass
class TypeStats:
    count: int = 0
    failures: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {
            "count": self.count,
            "failures": self.failures,
            "seconds": round(self.seconds, 2),
            "per_s": round(self.count / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": round(percentile(lat, 50), 1) if lat else None,
            "p99_ms": round(percentile(lat, 99), 1) if lat else None,
            "max_ms": round(max(lat), 1) if lat else None,
        }


@dataclass
class Stage:
    offered: float
    sent: int = 0
    ok: int = 0
    seconds: float = 0.0
    http_ms: list[float] = field(default_factory=list)
    propagation_ms: list[float] = field(default_factory=list)
    late_starts: int = 0
    started: float = 0.0
    ended: float = 0.0
    collected: float = 0.0  # when the last realisation of the stage arrived (or gave up)
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def achieved(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def sustained(self) -> bool:
        prop = self.propagation_ms
        return (
            self.sent > 0
            and self.ok == self.sent
            and self.achieved >= SUSTAINED_SHARE * self.offered
            and (not prop or percentile(prop, 99) < SUSTAINED_P99_MS)
        )


@dataclass
class Result:
    options: Options
    started_at: str = ""
    wall_s: float = 0.0
    load: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    types: dict[str, TypeStats] = field(default_factory=lambda: defaultdict(TypeStats))
    stages: list[Stage] = field(default_factory=list)
    admission_ms: list[float] = field(default_factory=list)
    realisation_ms: list[float] = field(default_factory=list)
    phases: dict[str, tuple[float, float]] = field(default_factory=dict)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> process -> s
    rss_end_kib: dict[str, int] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)
    backlog: dict[str, float] = field(default_factory=dict)
    consumers: dict[str, dict[str, float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    entry_bytes: int = 0
    lag_timeline: list[tuple[int, int]] = field(default_factory=list)
    group_samples: list[GroupSample] = field(default_factory=list)
    rss_peak_kib: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- the run


@contextlib.contextmanager
def databases(kind: Database, workdir: Path) -> Iterator[dict[str, str]]:
    if kind == "sqlite":
        yield {name: f"sqlite:///{workdir / f'{name}.db'}" for name in SERVICES}
        return
    admin_url = os.environ.get("SINERGI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    base = admin_url.rsplit("/", 1)[0]
    suffix = uuid.uuid4().hex[:8]
    names = {name: f"regional_{name}_{suffix}" for name in SERVICES}
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for db in names.values():
            admin.execute(f'CREATE DATABASE "{db}"')
    try:
        yield {name: f"{base}/{db}" for name, db in names.items()}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            for db in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


class Timed:
    """An httpx client whose calls are timed per command type into the result."""

    def __init__(self, client: httpx.AsyncClient, result: Result) -> None:
        self.client, self.result = client, result

    async def post(self, kind: str, url: str, expect: int = 201, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = await self.client.post(url, **kwargs)
        stats = self.result.types[kind]
        stats.latencies_ms.append(1000 * (time.perf_counter() - started))
        stats.count += 1
        if response.status_code != expect:
            stats.failures += 1
            raise RuntimeError(f"{kind}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None


async def load_agreements(
    http: Timed, base: str, scenario: Scenario, facility: Facility
) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    partners: dict[str, str] = {}
    for partner in scenario.partners:
        created = await http.post("register partner", f"{base}/partners", json={
            "code": facility.partner(partner.code), "name": partner.name,
            "kind": partner.kind, "facility": facility.code,
        })  # fmt: skip
        partners[partner.code] = str(created["id"])
    agreements: dict[str, str] = {}
    items: dict[tuple[str, str], str] = {}
    for agreement in scenario.agreements:
        agreements[agreement.key] = await _agreement(http, base, facility, agreement, partners,
                                                     items)  # fmt: skip
    return agreements, items


async def _agreement(
    http: Timed, base: str, facility: Facility, agreement: Agreement,
    partners: dict[str, str], items: dict[tuple[str, str], str],
) -> str:  # fmt: skip
    created = await http.post("draft agreement", f"{base}/agreements", json={
        "partner_id": partners[agreement.partner], "facility": facility.code,
        "facility_number": facility.numbered(agreement.facility_number),
        "partner_number": facility.numbered(agreement.partner_number),
        "title": agreement.title, "programme_kinds": list(agreement.programme_kinds),
        "start_date": agreement.start_date.isoformat(),
        "end_date": agreement.end_date.isoformat(),
    })  # fmt: skip
    agreement_id = str(created["id"])
    for item in agreement.action_plan:
        body: dict[str, Any] = {
            "programme_kind": item.programme_kind, "description": item.description,
            "target_quantity": item.target_quantity, "unit": item.unit,
            "period_start": item.period_start.isoformat(),
            "period_end": item.period_end.isoformat(), "responsible": item.responsible,
        }  # fmt: skip
        if item.counts is not None:
            body["counts"] = item.counts
        added = await http.post(
            "add action-plan item", f"{base}/agreements/{agreement_id}/action-plan/items",
            json=body,
        )  # fmt: skip
        items[(agreement.key, item.key)] = str(added["id"])
    await http.post("sign agreement", f"{base}/agreements/{agreement_id}/sign", expect=204, json={
        "signed_on": agreement.signed_on.isoformat(),
        "signatories": [{"party": s.party, "name": s.display_name, "position": s.position}
                        for s in agreement.signatories],
    })  # fmt: skip
    return agreement_id


CpuSnapshot = dict[str, dict[int, float]]  # process (or group of them) -> pid -> CPU s


class CpuMeter:
    """CPU seconds of the services, Redis, the driver and each service's PostgreSQL backends."""

    def __init__(self, pids: dict[str, int], databases: dict[str, str]) -> None:
        self.pids = pids
        self.databases = databases  # database name -> service (PostgreSQL only)

    def snapshot(self) -> CpuSnapshot:
        snap: CpuSnapshot = {name: {pid: cpu_seconds(pid)} for name, pid in self.pids.items()}
        snap["load driver"] = {0: time.process_time()}
        if self.databases:
            url = os.environ.get("SINERGI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
            with psycopg.connect(url) as connection:
                rows = connection.execute(
                    "SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY(%s)",
                    (list(self.databases),),
                ).fetchall()
            for pid, datname in rows:
                name = f"postgres ({self.databases[str(datname)]})"
                snap.setdefault(name, {})[int(pid)] = cpu_seconds(int(pid))
        return snap

    @staticmethod
    def delta(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
        return {
            name: round(sum(v - before.get(name, {}).get(pid, 0.0) for pid, v in procs.items()), 2)
            for name, procs in after.items()
        }

    @staticmethod
    def total(snap: CpuSnapshot) -> dict[str, float]:
        return {name: round(sum(procs.values()), 2) for name, procs in snap.items()}


class Phases:
    def __init__(self, result: Result, meter: CpuMeter) -> None:
        self.result, self.meter = result, meter

    @contextlib.asynccontextmanager
    async def phase(self, name: str) -> AsyncIterator[None]:
        before, started = self.meter.snapshot(), time.time()
        try:
            yield
        finally:
            self.result.phases[name] = (started, time.time())
            self.result.cpu[name] = self.meter.delta(before, self.meter.snapshot())


async def run(options: Options) -> Result:
    result = Result(options, started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    result.load["start"] = loadavg()
    began = time.perf_counter()
    scenario = load_scenario()
    own_workdir = options.workdir is None
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="sinergi-regional-"))
    workdir.mkdir(parents=True, exist_ok=True)
    redis_server = RedisProcess().start()
    try:
        with databases(options.database, workdir) as urls:
            config = TopologyConfig(
                state_dir=workdir, redis_url=redis_server.url, secrets=Secrets.generate(),
                environment="test", database_urls=urls, services=SERVICES,
                extra_env={"SINERGI_TODAY": TODAY.isoformat()}, consumer_prefix="regional",
            )  # fmt: skip
            with ProcessTopology(Topology(config), ready_timeout_s=120) as topology:
                pids = dict(topology.pids())
                assert redis_server.process is not None
                pids["redis-server"] = redis_server.process.pid
                await _drive_case(options, result, scenario, topology, pids, urls)
                for name, pid in pids.items():
                    result.rss_end_kib[name] = proc_status(pid).get("VmRSS", 0)
    finally:
        redis_server.close()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    result.load["end"] = loadavg()
    result.wall_s = time.perf_counter() - began
    return result


async def _drive_case(
    options: Options, result: Result, scenario: Scenario, topology: ProcessTopology,
    pids: dict[str, int], urls: dict[str, str],
) -> None:  # fmt: skip
    t = topology.topology
    staff = {"X-API-Key": t.secrets.staff_key}
    redis = aioredis.Redis.from_url(t.config.redis_url)
    programs_db = make_engine(urls["programs"])
    sampler = Sampler(redis, pids)
    admissions = AdmissionWatcher(aioredis.Redis.from_url(t.config.redis_url))
    tasks = [asyncio.create_task(sampler.run()), asyncio.create_task(admissions.run())]
    names = {url.rsplit("/", 1)[1]: name for name, url in urls.items()}
    meter = CpuMeter(pids, names if options.database == "postgresql" else {})
    phases = Phases(result, meter)
    facilities = [Facility(n) for n in range(1, options.facilities + 1)]
    try:
        async with httpx.AsyncClient(headers=staff, timeout=600) as client:
            http = Timed(client, result)
            # 1. agreements, SETUP_CONCURRENCY facilities at a time
            async with phases.phase("agreements"):
                gate = asyncio.Semaphore(SETUP_CONCURRENCY)

                async def one(f: Facility) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
                    async with gate:
                        return await load_agreements(http, t.url("agreements"), scenario, f)

                loaded = await asyncio.gather(*(one(f) for f in facilities))
            _close_type_seconds(result, phases, "agreements")
            # 2. rosters, one file per facility, one after another
            people: dict[int, list[tuple[str, date]]] = {}
            imported: set[str] = set()
            all_imported = asyncio.Event()
            rosters_dir = tempfile.TemporaryDirectory(prefix="sinergi-rosters-")
            async with phases.phase("rosters"):
                files = roster_files(options, Path(rosters_dir.name))
                seen_task = asyncio.create_task(
                    _watch_people(programs_db, imported, all_imported, admissions, result)
                )
                for facility, (path, admitted) in zip(facilities, files, strict=True):
                    report = await http.post(
                        "import roster file", f"{t.url('identity')}/roster/imports",
                        params={"facility": facility.code},
                        files={"file": (path.name, path.read_bytes(), "text/csv")},
                    )  # fmt: skip
                    rows = {int(r["row"]): r for r in report["rows"]}
                    people[facility.number] = []
                    for number, admission in enumerate(admitted, start=2):
                        person = rows.get(number, {}).get("person_id")
                        if person:
                            people[facility.number].append((str(person), admission))
                            imported.add(str(person))
                    refused = len(admitted) - len(people[facility.number])
                    if refused:
                        result.problems.append(f"{facility.code}: {refused} roster rows refused")
                all_imported.set()
                rosters_dir.cleanup()  # the files hold NIKs
                await seen_task
            result.types["import roster file"].seconds = _span(result, "rosters")
            if len(result.admission_ms) < len(imported):
                result.problems.append(
                    f"{len(imported) - len(result.admission_ms)} admissions not timed (events "
                    f"unreadable: {admissions.unreadable}, read errors: {admissions.errors})"
                )
            result.counts["people admitted"] = sum(len(p) for p in people.values())
            # 3. programs must know every agreement before sessions are recorded
            agreements_n = 8 * len(facilities)
            items_n = sum(len(a.action_plan) for a in scenario.agreements) * len(facilities)
            deadline = time.monotonic() + DRAIN_TIMEOUT_S
            while not await asyncio.to_thread(ready_in_programs, programs_db, agreements_n,
                                              items_n):  # fmt: skip
                if time.monotonic() > deadline:
                    raise RuntimeError("programs never learnt every agreement")
                await asyncio.sleep(0.2)
            commands: list[Command] = []
            for facility, (agreement_ids, item_ids) in zip(facilities, loaded, strict=True):
                commands += plan_commands(scenario, facility, agreement_ids, item_ids,
                                          people[facility.number], options.months)  # fmt: skip
            commands.sort(key=lambda c: (c.day, c.facility, c.kind))
            result.counts["agreements"] = agreements_n
            result.counts["action-plan items"] = items_n
            result.counts["sessions"] = sum(c.kind == "session" for c in commands)
            result.counts["sales"] = sum(c.kind == "sale" for c in commands)
            result.counts["attendance rows"] = sum(
                len(c.body.get("attendance", [])) for c in commands
            )
            # 4. the year's sessions and sales, in stages of rising rate
            async with phases.phase("sessions and sales"):
                await _paced(options, result, commands, t.url("programs"), staff, redis, meter)
            await _check_realisation(client, t.url("agreements"), scenario, facilities, commands,
                                     result)  # fmt: skip
        await _check_drained(sampler, result)
        async with phases.phase("backlog"):
            await _backlog(options, result, t.url("identity"), staff, redis, pids["programs"])
        await _raw_comparison(redis, result)
    finally:
        sampler.stop.set()
        admissions.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        _consumer_rates(sampler, result)
        result.cpu["whole run"] = meter.total(meter.snapshot())
        await redis.aclose()
        await admissions.redis.aclose()
        programs_db.dispose()
        _store_samples(sampler, result)


def _span(result: Result, phase: str) -> float:
    start, end = result.phases[phase]
    return end - start


def _close_type_seconds(result: Result, phases: Phases, phase: str) -> None:
    for name in ("register partner", "draft agreement", "add action-plan item", "sign agreement"):
        result.types[name].seconds = _span(result, phase)


async def _watch_people(
    engine: Engine, imported: set[str], all_imported: asyncio.Event,
    admissions: AdmissionWatcher, result: Result,
) -> None:  # fmt: skip
    """Stamps when programs first has each person whose admission event was published.

    Polled every POLL_EVERY_S (so a stamp is up to that late); ends once every person the
    imports reported is known, or DRAIN_TIMEOUT_S after the last import without progress.
    """
    seen: set[str] = set()
    progress = time.monotonic()
    while not (all_imported.is_set() and imported <= seen):
        pending = [p for p in admissions.times.keys() | imported if p not in seen]
        if pending:
            found = await asyncio.to_thread(known_to_programs, engine, pending)
            now = time.time()
            for person in found:
                seen.add(person)
                at = admissions.times.get(person)
                if at is not None:
                    result.admission_ms.append(1000 * (now - at))
            if found or not all_imported.is_set():
                progress = time.monotonic()
        elif not all_imported.is_set():
            progress = time.monotonic()
        if time.monotonic() - progress > DRAIN_TIMEOUT_S:
            result.problems.append(f"{len(imported - seen)} people never reached programs")
            return
        await asyncio.sleep(POLL_EVERY_S)


async def _paced(
    options: Options, result: Result, commands: list[Command], base: str,
    headers: dict[str, str], redis: aioredis.Redis, meter: CpuMeter,
) -> None:  # fmt: skip
    info = await redis.xinfo_stream(stream_of("agreements"))
    last = info["last-generated-id"]
    watcher = RealisationWatcher(redis, last.decode() if isinstance(last, bytes) else last)
    reader = asyncio.create_task(watcher.run())
    client = KeepAliveClient(base, headers)
    responded: dict[str, tuple[float, Stage]] = {}
    queue = list(commands)
    best = 0.0
    plan = list(options.rates)
    try:
        while queue:
            if plan:
                rate = plan.pop(0)
                total = max(1, int(rate * options.stage_seconds))
            else:  # the rest of the year at the highest rate that was sustained
                rate, total = best or min(options.rates), len(queue)
            batch, queue = queue[:total], queue[total:]
            stage = Stage(rate)
            result.stages.append(stage)
            before = meter.snapshot()
            await _send(client, batch, stage, result, responded, options.concurrency)
            stage.cpu_s = meter.delta(before, meter.snapshot())
            await _collect(watcher, responded, stage)
            if stage.sustained:
                best = max(best, rate)
    finally:
        watcher.stop.set()
        await asyncio.gather(reader, return_exceptions=True)
        await client.aclose()
        result.counts["requests resent on a new connection (keep-alive closed)"] = client.retries
    result.realisation_ms = [ms for s in result.stages for ms in s.propagation_ms]
    sessions = {sid for sid, (_, _) in responded.items()}
    missing = len(sessions - set(watcher.arrivals))
    if missing:
        result.problems.append(f"{missing} held sessions never produced a realisation update")


async def _send(
    client: RawHttpClient, batch: list[Command], stage: Stage, result: Result,
    responded: dict[str, tuple[float, Stage]], concurrency: int,
) -> None:  # fmt: skip
    gate = asyncio.Semaphore(concurrency)
    interval = 1.0 / stage.offered

    async def one(command: Command, due: float) -> None:
        path = "/sessions" if command.kind == "session" else "/sales"
        kind = "hold session" if command.kind == "session" else "record sale"
        body = json.dumps(command.body).encode()
        async with gate:
            started = time.perf_counter()
            if started - due > 0.010:
                stage.late_starts += 1
            try:
                status, content = await client.post(path, body)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as error:
                status, content = 0, f"{type(error).__name__}".encode()
            done = time.perf_counter()
        stats = result.types[kind]
        stats.count += 1
        if status != 201:
            stats.failures += 1
            result.problems.append(f"{kind}: {status} {content[:200]!r}")
            return
        stats.latencies_ms.append(1000 * (done - started))
        stage.http_ms.append(1000 * (done - started))
        stage.ok += 1
        if command.kind == "session":
            responded[str(json.loads(content)["id"])] = (done, stage)

    begin = time.perf_counter()
    stage.started = time.time()
    tasks = []
    for index, command in enumerate(batch):
        due = begin + index * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(command, due)))
    await asyncio.gather(*tasks)
    stage.sent = len(batch)
    stage.seconds = time.perf_counter() - begin
    stage.ended = time.time()
    for kind in ("hold session", "record sale"):
        result.types[kind].seconds += stage.seconds


async def _collect(
    watcher: RealisationWatcher, responded: dict[str, tuple[float, Stage]], stage: Stage
) -> None:
    mine = {sid: at for sid, (at, s) in responded.items() if s is stage}
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline and any(sid not in watcher.arrivals for sid in mine):
        await asyncio.sleep(0.1)
    stage.collected = time.time()
    stage.propagation_ms = [
        1000 * (watcher.arrivals[sid] - at) for sid, at in mine.items() if sid in watcher.arrivals
    ]


async def _check_realisation(
    client: httpx.AsyncClient, base: str, scenario: Scenario, facilities: list[Facility],
    commands: list[Command], result: Result,
) -> None:  # fmt: skip
    expected: dict[tuple[int, str, str], int] = defaultdict(int)
    for command in commands:
        if command.item is not None:
            expected[command.item] += command.counted
    mismatches = 0
    checked = 0
    for facility in facilities:
        response = await client.get(f"{base}/reports/realisation",
                                    params={"facility": facility.code})  # fmt: skip
        rows = response.json()["rows"]
        realised: dict[tuple[str, str], int] = defaultdict(int)
        for row in rows:
            realised[(row["facility_number"], row["description"])] += int(row["realised_quantity"])
        for (number, agreement_key, item_key), quantity in expected.items():
            if number != facility.number:
                continue
            agreement = scenario.agreement(agreement_key)
            item = agreement.item(item_key)
            key = (facility.numbered(agreement.facility_number), item.description)
            checked += 1
            if realised.get(key, 0) != quantity:
                mismatches += 1
    result.counts["items checked against the realisation report"] = checked
    if mismatches:
        result.problems.append(f"{mismatches} items' realised quantity differs from the plan")


async def _check_drained(sampler: Sampler, result: Result) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(2 * SAMPLE_EVERY_S)
        latest: dict[tuple[str, str], GroupSample] = {}
        for s in sampler.groups:
            latest[(s.stream, s.group)] = s
        if latest and all(s.lag == 0 and s.pending == 0 for s in latest.values()):
            return
    result.problems.append("a consumer group still had lag or pending entries after 60 s")


async def _backlog(
    options: Options, result: Result, identity: str, headers: dict[str, str],
    redis: aioredis.Redis, programs_pid: int,
) -> None:  # fmt: skip
    """The programs service's consumer path on a real backlog, in the running topology.

    Programs is paused (SIGSTOP) while one more roster file of `--backlog` people (of a
    facility of its own) is imported; once identity has published every admission, programs
    is resumed (SIGCONT) and the time until its group on the identity stream has nothing
    outstanding is its drain time.
    """
    source = stream_of("identity")
    info = await redis.xinfo_stream(source)
    first = int(info["entries-added"])
    mix = {"matched": options.backlog}
    entries = build_roster(mix, population_size=max(2 * options.backlog, 1000), seed=4242)
    with tempfile.TemporaryDirectory(prefix="sinergi-backlog-") as scratch:
        path = write_csv(entries, Path(scratch) / "roster-backlog.csv")
        content = path.read_bytes()
    os.kill(programs_pid, signal.SIGSTOP)
    try:
        async with httpx.AsyncClient(headers=headers, timeout=600) as client:
            response = await client.post(
                f"{identity}/roster/imports", params={"facility": "rutan-barabai-backlog"},
                files={"file": ("roster-backlog.csv", content, "text/csv")},
            )  # fmt: skip
        if response.status_code != 201:
            result.problems.append(f"backlog import: {response.status_code}")
            return
        admitted = sum(1 for r in response.json()["rows"] if r.get("person_id"))
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while int((await redis.xinfo_stream(source))["entries-added"]) < first + admitted:
            if time.monotonic() > deadline:
                result.problems.append("identity never published the backlog's admissions")
                return
            await asyncio.sleep(0.1)
    finally:
        resumed = time.perf_counter()
        os.kill(programs_pid, signal.SIGCONT)
    added = int((await redis.xinfo_stream(source))["entries-added"]) - first
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        total = int((await redis.xinfo_stream(source))["entries-added"])
        groups = await redis.xinfo_groups(source)
        if all(
            int(g["pending"]) == 0 and total - int(g.get("entries-read") or 0) <= 0 for g in groups
        ):
            break
        if time.monotonic() > deadline:
            result.problems.append("programs never drained the backlog")
            return
        await asyncio.sleep(0.02)
    drained = time.perf_counter() - resumed
    tail = cast(
        list[tuple[bytes, dict[bytes, bytes]]],
        await redis.xrevrange(source, count=min(added, 1000)),
    )
    sizes = [len(fields[ENTRY_FIELD.encode()]) for _, fields in tail]
    result.entry_bytes = int(statistics.median(sizes)) if sizes else 0
    result.backlog = {"entries": added, "seconds": drained, "per_s": added / drained}


async def _raw_comparison(redis: aioredis.Redis, result: Result) -> None:
    """XADD, then XREADGROUP COUNT 100 + XACK, of as many entries as the backlog, same size."""
    total = int(result.backlog.get("entries", 0))
    if not total or not result.entry_bytes:
        result.problems.append("no backlog was measured: no raw comparison")
        return
    body = b"x" * result.entry_bytes
    stream, group = f"regional.raw.{uuid.uuid4().hex[:8]}", "raw"
    await redis.xgroup_create(stream, group, id="0", mkstream=True)
    started = time.perf_counter()
    for start in range(0, total, RAW_PIPELINE):
        pipe = redis.pipeline(transaction=False)
        for _ in range(min(RAW_PIPELINE, total - start)):
            pipe.xadd(stream, {ENTRY_FIELD: body})
        await pipe.execute()
    added = time.perf_counter()
    consumed = 0
    while consumed < total:
        reply = cast(
            list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
            await redis.xreadgroup(group, "c1", {stream: ">"}, count=RAW_BATCH),
        )
        ids = [entry_id for _, entries in reply for entry_id, _ in entries]
        consumed += len(ids)
        await redis.xack(stream, group, *ids)
    finished = time.perf_counter()
    await redis.delete(stream)
    result.raw = {
        "entries": total,
        "xadd_per_s": total / (added - started),
        "consume_per_s": total / (finished - added),
        "end_to_end_per_s": total / (finished - started),
    }


def _consumer_rates(sampler: Sampler, result: Result) -> None:
    """Each group's rate while it had work outstanding (lag or pending), from the samples."""
    by_group: dict[tuple[str, str], list[GroupSample]] = defaultdict(list)
    for s in sampler.groups:
        by_group[(s.stream, s.group)].append(s)
    for (stream, group), samples in by_group.items():
        busy_s = busy_done = 0.0
        for a, b in itertools.pairwise(samples):
            if a.lag + a.pending > 0 and b.done >= a.done:
                busy_s += b.at - a.at
                busy_done += b.done - a.done
        result.consumers[f"{group} on {stream}"] = {
            "entries": float(samples[-1].done),
            "max_lag": float(max(s.lag for s in samples)),
            "max_outstanding": float(max(s.lag + s.pending for s in samples)),
            "busy_s": round(busy_s, 2),
            "busy_per_s": round(busy_done / busy_s, 1) if busy_s else 0.0,
        }


def _store_samples(sampler: Sampler, result: Result) -> None:
    result.group_samples = list(sampler.groups)
    result.lag_timeline = _timeline(sampler)
    result.rss_peak_kib = dict(sampler.peak_kib)


def _timeline(sampler: Sampler) -> list[tuple[int, int]]:
    """(seconds since the first sample, max outstanding entries of any group) per 10 s."""
    if not sampler.groups:
        return []
    first = sampler.groups[0].at
    buckets: dict[int, int] = defaultdict(int)
    for s in sampler.groups:
        bucket = int((s.at - first) // 10) * 10
        buckets[bucket] = max(buckets[bucket], s.lag + s.pending)
    return sorted(buckets.items())


# --------------------------------------------------------------------------- the report


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p):,.0f}" if values else "-"


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f}"


def _machine(options: Options) -> list[tuple[str, str]]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    database = "SQLite files in a temporary directory"
    if options.database == "postgresql":
        with contextlib.suppress(psycopg.Error):
            url = os.environ.get("SINERGI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
            with psycopg.connect(url) as connection:
                row = connection.execute("SHOW server_version").fetchone()
                database = (
                    f"PostgreSQL {row[0] if row else '?'} (127.0.0.1, a database per service)"
                )
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("OS / Python", f"{platform.system()} {platform.release()} / {platform.python_version()}"),
        ("Database", database),
        ("Redis", "a redis-server of the run's own (127.0.0.1, TCP, no persistence)"),
        ("redis-py / httpx / SQLAlchemy / psycopg", f"{version('redis')} / {version('httpx')} / "
         f"{version('sqlalchemy')} / {version('psycopg')}"),
    ]  # fmt: skip


def render(result: Result) -> str:
    o = result.options
    lines = [
        "# Regional load",
        "",
        "Generated by `bench/regional.py`; do not edit by hand, re-run the command instead.",
        "",
        f"Run started {result.started_at}, took {result.wall_s:,.0f} s. Load average (1/5/15 "
        f"min) at the start: {result.load.get('start')}, at the end: {result.load.get('end')}, "
        f"on {os.cpu_count()} cores. {machine_note(result.load.get('start', ''))}",
        "",
        "## Command",
        "",
        "```sh",
        o.command(),
        "```",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in _machine(o)],
        "",
        "## The case",
        "",
        f"The Barabai scenario (8 partner agreements with their action plans) repeated for "
        f"{o.facilities} facilities; {o.people:,} people in custody imported as one roster CSV "
        f"per facility through `POST /roster/imports`; {o.months} month(s) of sessions per the "
        "action plans' targets (participants drawn from the facility's roster, admitted before "
        "the session) and a sale a month per facility, through `POST /sessions` (held) and "
        "`POST /sales`, in the order they happened. Services: agreements, identity, programs "
        "as processes (`ProcessTopology`, default settings, log level INFO).",
        "",
        "| | count |",
        "|---|---:|",
        *[f"| {k} | {v:,} |" for k, v in result.counts.items()],
        "",
        "## Offered vs achieved rate (sessions and sales)",
        "",
        f"Stages of rising offered rate, {o.stage_seconds:g} s each; what remained was sent at "
        "the highest sustained rate (sustained: every command accepted, achieved >= "
        f"{SUSTAINED_SHARE:.0%} of offered, realisation propagation p99 < "
        f"{SUSTAINED_P99_MS:,.0f} ms). At most {o.concurrency} requests in flight; a late start "
        "is a command sent more than 10 ms after its due time.",
        "",
        "| offered /s | sent | achieved /s | late starts | command p50 / p99 ms | "
        "propagation p50 / p99 ms | sustained | most behind consumer group (max outstanding) | "
        "CPU s (agreements / identity / programs / PostgreSQL / redis / driver) over s |",
        "|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for s in result.stages:
        postgres = sum(v for k, v in s.cpu_s.items() if k.startswith("postgres"))
        cpu = " / ".join(
            [f"{s.cpu_s.get(n, 0):.1f}" for n in ("agreements", "identity", "programs")]
            + [f"{postgres:.1f}"]
            + [f"{s.cpu_s.get(n, 0):.1f}" for n in ("redis-server", "load driver")]
        )
        lines.append(
            f"| {s.offered:g} | {s.sent:,} | {s.achieved:.1f} | {s.late_starts:,} | "
            f"{_ms(s.http_ms, 50)} / {_ms(s.http_ms, 99)} | {_ms(s.propagation_ms, 50)} / "
            f"{_ms(s.propagation_ms, 99)} | {'yes' if s.sustained else 'no'} | "
            f"{_most_behind(result, s)} | {cpu} over "
            f"{s.seconds:.1f} |"
        )
    lines += [
        "",
        "## Commands",
        "",
        "Setup commands ran 4 facilities at a time, one request after another per facility; "
        "roster imports one file after another; rate = count / the phase's wall time.",
        "",
        "| command | count | failures | phase s | per s | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, stats in result.types.items():
        r = stats.row()
        lines.append(
            f"| {name} | {r['count']:,} | {r['failures']} | {r['seconds']:,.1f} | "
            f"{r['per_s']:,.1f} | {r['p50_ms'] or '-'} | {r['p99_ms'] or '-'} | "
            f"{r['max_ms'] or '-'} |"
        )
    rosters = result.types.get("import roster file")
    if rosters and rosters.seconds:
        lines.append("")
        lines.append(
            "Roster rows admitted: "
            f"{result.counts.get('people admitted', 0) / rosters.seconds:,.0f}"
            " per second over the roster phase."
        )
    lines += [
        "",
        "## Propagation across services",
        "",
        "| path | count | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        f"| session held (HTTP response) -> agreements' `realisation_updated` on its stream | "
        f"{len(result.realisation_ms):,} | {_ms(result.realisation_ms, 50)} | "
        f"{_ms(result.realisation_ms, 99)} | {_ms(result.realisation_ms, 100)} |",
        f"| identity admission (event `time`) -> programs' read model has the person | "
        f"{len(result.admission_ms):,} | {_ms(result.admission_ms, 50)} | "
        f"{_ms(result.admission_ms, 99)} | {_ms(result.admission_ms, 100)} |",
        "",
        f"The read model is polled every {POLL_EVERY_S * 1000:.0f} ms, so an admission's figure "
        "is up to that much late. Admissions arrive in bursts (an import admits its rows in "
        "chunks of 200 per transaction), so their propagation includes queueing behind the "
        "rest of the burst.",
        "",
        "## Consumer lag",
        "",
        f"From XINFO STREAM / XINFO GROUPS every {SAMPLE_EVERY_S * 1000:.0f} ms. Lag: entries "
        "not yet delivered to the group; outstanding: lag + pending (delivered, not acked). "
        "Busy rate: entries acked per second over the sampling intervals that began with work "
        "outstanding, i.e. what the consumer did while it had a backlog.",
        "",
        "| group | entries acked | max lag | max outstanding | busy s | busy rate /s |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {name} | {v['entries']:,.0f} | {v['max_lag']:,.0f} | "
            f"{v['max_outstanding']:,.0f} | {v['busy_s']:,.1f} | {v['busy_per_s']:,.0f} |"
            for name, v in result.consumers.items()
        ],
        "",
        "Outstanding entries of the most behind group, per 10 s of the run (seconds since the "
        "services were ready: max outstanding):",
        "",
        "```",
        _wrap([f"{t}s:{n}" for t, n in result.lag_timeline]),
        "```",
    ]
    lines += _raw_lines(result)
    lines += [
        "",
        "## Memory and CPU per process",
        "",
        "| process | RSS peak MiB (VmHWM) | RSS end MiB | "
        + " | ".join(f"CPU s, {phase}" for phase in result.cpu)
        + " |",
        "|---|---:|---:|" + "---:|" * len(result.cpu),
    ]
    backends = [
        f"postgres ({name})"
        for name in SERVICES
        if f"postgres ({name})" in result.cpu.get("whole run", {})
    ]
    for name in [*SERVICES, *backends, "redis-server", "load driver"]:
        peak = result.rss_peak_kib.get(name)
        end = result.rss_end_kib.get(name)
        cpu = " | ".join(f"{result.cpu[p].get(name, 0):,.1f}" for p in result.cpu)
        lines.append(f"| {name} | {_mib(peak) if peak else '-'} | {_mib(end) if end else '-'} "
                     f"| {cpu} |")  # fmt: skip
    lines += [
        "",
        "PostgreSQL rows: the CPU of the backends serving that service's database (connections "
        "open at the phase's end; RSS not shown, backends share memory). Whole run: CPU since "
        "each process started.",
        "",
        "Phase wall times: "
        + ", ".join(f"{p} {end - start:,.1f} s" for p, (start, end) in result.phases.items())
        + ".",
        *_limits(result),
        "",
        "## Checks",
        "",
        *(
            [f"- FAILED: {p}" for p in result.problems]
            or [
                "- every command was accepted; every admitted person reached programs; every "
                "held session produced a realisation update; the agreements service's "
                "realisation report equals the plan's total for every action-plan item; every "
                "consumer group ended with lag 0 and nothing pending."
            ]
        ),
    ]
    return "\n".join(lines) + "\n"


def _most_behind(result: Result, stage: Stage) -> str:
    worst: dict[str, int] = defaultdict(int)
    for g in result.group_samples:
        if stage.started <= g.at <= (stage.collected or stage.ended):
            name = f"{g.group} on {g.stream}"
            worst[name] = max(worst[name], g.lag + g.pending)
    if not worst:
        return "-"
    name = max(worst, key=lambda n: worst[n])
    return f"{name} ({worst[name]:,})"


def _limits(result: Result) -> list[str]:
    """CPU per command by process over the paced phase, and what it implies."""
    commands = sum(s.ok for s in result.stages)
    phase = result.cpu.get("sessions and sales", {})
    if not commands or not phase:
        return []
    per = {name: 1000 * cpu / commands for name, cpu in phase.items() if cpu > 0}
    total = sum(ms for name, ms in per.items() if name != "load driver")
    busiest = max((n for n in per if n in SERVICES), key=lambda n: per[n], default=None)
    admitted = result.counts.get("people admitted", 0)
    rosters = result.cpu.get("rosters", {})
    lines = [
        "",
        "## What limits throughput",
        "",
        f"CPU per command (held session or sale) by process, over the whole paced phase "
        f"({commands:,} commands, including the consumers catching up after each stage):",
        "",
        "| process | CPU ms per command |",
        "|---|---:|",
        *[f"| {name} | {ms:.1f} |" for name, ms in sorted(per.items(), key=lambda kv: -kv[1])],
        f"| all but the load driver | {total:.1f} |",
        "",
    ]
    first_short = next((s for s in result.stages if not s.sustained), None)
    if first_short is not None:
        lines += [
            f"The first stage not sustained was {first_short.offered:g}/s (achieved "
            f"{first_short.achieved:.1f}/s, realisation propagation p99 "
            f"{_ms(first_short.propagation_ms, 99)} ms); the consumer group furthest behind "
            f"during it: {_most_behind(result, first_short)}.",
            "",
        ]
    if admitted and rosters:
        lines += [
            "Roster import, CPU per admitted person: "
            + ", ".join(
                f"{name} {1000 * cpu / admitted:.2f} ms"
                for name, cpu in sorted(rosters.items(), key=lambda kv: -kv[1])
                if cpu > 0
            )
            + ".",
            "",
        ]
    lines += [
        f"Derived from those figures (not measured directly): the services, their PostgreSQL "
        f"backends and Redis together need {total:.1f} ms of CPU per command, so the 2 "
        f"cores would top out near {2000 / total:,.0f} commands/s if nothing else ran",
    ]
    if busiest is not None:
        lines[-1] += (
            f"; one service process runs Python on one core at a time (the GIL), and "
            f"{busiest} needs {per[busiest]:.1f} ms per command, a ceiling of "
            f"{1000 / per[busiest]:,.0f}/s for it alone."
        )
    else:
        lines[-1] += "."
    if was_shared(result.load.get("start", "")):
        lines.append(
            "The machine was shared (see the load averages above): other processes took CPU "
            "from the same cores, so a process waited for a core as well as for its work."
        )
    return lines


def _raw_lines(result: Result) -> list[str]:
    if not result.raw or not result.backlog:
        return []
    raw, backlog = result.raw, result.backlog
    service = backlog["per_s"]
    return [
        "",
        "## Consumer path vs raw redis-py (same run, same Redis)",
        "",
        f"Services: after the checks, the programs process was paused (SIGSTOP) while one more "
        f"roster file was imported, so {backlog['entries']:,.0f} admission events "
        f"({result.entry_bytes:,} bytes each, median) waited on the identity stream; it was "
        f"then resumed (SIGCONT) and drained them in {backlog['seconds']:.2f} s, timed until "
        "XINFO GROUPS showed lag 0 and nothing pending (polled every 20 ms). Its path per "
        "entry: envelope and payload validation, the inbox check, the read-model upsert in a "
        "PostgreSQL transaction per batch, the ack. Raw: the same number of entries of the "
        "same size XADDed pipelined 500 at a time, then read with XREADGROUP COUNT "
        f"{RAW_BATCH} + one XACK per batch, by plain `redis.asyncio`, right after.",
        "",
        "| path | entries/s | services / raw |",
        "|---|---:|---:|",
        f"| programs' consumer on `sinergi.identity`, draining the backlog | {service:,.0f} | |",
        f"| raw XADD, pipelined 500 | {raw['xadd_per_s']:,.0f} | |",
        f"| raw XREADGROUP {RAW_BATCH} + XACK | {raw['consume_per_s']:,.0f} | "
        f"{service / raw['consume_per_s']:.3f} |",
        f"| raw XADD + XREADGROUP + XACK, end to end | {raw['end_to_end_per_s']:,.0f} | "
        f"{service / raw['end_to_end_per_s']:.3f} |",
        *[
            f"| {name}, while it had a backlog during the load (busy rate) | "
            f"{v['busy_per_s']:,.0f} | {v['busy_per_s'] / raw['consume_per_s']:.3f} of raw "
            "XREADGROUP + XACK |"
            for name, v in result.consumers.items()
            if v["max_outstanding"] >= 10 * RAW_BATCH
        ],
    ]


def _wrap(items: list[str], width: int = 96) -> str:
    out, line = [], ""
    for item in items:
        if line and len(line) + 1 + len(item) > width:
            out.append(line)
            line = item
        else:
            line = f"{line} {item}".strip()
    if line:
        out.append(line)
    return "\n".join(out) or "(no samples)"


def summary(result: Result) -> dict[str, Any]:
    return {
        "options": {k: str(v) if isinstance(v, Path) else v
                    for k, v in asdict(result.options).items()},
        "counts": result.counts,
        "commands": {name: stats.row() for name, stats in result.types.items()},
        "stages": [
            {"offered": s.offered, "sent": s.sent, "achieved": round(s.achieved, 2),
             "sustained": s.sustained, "late_starts": s.late_starts,
             "p50_ms": percentile(s.http_ms, 50) if s.http_ms else None,
             "p99_ms": percentile(s.http_ms, 99) if s.http_ms else None,
             "propagation_p99_ms": percentile(s.propagation_ms, 99) if s.propagation_ms else None}
            for s in result.stages
        ],
        "realisation_ms": {"count": len(result.realisation_ms),
                           "p50": percentile(result.realisation_ms, 50) if result.realisation_ms
                           else None,
                           "p99": percentile(result.realisation_ms, 99) if result.realisation_ms
                           else None},
        "admission_ms": {"count": len(result.admission_ms),
                         "p50": percentile(result.admission_ms, 50) if result.admission_ms
                         else None,
                         "p99": percentile(result.admission_ms, 99) if result.admission_ms
                         else None},
        "consumers": result.consumers,
        "raw": result.raw,
        "backlog": result.backlog,
        "rss_peak_kib": result.rss_peak_kib,
        "rss_end_kib": result.rss_end_kib,
        "cpu": result.cpu,
        "problems": result.problems,
        "wall_s": round(result.wall_s, 1),
    }  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="bench.regional", description=__doc__.split("\n")[0])
    parser.add_argument("--facilities", type=int, default=20)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12, choices=range(1, 13))
    parser.add_argument("--rates", default="5,10,20,40,80", help="offered rates per stage, /s")
    parser.add_argument("--stage-seconds", type=float, default=30.0)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--output", type=Path, help="write the section into this markdown file")
    parser.add_argument("--json", type=Path, dest="json_path", help="write a summary here")
    parser.add_argument("--workdir", type=Path, help="keep the services' logs here")
    parser.add_argument("--backlog", type=int, default=2000, help="entries of the backlog test")
    args = parser.parse_args(argv)
    if args.facilities < 1 or args.people < 10 * args.facilities:
        parser.error("give at least one facility and 10 people per facility")
    return Options(
        facilities=args.facilities, people=args.people, months=args.months,
        rates=tuple(float(r) for r in args.rates.split(",") if r.strip()),
        stage_seconds=args.stage_seconds, database=args.database,
        concurrency=args.concurrency, output=args.output, json_path=args.json_path,
        workdir=args.workdir, backlog=args.backlog,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    result = asyncio.run(run(options))
    markdown = render(result)
    print(markdown)
    if options.output is not None:
        write_section(options.output, SECTION, markdown)
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(summary(result), indent=2) + "\n")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
