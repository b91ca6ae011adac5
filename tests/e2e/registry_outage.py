"""A matching job through a civil-registry outage, on the process topology.

The identity service and the civil-registry stand-in run as processes (``ProcessTopology``);
a job over a few thousand people runs through timeouts, 5xx and 429 (the stand-in's fault
injection), then the registry is unreachable for ``outage_s`` seconds: the first third
answers every call 503 (its fault endpoint's full outage), the rest the process is stopped
(connections refused) and started again on the same port with an empty memory, so
transactions it had accepted are lost. Faults resume after it. Nothing restarts identity: the
job has to resume by itself.

:func:`run_registry_outage` drives it and returns what it saw; the CI test
(tests/e2e/test_registry_outage.py) and `sinergi prove registry-outage` check it.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from services.civil_registry.population import Population
from services.cli.supervisor import ProcessTopology
from services.cli.topology import ApiKey, Secrets, Topology, TopologyConfig
from shared.http.auth import Role
from tests.integration.identity_matching.process import IdentityProcess
from tests.integration.identity_matching.support import (
    FACILITY,
    SEED,
    TODAY,
    publish_civil_registry_agreement,
    wait_until,
)

REGISTRATION_KEY = "outage-registration-key-0123456789abcdef"
STAFF_KEY = "outage-staff-key-0123456789abcdef0123"
REGISTRATION = {"X-API-Key": REGISTRATION_KEY}
STAFF = {"X-API-Key": STAFF_KEY}
# Timeouts (answered 2 s late, after identity's 1.5 s timeout), 5xx and 429, before and after.
FAULTS: dict[str, Any] = {
    "error_rate": 0.1,
    "timeout_rate": 0.05,
    "hang_s": 2.0,
    "rate_limit_per_s": 6,
    "rate_burst": 2,
    "async_delay_ms": 300,
}
BATCH = 50
START_OUTAGE_AT = 0.25  # share of the people done when the registry goes away
SETTLE_S = 3.0
_METRIC = re.compile(r"^sinergi_registry_requests_total\{([^}]*)\} ([0-9.e+]+)$", re.M)


@dataclass
class OutageRun:
    people: int
    outage_s: float
    status: str = ""
    done_at_outage: int = 0
    done_while_down: int = 0  # applied while nothing listened (after SETTLE_S)
    seconds_to_outage: float = 0.0
    seconds_503_phase: float = 0.0
    seconds_process_down: float = 0.0
    seconds_restart_to_progress: float = 0.0
    seconds_restart_to_completed: float = 0.0
    seconds_total: float = 0.0
    batches: int = 0
    batches_lost: int = 0
    breaker_states_seen_in_outage: list[str] = field(default_factory=list)
    breaker_gauge_max_in_outage: float = 0.0
    breaker_at_end: str = ""
    ready_samples: int = 0
    ready_not_200: int = 0
    identity_alive: bool = False
    registry_requests: dict[str, float] = field(default_factory=dict)
    per_person: dict[str, int] = field(default_factory=dict)  # "(count, state)" -> people
    batch_size_mismatches: int = 0
    transactions_checked_at_registry: int = 0
    transactions_with_other_people: int = 0
    audit_items: int = 0
    registry_items_after_restart: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def outage_config(state_dir: Path, redis_url: str, people: int) -> TopologyConfig:
    return TopologyConfig(
        state_dir=state_dir,
        redis_url=redis_url,
        secrets=Secrets.generate(),
        facility=FACILITY,
        environment="test",
        services=("civil-registry", "identity"),
        api_keys=(
            ApiKey("registration", Role.REGISTRATION, REGISTRATION_KEY),
            ApiKey("staff", Role.STAFF, STAFF_KEY),
        ),
        extra_env={
            "SINERGI_TODAY": TODAY.isoformat(),
            "SINERGI_BLOCK_MS": "100",
            "SINERGI_RELAY_POLL_INTERVAL_S": "0.2",
            "SINERGI_MONITOR_INTERVAL_S": "0.5",
        },
        service_env={
            "identity": {
                "SINERGI_REGISTRY_RESYNC_ENABLED": "false",
                "SINERGI_REGISTRY_BATCH_SIZE": str(BATCH),
                "SINERGI_REGISTRY_CONCURRENCY": "3",
                "SINERGI_REGISTRY_TIMEOUT_S": "1.5",
                "SINERGI_REGISTRY_MAX_ATTEMPTS": "4",
                "SINERGI_REGISTRY_BREAKER_FAILURES": "5",
                "SINERGI_REGISTRY_BREAKER_RESET_S": "3",
                "SINERGI_REGISTRY_POLL_INTERVAL_S": "0.1",
            },
            "civil-registry": {"SINERGI_REGISTRY_SEED": str(SEED)},
        },
        consumer_prefix="outage",
        registry_population=people,
    )


class _Probe:
    """HTTP to identity and the stand-in's admin API."""

    def __init__(self, topology: Topology) -> None:
        self.identity = httpx.Client(base_url=topology.url("identity"), timeout=10)
        admin = {"Authorization": f"Bearer {topology.secrets.registry_admin_token}"}
        self.registry = httpx.Client(
            base_url=topology.url("civil-registry"), headers=admin, timeout=10
        )
        client = {"Authorization": f"Bearer {topology.secrets.registry_token}"}
        self.registry_client = httpx.Client(
            base_url=topology.url("civil-registry"), headers=client, timeout=10
        )

    def close(self) -> None:
        self.identity.close()
        self.registry.close()
        self.registry_client.close()

    def faults(self, **config: Any) -> None:
        self.registry.put("/admin/faults", json=config).raise_for_status()

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.identity.get(f"/matching/jobs/{job_id}", headers=STAFF)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def ready(self) -> int:
        return self.identity.get("/health/ready").status_code

    def metrics(self) -> str:
        return self.identity.get("/metrics").text

    def requests_by_outcome(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for labels, value in _METRIC.findall(self.metrics()):
            parts = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            key = f"{parts['operation']}:{parts['outcome']}"
            totals[key] = totals.get(key, 0.0) + float(value)
        return dict(sorted(totals.items()))

    def breaker_gauge(self) -> float:
        found = re.search(
            r"^sinergi_registry_breaker_state\{[^}]*\} ([0-9.]+)$", self.metrics(), re.M
        )
        return float(found.group(1)) if found else -1.0

    def registry_people(self, transaction_id: str) -> set[str] | None:
        response = self.registry_client.post(
            "/registry/txn/status", json={"transaction_id": transaction_id}
        )
        if response.status_code != 200:
            return None
        answers = response.json()["message"]["search_response"]
        return {str(answer["reference_id"]) for answer in answers}


def _admit(topology: Topology, people: int) -> IdentityProcess:
    """Schema and roster written straight into identity's database before it starts."""
    population = Population(people, SEED)
    seeder = IdentityProcess(
        topology.database_url("identity"),
        topology.config.redis_url,
        topology.url("civil-registry"),
        topology.config.state_dir / "seed.log",
        nik_key=topology.secrets.nik_key,
        lookup_key=topology.secrets.lookup_key,
    )
    seeder.migrate_and_admit([(f"O-{i:06}", population.person(i)) for i in range(people)])
    return seeder


def run_registry_outage(
    state_dir: Path, redis_url: str, *, people: int, outage_s: float
) -> OutageRun:
    run = OutageRun(people=people, outage_s=outage_s)
    topology = Topology(outage_config(state_dir, redis_url, people))
    state_dir.mkdir(parents=True, exist_ok=True)
    db = _admit(topology, people)
    processes = ProcessTopology(topology, ready_timeout_s=120)
    processes.start()
    probe = _Probe(topology)
    streams = redis.Redis.from_url(redis_url)
    try:
        publish_civil_registry_agreement(streams)
        wait_until(lambda: db.scalar("SELECT count(*) FROM legal_basis"), what="the legal basis")
        probe.faults(**FAULTS)

        started = time.monotonic()
        response = probe.identity.post(
            "/matching/jobs", json={"purpose": "pemadanan NIK seluruh WBP"}, headers=REGISTRATION
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        wait_until(
            lambda: probe.job(job_id)["done"] >= people * START_OUTAGE_AT,
            timeout=600,
            what=f"{START_OUTAGE_AT:.0%} of the people done before the outage",
        )
        run.seconds_to_outage = time.monotonic() - started
        run.done_at_outage = probe.job(job_id)["done"]

        breaker_seen: set[str] = set()

        def watch(until: float) -> None:
            while time.monotonic() < until:
                run.ready_samples += 1
                if probe.ready() != 200:
                    run.ready_not_200 += 1
                breaker_seen.add(probe.job(job_id)["breaker"])
                run.breaker_gauge_max_in_outage = max(
                    run.breaker_gauge_max_in_outage, probe.breaker_gauge()
                )
                time.sleep(1.0)

        outage_started = time.monotonic()
        probe.faults(outage=True)  # a full outage at the registry's door: 503 on every call
        watch(outage_started + outage_s / 3)
        run.seconds_503_phase = time.monotonic() - outage_started
        down = time.monotonic()
        processes.stop_service("civil-registry")  # then nothing listens at all
        watch(down + SETTLE_S)  # an answer fetched just before may still be applied
        done_while_down = probe.job(job_id)["done"]
        watch(outage_started + outage_s)
        run.done_while_down = probe.job(job_id)["done"] - done_while_down
        processes.spawn("civil-registry")
        processes.wait_ready("civil-registry", 120)
        restarted = time.monotonic()
        run.seconds_process_down = restarted - down
        run.breaker_states_seen_in_outage = sorted(breaker_seen)
        probe.faults(**FAULTS)

        done_at_restart = probe.job(job_id)["done"]
        wait_until(
            lambda: probe.job(job_id)["done"] > done_at_restart,
            timeout=300,
            what="progress after the registry came back",
        )
        run.seconds_restart_to_progress = time.monotonic() - restarted
        wait_until(
            lambda: probe.job(job_id)["status"] != "running",
            timeout=900,
            what="the job to finish after the outage",
        )
        run.seconds_restart_to_completed = time.monotonic() - restarted
        run.seconds_total = time.monotonic() - started
        probe.faults()
        final = probe.job(job_id)
        run.status = final["status"]
        run.breaker_at_end = final["breaker"]
        run.identity_alive = "identity" not in processes.exited()
        run.ready_samples += 1
        run.ready_not_200 += int(probe.ready() != 200)
        run.registry_requests = probe.requests_by_outcome()
        _check_results(run, db, probe, job_id)
        usage = probe.registry.get("/admin/usage").json()["clients"].get(FACILITY, {})
        run.registry_items_after_restart = sum(usage.get("items", {}).values())
    finally:
        streams.close()
        probe.close()
        processes.stop()
    return run


def _check_results(run: OutageRun, db: IdentityProcess, probe: _Probe, job_id: str) -> None:
    per_person = db.query(
        "SELECT count(*) AS n, min(state) AS state FROM matching_item"
        " WHERE job_id = :id GROUP BY person_id",
        id=job_id,
    )
    run.per_person = dict(Counter(f"({r['n']}, {r['state']})" for r in per_person))
    batches = db.query("SELECT id, state, size FROM matching_batch WHERE job_id = :id", id=job_id)
    run.batches = len(batches)
    run.batches_lost = sum(1 for b in batches if b["state"] == "lost")
    members: dict[str, set[str]] = {}
    for row in db.query(
        "SELECT person_id, batch_id FROM matching_item WHERE job_id = :id", id=job_id
    ):
        members.setdefault(str(row["batch_id"]), set()).add(str(row["person_id"]))
    for batch in batches:
        expected = batch["size"] if batch["state"] == "done" else 0
        if len(members.get(str(batch["id"]), set())) != expected:
            run.batch_size_mismatches += 1
        if batch["state"] != "done":
            continue
        # The registry's own record of the transaction: the people it was asked about.
        asked = probe.registry_people(str(batch["id"]))
        if asked is None:
            continue  # answered before the restart: the registry's memory went with it
        run.transactions_checked_at_registry += 1
        if asked != members.get(str(batch["id"]), set()):
            run.transactions_with_other_people += 1
    run.audit_items = int(
        db.scalar("SELECT coalesce(sum(items), 0) FROM access_audit WHERE action = 'matching_call'")
    )
