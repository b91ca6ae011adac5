"""Support for the outage suites: a Redis with AOF to restart, a cuttable PostgreSQL proxy,
a readiness timeline, a load of commands against the three services, and the checks after.

Figures come from the environment so that `sinergi prove outages` runs the same tests
longer: ``SINERGI_OUTAGE_LOAD_S`` (load before and after the outage, each),
``SINERGI_OUTAGE_S`` (how long the dependency is away) and ``SINERGI_OUTAGE_REPORT`` (a
JSON-lines file the measured figures are appended to).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import Engine, text

from services.cli.topology import ApiKey, Secrets, TopologyConfig
from shared.http.auth import Role
from shared.messaging.streams import DEADLETTER_STREAM, ENTRY_FIELD, stream_of
from shared.persistence.engine import make_engine
from tests.infra import free_port
from tests.streams import skipped_by

FACILITY = "rutan-barabai"
TODAY = "2024-06-01"
STAFF_KEY = "e2e-outage-staff-key-0123456789abcdef"
PARTNER_KEY = "e2e-outage-partner-key-0123456789abcdef"
STAFF = {"X-API-Key": STAFF_KEY, "X-Correlation-ID": "e2e-outages"}
PARTNER = {"X-API-Key": PARTNER_KEY}
SERVICES = ("agreements", "identity", "programs")
# consumer group -> the streams it reads
GROUPS = {
    "agreements": (stream_of("programs"),),
    "identity": (stream_of("agreements"),),
    "programs": (stream_of("agreements"), stream_of("identity")),
}
ATTENDEES = 3


def setting(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def report(record: dict[str, Any]) -> None:
    """Append the measured figures to ``SINERGI_OUTAGE_REPORT`` when a full run asks."""
    path = os.environ.get("SINERGI_OUTAGE_REPORT")
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


def topology_config(
    state_dir: Path, redis_url: str, database_urls: dict[str, str] | None = None
) -> TopologyConfig:
    return TopologyConfig(
        state_dir=state_dir,
        redis_url=redis_url,
        secrets=Secrets.generate(),
        facility=FACILITY,
        environment="test",
        services=("civil-registry", *SERVICES),
        database_urls=database_urls or {},
        api_keys=(
            ApiKey("staff", Role.STAFF, STAFF_KEY),
            ApiKey("bnnk", Role.PARTNER, PARTNER_KEY, partner="bnnk"),
        ),
        extra_env={
            "SINERGI_TODAY": TODAY,
            "SINERGI_BLOCK_MS": "200",
            "SINERGI_RELAY_POLL_INTERVAL_S": "0.5",
            "SINERGI_MONITOR_INTERVAL_S": "1",
            "SINERGI_CLAIM_IDLE_MS": "5000",
            "SINERGI_CLAIM_INTERVAL_S": "2",
        },
        service_env={"identity": {"SINERGI_REGISTRY_RESYNC_ENABLED": "false"}},
        consumer_prefix="e2e-outage",
        registry_population=500,
    )


# --- Redis with AOF ----------------------------------------------------------------------------


class AofRedis:
    """A redis-server of the test's own with ``appendonly yes, appendfsync everysec``.

    ``shutdown`` is Redis' own SHUTDOWN (the AOF is flushed); ``start`` again reuses the
    same port and directory, so Redis reloads what it had.
    """

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1)

    def start(self) -> AofRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        args += ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
        args += ["--logfile", str(self.dir / "redis.log")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(redis.RedisError), self.client() as client:
                if client.ping() and client.info("persistence")["loading"] == 0:
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def shutdown(self) -> None:
        """SHUTDOWN (the server flushes its AOF and exits) and wait for the process."""
        with contextlib.suppress(redis.ConnectionError), self.client() as client:
            client.shutdown()
        if self.process is not None:
            self.process.wait(timeout=20)
            self.process = None

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


# --- a PostgreSQL proxy that can be cut ---------------------------------------------------------


class PostgresProxy:
    """A TCP proxy to PostgreSQL, in a thread: ``cut`` closes every connection and refuses new
    ones, ``restore`` listens again on the same port. The shared server is never touched."""

    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> PostgresProxy:
        self._thread.start()
        self.restore()
        return self

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def restore(self) -> None:
        async def listen() -> None:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, reuse_address=True
            )

        self._call(listen())

    def cut(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._call(close())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None or writer not in self._writers:
            # cut while this connection was being made upstream: it must not outlive the cut
            up_writer.transport.abort()
            writer.transport.abort()
            return
        self._writers.add(up_writer)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


# --- readiness over time -------------------------------------------------------------------------


@dataclass
class Timeline:
    """``/health/ready`` of each service polled every ``interval_s``; transitions kept."""

    urls: dict[str, str]
    interval_s: float = 0.25
    start: float = field(default_factory=time.monotonic)
    transitions: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    failed_checks: dict[str, set[str]] = field(default_factory=dict)  # seen while not ready
    red_because: dict[str, list[tuple[float, list[str]]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def run(self) -> Timeline:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _poll(self) -> None:
        with httpx.Client(timeout=3.0) as http:
            while not self._stop.is_set():
                for name, url in self.urls.items():
                    failing: set[str] = set()
                    try:
                        answer = http.get(url + "/health/ready")
                    except httpx.HTTPError:
                        status = 0
                    else:
                        status = answer.status_code
                        if status != 200:
                            failing = _failing_checks(answer)
                            self.failed_checks.setdefault(name, set()).update(failing)
                    seen = self.transitions.setdefault(name, [])
                    if not seen or seen[-1][1] != status:
                        at = round(time.monotonic() - self.start, 2)
                        seen.append((at, status))
                        if status != 200:
                            self.red_because.setdefault(name, []).append((at, sorted(failing)))
                self._stop.wait(self.interval_s)

    def now(self) -> float:
        return time.monotonic() - self.start

    def red_then_green(self, name: str, after: float) -> tuple[float, float] | None:
        """When the service first went non-200 after ``after``, and when 200 again."""
        seen = self.transitions.get(name, [])
        red = next((t for t, status in seen if t >= after and status != 200), None)
        if red is None:
            return None
        green = next((t for t, status in seen if t > red and status == 200), None)
        return (red, green) if green is not None else None


def _failing_checks(answer: httpx.Response) -> set[str]:
    try:
        checks = answer.json()["checks"]
    except (ValueError, KeyError, TypeError):
        return set()
    return {name for name, result in checks.items() if not result.get("ok")}


# --- load -------------------------------------------------------------------------------------


@dataclass
class Attempt:
    kind: str  # session, item, admit, import
    marker: str
    at: float
    status: int  # 0: no answer (transport error)
    ids: list[str] = field(default_factory=list)
    body: str = ""
    retry_after: str | None = None
    content_type: str = ""

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class World:
    agreement: str
    item: str
    people: list[str]


class Load:
    """Commands against the three services from four threads, each paced, until stopped."""

    def __init__(self, urls: dict[str, str], world: World, timeline: Timeline) -> None:
        self.urls = urls
        self.world = world
        self.timeline = timeline
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def run(self) -> Load:
        for kind, target, pause in (
            ("session", self._sessions, 0.1),
            ("item", self._items, 0.4),
            ("admit", self._admits, 0.3),
            ("import", self._imports, 2.0),
        ):
            thread = threading.Thread(target=self._loop, args=(kind, target, pause), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _loop(self, kind: str, command: Any, pause: float) -> None:
        with httpx.Client(timeout=15.0) as http:
            number = 0
            while not self._stop.is_set():
                number += 1
                marker = "OUT" + "".join(chr(65 + int(c, 16)) for c in uuid.uuid4().hex[:10])
                at = self.timeline.now()
                try:
                    response: httpx.Response = command(http, marker, number)
                except httpx.HTTPError as error:
                    attempt = Attempt(kind, marker, at, 0, body=repr(error))
                else:
                    attempt = Attempt(
                        kind,
                        marker,
                        at,
                        response.status_code,
                        body=response.text[:500],
                        retry_after=response.headers.get("retry-after"),
                        content_type=response.headers.get("content-type", ""),
                    )
                    if attempt.accepted:
                        attempt.ids = _ids(attempt.kind, response)
                with self._lock:
                    self.attempts.append(attempt)
                self._stop.wait(pause)

    def _sessions(self, http: httpx.Client, marker: str, number: int) -> httpx.Response:
        return http.post(
            self.urls["programs"] + "/sessions",
            json={
                "agreement_id": self.world.agreement,
                "programme_kind": "drug_counselling",
                "action_plan_item_id": self.world.item,
                "held_on": f"2024-05-{1 + number % 28:02d}",
                "attendance": self.world.people,
            },
            headers=PARTNER,
        )

    def _items(self, http: httpx.Client, marker: str, number: int) -> httpx.Response:
        return http.post(
            self.urls["agreements"] + f"/agreements/{self.world.agreement}/action-plan/items",
            json=item_body(marker),
            headers=STAFF,
        )

    def _admits(self, http: httpx.Client, marker: str, number: int) -> httpx.Response:
        return http.post(self.urls["identity"] + "/inmates", json=person(marker), headers=STAFF)

    def _imports(self, http: httpx.Client, marker: str, number: int) -> httpx.Response:
        return import_roster(http, self.urls, marker)

    def summary(self, outage: tuple[float, float]) -> dict[str, Any]:
        """Counts per kind, before/during/after the outage: accepted, refused by status."""
        out: dict[str, Any] = {}
        for attempt in self.attempts:
            phase = (
                "before"
                if attempt.at < outage[0]
                else "during"
                if attempt.at < outage[1]
                else "after"
            )
            bucket = out.setdefault(phase, {}).setdefault(attempt.kind, {})
            key = "accepted" if attempt.accepted else str(attempt.status or "no answer")
            bucket[key] = bucket.get(key, 0) + 1
        return out


def _ids(kind: str, response: httpx.Response) -> list[str]:
    body = response.json()
    if kind == "import":
        return [str(row["person_id"]) for row in body["rows"] if row.get("person_id")]
    return [str(body["id"])]


IMPORT_ROWS = 4


def import_roster(http: httpx.Client, urls: dict[str, str], marker: str) -> httpx.Response:
    """A roster file of IMPORT_ROWS people; the same marker gives the same file."""
    rows = [
        f"{marker}-{k},Impor {marker} {k},L,Barabai,1985-03-0{k + 1},Nur,2024-01-10"
        for k in range(IMPORT_ROWS)
    ]
    content = "register_number,name,sex,birth_place,birth_date,mother_name,admission_date\n"
    content += "\n".join(rows) + "\n"
    return http.post(
        urls["identity"] + "/roster/imports",
        files={"file": (f"{marker}.csv", content.encode())},
        headers=STAFF,
    )


def item_body(description: str) -> dict[str, Any]:
    return {
        "programme_kind": "drug_counselling",
        "description": description,
        "target_quantity": 1_000_000,
        "unit": "participants",
        "period_start": "2024-01-01",
        "period_end": "2024-12-31",
        "responsible": "partner",
    }


def person(name: str) -> dict[str, str]:
    return {
        "register_number": name,
        "category": "B.I",
        "name": name,
        "sex": "L",
        "birth_place": "Barabai",
        "birth_date": "1990-04-12",
        "mother_name": "Siti Aminah",
        "admission_date": "2024-01-10",
    }


def ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    return response.json() if response.content else None


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def build_world(urls: dict[str, str]) -> World:
    """An active agreement with an item, and people in custody known to programs."""
    with httpx.Client(timeout=15.0) as http:
        partner = ok(
            http.post(
                urls["agreements"] + "/partners",
                json={"code": "bnnk", "name": "BNN Kabupaten HST", "kind": "health"},
                headers=STAFF,
            )
        )
        agreement = ok(
            http.post(
                urls["agreements"] + "/agreements",
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
        ok(
            http.post(
                urls["agreements"] + f"/agreements/{agreement}/sign",
                json={"signed_on": "2023-12-20", "signatories": signatories},
                headers=STAFF,
            ),
            204,
        )
        item = ok(
            http.post(
                urls["agreements"] + f"/agreements/{agreement}/action-plan/items",
                json=item_body("Group counselling"),
                headers=STAFF,
            )
        )["id"]
        people = [
            ok(http.post(urls["identity"] + "/inmates", json=person(f"SETUP-{k}"), headers=STAFF))[
                "id"
            ]
            for k in range(ATTENDEES)
        ]
        world = World(str(agreement), str(item), [str(p) for p in people])
        wait_for(lambda: all(known_person(http, urls, p) for p in world.people), 30, "people")
        wait_for(lambda: world.item in programs_items(http, urls), 30, "the item in programs")
    return world


def known_person(http: httpx.Client, urls: dict[str, str], person_id: str) -> bool:
    answer = http.get(urls["programs"] + f"/people/{person_id}/participation", headers=STAFF)
    return answer.status_code == 200


def programs_items(http: httpx.Client, urls: dict[str, str]) -> set[str]:
    rows = ok(http.get(urls["programs"] + "/reports/realisation", headers=PARTNER), 200)["items"]
    return {str(row["item_id"]) for row in rows}


def agreements_items(http: httpx.Client, urls: dict[str, str], agreement: str) -> dict[str, str]:
    """Item id -> description, as the agreements service holds them."""
    rows = ok(http.get(urls["agreements"] + "/reports/realisation", headers=PARTNER), 200)["rows"]
    return {str(row["item_id"]): str(row.get("description", "")) for row in rows}


def realised(http: httpx.Client, urls: dict[str, str], item: str) -> int:
    rows = ok(http.get(urls["agreements"] + "/reports/realisation", headers=PARTNER), 200)["rows"]
    return sum(int(row["realised_quantity"]) for row in rows if row["item_id"] == item)


# --- after the load: delivery state and exactly-once ----------------------------------------------


@dataclass
class Delivered:
    pending: dict[str, int]  # "group<-stream" -> pending entries
    lag: dict[str, int]
    dead_letters: int
    unpublished: dict[str, int]  # service -> outbox rows not yet published
    stream_events: dict[str, int]  # stream -> distinct event ids
    stream_entries: dict[str, int]  # stream -> entries (a republished event counts twice)

    @property
    def drained(self) -> bool:
        return (
            not any(self.pending.values())
            and not any(self.lag.values())
            and not any(self.unpublished.values())
        )


def stream_event_ids(
    client: redis.Redis, stream: str, skipping: frozenset[str] = frozenset()
) -> list[str]:
    ids = []
    for _, fields in client.xrange(stream):  # type: ignore[union-attr]
        body = (fields or {}).get(ENTRY_FIELD.encode())
        if body is not None:
            event = json.loads(body)
            if event["type"] not in skipping:
                ids.append(str(event["id"]))
    return ids


def delivery_state(client: redis.Redis, engines: dict[str, Engine]) -> Delivered:
    pending: dict[str, int] = {}
    lag: dict[str, int] = {}
    for group, streams in GROUPS.items():
        for stream in streams:
            for info in client.xinfo_groups(stream):
                name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
                if name == group:
                    pending[f"{group}<-{stream}"] = int(info["pending"])
                    lag[f"{group}<-{stream}"] = int(info.get("lag") or 0)
    unpublished = {}
    for service, engine in engines.items():
        with engine.connect() as connection:
            unpublished[service] = int(
                connection.execute(
                    text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                ).scalar_one()
            )
    read = sorted({stream for streams in GROUPS.values() for stream in streams})
    ids = {stream: stream_event_ids(client, stream) for stream in read}
    return Delivered(
        pending=pending,
        lag=lag,
        dead_letters=int(client.xlen(DEADLETTER_STREAM)),
        unpublished=unpublished,
        stream_events={stream: len(set(values)) for stream, values in ids.items()},
        stream_entries={stream: len(values) for stream, values in ids.items()},
    )


def unapplied(client: redis.Redis, group: str) -> int:
    """Entries of the group's streams not yet read (lag) or read but not acknowledged."""
    total = 0
    for stream in GROUPS[group]:
        for info in client.xinfo_groups(stream):
            name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
            if name == group:
                total += int(info["pending"]) + int(info.get("lag") or 0)
    return total


