"""Poison and malformed entries written straight into every stream the real services read.

Agreements, identity, programs and the dashboard run as processes. Into each of
`sinergi.agreements`, `sinergi.programs` and `sinergi.identity` go: bad JSON, an unknown
event type, a known type with an invalid payload, an entry without the envelope fields, an
entry without the event field, and a 5 MB entry. Every consuming group dead-letters each one
with a reason that names the problem, leaves nothing pending, stays ready throughout, and
applies the valid events written after the poison (an agreement, an admission and a session,
through the services' APIs).

Then the fix-and-replay case an operator meets: the agreements service's database role loses
its INSERT privilege on the realisation ledger (a botched grant during a migration, on
PostgreSQL). A held session fails there on every delivery and is dead-lettered with the
database's reason; the dashboard applies it meanwhile. After the grant is restored,
`sinergi deadletters replay` applies it in agreements exactly once, and the dashboard, which
sees the replayed entry too, skips it by its inbox.

Read models keep the newest state by `sequence` and never wait for a missing one, so a
sequence gap is not an error; a stale (older) entry is skipped, and is covered by the read
model tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
import pytest
import redis
import sqlalchemy as sa

from services.cli.topology import ApiKey, Secrets, TopologyConfig
from shared.events import parse_event
from shared.http.auth import Role
from shared.messaging import DEADLETTER_STREAM, ENTRY_FIELD
from shared.persistence.engine import make_engine
from tests.e2e.poison import (
    CONSUMERS,
    Poison,
    ReadinessWatch,
    owned_postgres_database,
    poison_entries,
    wait_for,
)
from tests.e2e.processes import ROOT, running_topology
from tests.e2e.test_three_services import (
    FACILITY,
    PARTNER,
    PARTNER_KEY,
    STAFF,
    STAFF_KEY,
    TODAY,
    admit,
    draft_active_agreement,
    ok,
)
from tests.infra import postgres_available
from tests.privacy import PrivacyScanner, known_test_niks
from tests.streams import skipped_by

pytestmark = pytest.mark.postgres
SERVICES = ("agreements", "identity", "programs", "dashboard")
MAX_DELIVERIES = 3


@pytest.fixture
def agreements_database() -> Iterator[tuple[str, str]]:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable in CI (set SINERGI_TEST_POSTGRES_URL)")
        pytest.skip("PostgreSQL is not reachable (set SINERGI_TEST_POSTGRES_URL)")
    with owned_postgres_database() as urls:
        yield urls


def config(tmp_path: Path, redis_url: str, agreements_url: str) -> TopologyConfig:
    return TopologyConfig(
        state_dir=tmp_path,
        redis_url=redis_url,
        secrets=Secrets.generate(),
        facility=FACILITY,
        environment="test",
        services=SERVICES,
        database_urls={"agreements": agreements_url},
        api_keys=(
            ApiKey("staff", Role.STAFF, STAFF_KEY),
            ApiKey("bnnk", Role.PARTNER, PARTNER_KEY, partner="bnnk"),
        ),
        extra_env={
            "SINERGI_TODAY": TODAY,
            "SINERGI_BLOCK_MS": "100",
            "SINERGI_RELAY_POLL_INTERVAL_S": "0.2",
            "SINERGI_MONITOR_INTERVAL_S": "0.5",
            "SINERGI_CLAIM_IDLE_MS": "300",
            "SINERGI_CLAIM_INTERVAL_S": "0.3",
            "SINERGI_MAX_DELIVERIES": str(MAX_DELIVERIES),
        },
        service_env={"identity": {"SINERGI_REGISTRY_RESYNC_ENABLED": "false"}},
        consumer_prefix="poison",
    )


Entries = list[tuple[bytes, dict[bytes, bytes]]]


def entries(r: redis.Redis, stream: str, after: str | None = None) -> Entries:
    return cast(Entries, r.xrange(stream, min="-" if after is None else f"({after}"))


def dead_letters(r: redis.Redis) -> list[dict[str, str]]:
    """Every dead letter's fields except the body, with its own id."""
    letters = []
    for dead_id, fields in entries(r, DEADLETTER_STREAM):
        row = {k.decode(): v.decode() for k, v in fields.items() if k != ENTRY_FIELD.encode()}
        letters.append({"id": dead_id.decode(), **row})
    return letters


