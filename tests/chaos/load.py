"""The work of a trial: seed agreements and the roster, start a matching job, then record
held sessions and sales through both programs replicas while a seeded monkey kills replicas.

"Accepted" is a 2xx answer. Every command carries an `Idempotency-Key`: one whose
connection died after it was sent is sent again with the same key (on whichever replica is
up) until it is answered, so its fate becomes known and it exists exactly once. Only a
command still unanswered after every resend has an unknown fate; the checks allow it to
exist at most once. A connection refused before anything was sent is retried likewise.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.programs import RawHttpClient
from services.cli.agreements_client import AgreementsClient
from services.cli.identity_client import IdentityClient, Inmate
from services.cli.loading import LoadedIds, load
from services.cli.roster import build_roster, write_csv
from services.cli.scenario import Scenario, load_scenario
from services.cli.service_client import ApiError
from shared.messaging import stream_of
from shared.messaging.connection import connect
from tests.chaos.cluster import REPLICATED, Cluster, Replica

PURPOSE = "Pemadanan NIK WBP Rutan Barabai (uji chaos)"
SESSION_DAYS = (date(2023, 4, 1), date(2023, 6, 30))  # inside both items' periods
CONCURRENCY = 12
FIRST_KILL_S = (0.5, 1.5)  # early, so that even a short trial has kills
KILL_GAP_S = (1.0, 4.0)
DOWN_S = (0.3, 2.5)
SOURCE_STREAMS = tuple(stream_of(s) for s in REPLICATED)


@dataclass(frozen=True)
class Seeded:
    ids: LoadedIds
    people: list[Inmate]
    job_id: str


@dataclass
class Ledger:
    """What the driver sent and what the services answered."""

    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # accepted id -> body
    sales: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown_sessions: int = 0
    unknown_sales: int = 0
    refused_retries: int = 0
    resent: int = 0  # commands sent again with their key after a lost answer
    replayed: int = 0  # resends answered with the first answer (the first had been recorded)
    rejected: list[str] = field(default_factory=list)  # answers other than 201
    kills: list[str] = field(default_factory=list)  # "<seconds> <replica>"
    events: int = 0
    load_s: float = 0.0


# --- seeding (before the chaos) --------------------------------------------------------------


def trimmed_scenario() -> Scenario:
    """The 2023 agreements, drafted as new ones (no priors): all in force on the pinned day."""
    scenario = load_scenario()
    agreements = tuple(a.model_copy(update={"renews": None}) for a in scenario.agreements)
    return scenario.model_copy(update={"prior_agreements": (), "agreements": agreements})


def seed(cluster: Cluster, state_dir: Path, timeout_s: float = 60.0) -> Seeded:
    scenario = trimmed_scenario()
    with AgreementsClient(cluster.urls("agreements")[0], cluster.secrets.staff_key) as client:
        ids = load(client, scenario, lambda _: None)
    roster = write_csv(build_roster(), state_dir / "roster-chaos.csv")
    with IdentityClient(cluster.urls("identity")[0], cluster.secrets.registration_key) as people:
        people.import_roster(roster)
        deadline = time.monotonic() + timeout_s
        while True:  # the legal basis arrives from the agreements stream
            try:
                job_id = people.start_matching(PURPOSE)
                break
            except ApiError as error:
                if error.status != 409 or time.monotonic() > deadline:
                    raise
                time.sleep(0.25)
        inmates = people.inmates()
    return Seeded(ids, inmates, job_id)


# --- commands ----------------------------------------------------------------------------------


class Commands:
    """Seeded bodies: held drug counselling (counts people), mobile clinic (counts sessions),
    and sales."""

    def __init__(self, rng: random.Random, seeded: Seeded, facility: str) -> None:
        self.rng = rng
        ids = seeded.ids
        self.counselling = (ids.agreements["pks-2023-kesehatan"],
                            ids.items[("pks-2023-kesehatan", "konseling-narkoba")])  # fmt: skip
        self.clinic = (ids.agreements["pks-2023-kesehatan"],
                       ids.items[("pks-2023-kesehatan", "pusling")])  # fmt: skip
        self.trade = ids.agreements["pks-2023-perdagangan"]
        span = (SESSION_DAYS[1] - SESSION_DAYS[0]).days
        self.days = [SESSION_DAYS[0] + timedelta(days=d) for d in range(span + 1)]
        self.present = {
            day: [p.id for p in seeded.people if p.in_custody(facility, day)] for day in self.days
        }

    def next(self) -> tuple[str, dict[str, Any]]:
        """("sessions" or "sales", body)."""
        roll = self.rng.random()
        day = self.rng.choice(self.days)
        if roll < 0.1:
            return "sales", {
                "agreement_id": self.trade,
                "sold_on": day.isoformat(),
                "buyer_type": "public",
                "lines": [{"product": "Tas anyaman purun", "quantity": self.rng.randint(1, 20),
                           "unit": "buah", "unit_price_idr": 75_000}],
            }  # fmt: skip
        agreement, item = self.counselling if roll < 0.7 else self.clinic
        kind = "drug_counselling" if roll < 0.7 else "mobile_clinic"
        present = self.present[day]
        attendance = self.rng.sample(present, self.rng.randint(1, min(8, len(present))))
        return "sessions", {
            "agreement_id": agreement,
            "programme_kind": kind,
            "action_plan_item_id": item,
            "held_on": day.isoformat(),
            "attendance": attendance,
        }


# --- the load and the monkey -------------------------------------------------------------------


class Programs:
    """A client per live programs replica; a killed one's connections are dropped."""

    def __init__(self, cluster: Cluster, api_key: str) -> None:
        self.cluster = cluster
        self.headers = {"X-API-Key": api_key}
        self.clients: dict[int, RawHttpClient] = {}
        self.turn = 0
        for index, url in enumerate(cluster.urls("programs"), 1):
            self.clients[index] = RawHttpClient(url, self.headers)

    def pick(self) -> tuple[int, RawHttpClient]:
        live = [i for i in sorted(self.clients) if self.cluster.alive(Replica("programs", i))]
        index = live[self.turn % len(live)] if live else 1 + self.turn % len(self.clients)
        self.turn += 1
        return index, self.clients[index]

    async def renew(self, index: int) -> None:
        old = self.clients[index]
        self.clients[index] = RawHttpClient(self.cluster.urls("programs")[index - 1], self.headers)
        await old.aclose()

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