def wait_drained(client: redis.Redis, engines: dict[str, Engine], timeout: float) -> Delivered:
    """Drained in two polls in a row with the streams unchanged in between: a single poll
    can read the groups before an outbox publishes and the outboxes after it."""
    deadline = time.monotonic() + timeout
    previous: Delivered | None = None
    while True:
        state = delivery_state(client, engines)
        stable = previous is not None and previous.stream_entries == state.stream_entries
        if (state.drained and stable) or time.monotonic() > deadline:
            return state
        previous = state if state.drained else None
        time.sleep(0.5)


def exactly_once_problems(client: redis.Redis, engines: dict[str, Engine]) -> list[str]:
    """Each group's inbox holds exactly the distinct events of its streams that it applies
    (not the types it skips), and each service's outbox exactly the distinct events of its
    own stream."""
    problems = []
    for group, streams in GROUPS.items():
        skipping = skipped_by(group)
        expected = {e for stream in streams for e in stream_event_ids(client, stream, skipping)}
        with engines[group].connect() as connection:
            applied = set(
                connection.execute(
                    text("SELECT event_id FROM inbox WHERE consumer_group = :g"), {"g": group}
                ).scalars()
            )
        if applied != expected:
            problems.append(
                f"{group}: {len(expected - applied)} events never applied, "
                f"{len(applied - expected)} applied that are not in its streams"
            )
    for service, engine in engines.items():
        with engine.connect() as connection:
            staged = set(connection.execute(text("SELECT event_id FROM outbox")).scalars())
        published = set(stream_event_ids(client, stream_of(service)))
        if staged != published:
            problems.append(
                f"{service}: {len(staged - published)} outbox events not in its stream, "
                f"{len(published - staged)} stream events not in its outbox"
            )
    return problems


