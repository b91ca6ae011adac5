"""SIGKILL the identity service mid-job: after a restart every person has exactly one result,
and no batch the registry already had is sent to it again."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from services.civil_registry.population import Population
from tests.integration.identity_matching.process import IdentityProcess
from tests.integration.identity_matching.support import (
    REGISTRATION,
    StandIn,
    publish_civil_registry_agreement,
    wait_until,
)

PEOPLE = 2000
BATCH = 100


@pytest.fixture
def service(tmp_path: Path, redis_url: str, registry: StandIn) -> Iterator[IdentityProcess]:
    identity = IdentityProcess(
        f"sqlite:///{tmp_path / 'identity.db'}",
        redis_url,
        registry.url,
        tmp_path / "identity.log",
        overrides={
            "SINERGI_REGISTRY_BATCH_SIZE": str(BATCH),
            "SINERGI_REGISTRY_CONCURRENCY": "4",
            "SINERGI_REGISTRY_RESYNC_ENABLED": "false",
        },
    )
    try:
        yield identity
    finally:
        identity.stop()


def test_a_job_killed_mid_way_resumes_with_one_result_per_person_and_no_batch_sent_twice(
    service: IdentityProcess,
    registry: StandIn,
    streams: redis.Redis,
    population: Population,
) -> None:
    people = [(f"K-{i:05}", population.person(i)) for i in range(PEOPLE)]
    service.migrate_and_admit(people)
    agreement_id = publish_civil_registry_agreement(streams)
    service.start()
    wait_until(lambda: service.scalar("SELECT count(*) FROM legal_basis"), what="the legal basis")
    registry.faults(async_delay_ms=1500)  # every batch takes 1.5 s to be answered

    response = httpx.post(
        f"{service.url}/matching/jobs",
        json={"purpose": "pemadanan NIK seluruh WBP"},
        headers=REGISTRATION,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]

    def mid_job() -> bool:
        states = {
            row["state"]: row["n"]
            for row in service.query(
                "SELECT state, count(*) AS n FROM matching_batch GROUP BY state"
            )
        }
        return bool(states.get("done", 0) >= 4 and states.get("sent", 0) >= 2)

    wait_until(mid_job, timeout=60, what="some batches done and others in flight")
    service.kill()
    in_flight = service.scalar("SELECT count(*) FROM matching_batch WHERE state = 'sent'")
    done_at_kill = service.scalar("SELECT count(*) FROM matching_batch WHERE state = 'done'")
    assert in_flight > 0
    assert done_at_kill < math.ceil(PEOPLE / BATCH)

    time.sleep(2)  # the registry finishes what it had accepted meanwhile
    service.start()
    wait_until(
        lambda: (
            service.scalar("SELECT status FROM matching_job WHERE id = :id", id=job_id)
            == "completed"
        ),
        timeout=120,
        what="the resumed job to complete",
    )

    batches = service.scalar("SELECT count(*) FROM matching_batch WHERE job_id = :id", id=job_id)
    assert batches == math.ceil(PEOPLE / BATCH)
    per_person = service.query(
        "SELECT person_id, count(*) AS n, min(state) AS state FROM matching_item"
        " WHERE job_id = :id GROUP BY person_id",
        id=job_id,
    )
    assert len(per_person) == PEOPLE
    assert {(row["n"], row["state"]) for row in per_person} == {(1, "done")}
    counters = service.query(
        "SELECT total, sent, done, matched + partial + not_found + invalid + skipped AS outcomes"
        " FROM matching_job WHERE id = :id",
        id=job_id,
    )
    assert counters == [{"total": PEOPLE, "sent": 0, "done": PEOPLE, "outcomes": PEOPLE}]
    matched = service.scalar(
        "SELECT count(*) FROM inmate WHERE nik_status IN ('matched', 'partial', 'not_found')"
    )
    assert matched == PEOPLE
    audits = service.query(
        "SELECT items, agreement_id FROM access_audit WHERE action = 'matching_call'"
    )
    assert len(audits) == batches  # one audit row per batch, none twice
    assert sum(row["items"] for row in audits) == PEOPLE
    assert {row["agreement_id"] for row in audits} == {agreement_id}
    searches = registry.requests("async_search")
    assert searches <= batches + in_flight
    # Batches the registry had when the process died were fetched with txn/status, not sent
    # again; only ones it never got (written `sent`, request not yet through) went again.
    fetched = service.log.read_text().count("fetched, not sent again")
    assert fetched >= 1
    assert searches - batches <= in_flight - fetched
    assert sum(registry.usage()["items"].values()) == PEOPLE  # each person verified once