def pending(r: redis.Redis) -> dict[tuple[str, str], int]:
    return {
        (stream, group): int(r.xpending(stream, group)["pending"])
        for stream, groups in CONSUMERS.items()
        for group in groups
    }


def inbox_ids(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(sa.text("SELECT event_id FROM inbox")).scalars())
    finally:
        engine.dispose()


def event_ids_after(r: redis.Redis, stream: str, after: str) -> dict[str, str]:
    """Event id -> type of the entries written after ``after`` (by the services)."""
    found = {}
    for _, fields in entries(r, stream, after):
        event, _ = parse_event(fields[ENTRY_FIELD.encode()])
        found[event.id] = event.type
    return found


def hold_session(programs: httpx.Client, agreement: str, item: str, person: str, day: str) -> str:
    body: dict[str, Any] = {
        "agreement_id": agreement,
        "programme_kind": "drug_counselling",
        "action_plan_item_id": item,
        "held_on": day,
        "attendance": [person],
    }
    return str(ok(programs.post("/sessions", json=body, headers=PARTNER))["id"])


def test_poison_in_every_stream_is_dead_lettered_by_every_group_and_a_fixed_failure_replays_once(
    tmp_path: Path, redis_url: str, agreements_database: tuple[str, str]
) -> None:
    agreements_url, agreements_admin_url = agreements_database
    r = redis.Redis.from_url(redis_url)
    with (
        running_topology(config(tmp_path, redis_url, agreements_url), "processes") as services,
        httpx.Client(base_url=services.url("agreements"), timeout=10) as agreements,
        httpx.Client(base_url=services.url("identity"), timeout=10) as identity,
        httpx.Client(base_url=services.url("programs"), timeout=10) as programs,
    ):
        watch = ReadinessWatch({name: services.url(name) for name in SERVICES})
        with watch.running():
            # -- the poison, then valid events through the APIs --------------------------------
            started = time.monotonic()
            planted: dict[tuple[str, str], Poison] = {}
            last_poison: dict[str, str] = {}
            for stream in CONSUMERS:
                for poison in poison_entries(stream):
                    entry_id = cast(bytes, r.xadd(stream, cast(Any, poison.fields))).decode()
                    planted[(stream, entry_id)] = poison
                    last_poison[stream] = entry_id

            agreement, item = draft_active_agreement(agreements)
            person = admit(identity, "B.I-601/2024", "Ahmad Rizani")

            def agreements_realised() -> int:
                rows = agreements.get("/reports/realisation", headers=PARTNER).json()["rows"]
                [row] = [row for row in rows if row["item_id"] == item]
                return int(row["realised_quantity"])

            def programs_ready_for_session() -> bool:
                rows = programs.get("/reports/realisation", headers=PARTNER).json()["items"]
                known = programs.get(f"/people/{person}/participation", headers=STAFF)
                return any(row["item_id"] == item for row in rows) and known.status_code == 200

            wait_for(programs_ready_for_session, 30, "programs to apply the valid events")
            hold_session(programs, agreement, item, person, "2024-05-02")
            wait_for(lambda: agreements_realised() == 1, 30, "the realisation in agreements")

            # -- every group dead-lettered every poison entry, with its reason ----------------
            expected = {
                (stream, group, entry_id)
                for (stream, entry_id) in planted
                for group in CONSUMERS[stream]
            }

            def all_dead() -> bool:
                seen = {(d["stream"], d["group"], d["entry_id"]) for d in dead_letters(r)}
                return expected <= seen

            wait_for(all_dead, 60, f"{len(expected)} dead letters")
            figures = {"dead_letters": len(expected), "all_dead_s": time.monotonic() - started}
            letters = dead_letters(r)
            keys = Counter((d["stream"], d["group"], d["entry_id"]) for d in letters)
            twice = [key for key, n in keys.items() if n > 1]
            assert not twice, f"dead-lettered more than once: {twice}"
            assert set(keys) == expected, f"unexpected: {set(keys) - expected}"
            scanner = PrivacyScanner(known=known_test_niks())
            for letter in letters:
                poison = planted[(letter["stream"], letter["entry_id"])]
                where = f"{poison.kind} in {letter['stream']} for {letter['group']}"
                assert letter["reason_code"] == poison.code, (where, letter)
                assert poison.names in letter["reason"], (where, letter["reason"])
                assert letter["service"] == letter["group"], where
                assert not scanner.scan("dead letter", where, letter["reason"]), where
            wait_for(lambda: set(pending(r).values()) == {0}, 30, "no pending entry left")

            # -- the valid events written after the poison were applied by every group --------
            inboxes = {
                "agreements": agreements_admin_url,
                **{
                    name: f"sqlite:///{tmp_path / f'{name}.db'}"
                    for name in ("identity", "programs", "dashboard")
                },
            }
            for stream, groups in CONSUMERS.items():
                valid = event_ids_after(r, stream, last_poison[stream])
                assert valid, f"no valid event written to {stream} after the poison"
                for group in groups:
                    applies = {i for i, kind in valid.items() if kind not in skipped_by(group)}
                    missing = applies - inbox_ids(inboxes[group])
                    assert not missing, f"{group} did not apply {len(missing)} events of {stream}"

            # -- a failure fixed by the operator, then a replay --------------------------------
            role = agreements_url.split("//", 1)[1].split("@", 1)[0]
            with psycopg.connect(agreements_admin_url, autocommit=True) as admin:
                admin.execute(f'REVOKE INSERT ON realisation FROM "{role}"')
            before_session = r.xinfo_stream("sinergi.programs")["last-generated-id"].decode()
            second = hold_session(programs, agreement, item, person, "2024-05-09")
            failing = time.monotonic()

            def dead_in_agreements() -> dict[str, str] | None:
                for letter in dead_letters(r):
                    if letter["group"] == "agreements" and letter["entry_id"] > before_session:
                        return letter
                return None

            letter = wait_for(dead_in_agreements, 60, "the failing session's dead letter")
            figures["failing_to_dead_s"] = time.monotonic() - failing
            assert letter["reason_code"] == "max_deliveries", letter
            assert "permission denied" in letter["reason"], letter
            assert int(letter["deliveries"]) >= MAX_DELIVERIES
            held = event_ids_after(r, "sinergi.programs", before_session)
            [session_event] = [i for i, t in held.items() if t == "sinergi.session.held"]
            wait_for(
                lambda: session_event in inbox_ids(inboxes["dashboard"]),
                30,
                "the dashboard to apply the session meanwhile",
            )
            assert agreements_realised() == 1

            with psycopg.connect(agreements_admin_url, autocommit=True) as admin:
                admin.execute(f'GRANT INSERT ON realisation TO "{role}"')
            replaying = time.monotonic()
            replayed = subprocess.run(
                [sys.executable, "-m", "services.cli", "deadletters", "replay", letter["id"]],
                cwd=ROOT,
                env={**os.environ, "SINERGI_REDIS_URL": redis_url},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert replayed.returncode == 0, replayed.stderr
            assert "1 dead letters replayed" in replayed.stdout

            wait_for(lambda: agreements_realised() == 2, 30, "the replayed session in agreements")
            figures["replay_to_applied_s"] = time.monotonic() - replaying
            wait_for(lambda: set(pending(r).values()) == {0}, 30, "no pending entry left")
            time.sleep(2.0)  # time for a second application, if there were one
            assert agreements_realised() == 2
            bodies = [
                fields.get(ENTRY_FIELD.encode(), b"")
                for _, fields in entries(r, "sinergi.agreements")
            ]
            updates = [b for b in bodies if b"realisation_updated" in b and second.encode() in b]
            assert len(updates) == 1  # one realisation fact for the replayed session
            assert not [d for d in dead_letters(r) if d["entry_id"] > before_session]
            assert len(dead_letters(r)) == len(expected)

        figures |= {"ready_samples": watch.samples, "ready_failures": len(watch.failures)}
        print({k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()})
        print(f"dead letter reason after the revoked grant: {letter['reason'][:160]}")
        assert watch.samples > 50
        assert watch.failures == [], watch.failures[:20]
        for name in SERVICES:
            assert services.stop(name) == 0, services.tail(name)
    r.close()