def effects_problems(urls: dict[str, str], world: World, attempts: Sequence[Attempt]) -> list[str]:
    """Every accepted command has its effects in every service, counted once: each accepted
    session is in programs, and agreements counts every session programs holds once."""
    problems = []
    with httpx.Client(timeout=15.0) as http:
        sessions = programs_sessions(http, urls, world.agreement)
        accepted_sessions = {a.ids[0] for a in attempts if a.kind == "session" and a.accepted}
        if missing := accepted_sessions - sessions:
            problems.append(f"{len(missing)} accepted sessions missing in programs")
        want = ATTENDEES * len(sessions)
        got = realised(http, urls, world.item)
        if got != want:
            problems.append(f"agreements realised {got}, the {len(sessions)} sessions make {want}")
        in_programs = programs_items(http, urls)
        in_agreements = agreements_items(http, urls, world.agreement)
        for attempt in (a for a in attempts if a.kind == "item" and a.accepted):
            for where, items in (("agreements", in_agreements), ("programs", in_programs)):
                if attempt.ids[0] not in items:
                    problems.append(f"item {attempt.ids[0]} accepted but missing in {where}")
        people = [
            i for a in attempts if a.kind in ("admit", "import") and a.accepted for i in a.ids
        ]
        for person_id in people:
            if not known_person(http, urls, person_id):
                problems.append(f"person {person_id} accepted but unknown to programs")
    return problems