async def _send(programs: Programs, path: str, body: bytes, ledger: Ledger) -> tuple[int, bytes]:
    """Status and body; (0, b"") when the fate is still unknown after every attempt.

    Refused connections are retried; a lost answer is resent with the same key."""
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    sent = False
    for _ in range(200):
        _, client = programs.pick()
        try:
            status, content = await client.post(path, body, headers)
        except ConnectionRefusedError:
            ledger.refused_retries += 1
            await asyncio.sleep(0.05)
            continue
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            ledger.resent += 1
            sent = True
            await asyncio.sleep(0.05)
            continue
        if sent and status == 201:
            ledger.replayed += int(client.last_replayed)
        return status, content
    return 0, b""


async def _worker(commands: Commands, programs: Programs, ledger: Ledger,
                  stop: asyncio.Event) -> None:  # fmt: skip
    while not stop.is_set():
        path, body = commands.next()
        status, content = await _send(programs, f"/{path}", json.dumps(body).encode(), ledger)
        if status == 201:
            created = str(json.loads(content)["id"])
            (ledger.sessions if path == "sessions" else ledger.sales)[created] = body
        elif status == 0:
            if path == "sessions":
                ledger.unknown_sessions += 1
            else:
                ledger.unknown_sales += 1
        else:
            ledger.rejected.append(f"{path} {status} {content[:200]!r}")


async def _count_events(redis: aioredis.Redis, target: int, ledger: Ledger,
                        stop: asyncio.Event) -> None:  # fmt: skip
    while not stop.is_set():
        lengths = [int(await redis.xlen(stream)) for stream in SOURCE_STREAMS]
        ledger.events = sum(lengths)
        if ledger.events >= target:
            stop.set()
            return
        await asyncio.sleep(0.5)


async def _restart(cluster: Cluster, victim: Replica, down_s: float, down: set[str]) -> None:
    await asyncio.sleep(down_s)
    await asyncio.to_thread(cluster.start, victim)
    await asyncio.to_thread(cluster.wait_ready, victim.name, cluster.url(victim))
    down.discard(victim.service)


async def _monkey(cluster: Cluster, programs: Programs, rng: random.Random, ledger: Ledger,
                  stop: asyncio.Event, started: float) -> None:  # fmt: skip
    """Kill -9 a replica every few seconds; at most one of each service is away at a time
    (its sibling keeps the API up), and each comes back after a short random delay."""
    down: set[str] = set()
    restarts: list[asyncio.Task[None]] = []
    gap = FIRST_KILL_S
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(*gap))
        gap = KILL_GAP_S
        if stop.is_set():
            break
        candidates = [r for r in cluster.replicas if r.service not in down]
        if not candidates:
            continue
        victim = rng.choice(candidates)
        down.add(victim.service)
        await asyncio.to_thread(cluster.kill, victim)
        ledger.kills.append(f"{time.monotonic() - started:.1f}s {victim.name}")
        if victim.service == "programs":
            await programs.renew(victim.index)
        restarts.append(asyncio.create_task(_restart(cluster, victim, rng.uniform(*DOWN_S), down)))
    await asyncio.gather(*restarts)


async def drive(cluster: Cluster, redis_url: str, seeded: Seeded, seed_value: int,
                events: int) -> Ledger:  # fmt: skip
    """Commands until the source streams hold ``events`` entries, with kills throughout."""
    ledger = Ledger()
    stop = asyncio.Event()
    commands = Commands(random.Random(seed_value), seeded, cluster.facility)
    programs = Programs(cluster, cluster.secrets.staff_key)
    redis = connect(redis_url)
    started = time.monotonic()
    try:
        monkey = asyncio.create_task(
            _monkey(cluster, programs, random.Random(seed_value + 1), ledger, stop, started)
        )
        counter = asyncio.create_task(_count_events(redis, events, ledger, stop))
        workers = [
            asyncio.create_task(_worker(commands, programs, ledger, stop))
            for _ in range(CONCURRENCY)
        ]
        await asyncio.gather(counter, *workers)
        ledger.load_s = time.monotonic() - started
        await monkey
    finally:
        stop.set()
        await programs.aclose()
        await redis.aclose()
    return ledger