def programs_sessions(http: httpx.Client, urls: dict[str, str], agreement: str) -> set[str]:
    found: set[str] = set()
    while True:
        page = ok(
            http.get(
                urls["programs"] + "/sessions",
                params={"agreement": agreement, "limit": 1000, "offset": len(found)},
                headers=STAFF,
            ),
            200,
        )["data"]
        found |= {str(row["id"]) for row in page}
        if len(page) < 1000:
            return found


@dataclass
class HalfWritten:
    problems: list[str] = field(default_factory=list)
    # Refused commands sent before the cut whose effects are all there: the connection
    # dropped with their COMMIT in flight, so the service could not know it had committed.
    in_doubt: int = 0
    # Refused imports whose rows were committed before the cut (an import commits its rows
    # in chunks, then its report): the same file sent again must complete it.
    imports_resumed: int = 0


def half_written(
    urls: dict[str, str], world: World, attempts: Sequence[Attempt], cut_at: float
) -> HalfWritten:
    """A refused command left nothing of its own, or (sent before the cut) all of it;
    an import cut after its rows' commit is completed by sending the same file again."""
    found = HalfWritten()
    refused = [a for a in attempts if not a.accepted and a.status != 0]
    with httpx.Client(timeout=15.0) as http:
        sessions = programs_sessions(http, urls, world.agreement)
        accepted = {a.ids[0] for a in attempts if a.kind == "session" and a.accepted}
        unanswered = sum(1 for a in attempts if a.kind == "session" and a.status == 0)
        doubtful = sum(1 for a in refused if a.kind == "session" and a.at < cut_at)
        extra = len(sessions - accepted)
        found.in_doubt += extra
        if extra > unanswered + doubtful:
            found.problems.append(f"{extra} sessions in programs no accepted command made")
        items = {d: i for i, d in agreements_items(http, urls, world.agreement).items()}
        in_programs = programs_items(http, urls)
        for attempt in refused:
            if attempt.kind == "item" and attempt.marker in items:
                found.in_doubt += 1
                if attempt.at >= cut_at:
                    found.problems.append(f"refused item {attempt.marker} exists in agreements")
                elif items[attempt.marker] not in in_programs:
                    found.problems.append(f"item {attempt.marker} in agreements, not programs")
            if attempt.kind not in ("admit", "import"):
                continue
            params = {"name": attempt.marker}
            people = ok(http.get(urls["identity"] + "/inmates", params=params, headers=STAFF), 200)
            if not people["data"]:
                continue
            if attempt.kind == "import":
                found.imports_resumed += 1
                found.problems += _resume_import(http, urls, attempt.marker, len(people["data"]))
                continue
            found.in_doubt += 1
            if attempt.at >= cut_at:
                found.problems.append(f"refused admission {attempt.marker} exists in identity")
            elif not all(known_person(http, urls, p["id"]) for p in people["data"]):
                found.problems.append(f"admission {attempt.marker} in identity, not programs")
    return found


def _resume_import(http: httpx.Client, urls: dict[str, str], marker: str, kept: int) -> list[str]:
    again = import_roster(http, urls, marker)
    if again.status_code != 201:
        return [f"import {marker} sent again: {again.status_code} {again.text[:200]}"]
    outcomes = [row["outcome"] for row in again.json()["rows"]]
    if outcomes.count("unchanged") != kept or len(outcomes) != IMPORT_ROWS:
        return [f"import {marker} sent again after {kept} rows were kept: {outcomes}"]
    ids = [str(row["person_id"]) for row in again.json()["rows"]]
    try:
        wait_for(lambda: all(known_person(http, urls, i) for i in ids), 60, f"import {marker}")
    except AssertionError as error:
        return [str(error)]
    return []


def engines_for(urls: dict[str, str]) -> dict[str, Engine]:
    return {service: make_engine(url) for service, url in urls.items()}


@contextlib.contextmanager
def engines_of(database_urls: dict[str, str]) -> Iterator[dict[str, Engine]]:
    engines = engines_for(database_urls)
    try:
        yield engines
    finally:
        for engine in engines.values():
            engine.dispose()


def figures(**values: Any) -> dict[str, Any]:
    """Dataclasses flattened for the report."""
    return {k: asdict(v) if hasattr(v, "__dataclass_fields__") else v for k, v in values.items()}
