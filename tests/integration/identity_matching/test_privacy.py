"""No NIK in the service's log lines, on `sinergi.identity`, or in error bodies."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from services.civil_registry.population import Population
from tests.integration.identity_matching.process import IdentityProcess
from tests.integration.identity_matching.support import (
    REGISTRATION,
    STAFF,
    StandIn,
    publish_civil_registry_agreement,
    stream_entries,
    unknown_nik,
    wait_until,
)


@pytest.fixture
def service(tmp_path: Path, redis_url: str, registry: StandIn) -> Iterator[IdentityProcess]:
    identity = IdentityProcess(
        f"sqlite:///{tmp_path / 'identity.db'}",
        redis_url,
        registry.url,
        tmp_path / "identity.log",
        overrides={
            "SINERGI_LOG_LEVEL": "DEBUG",
            "SINERGI_REGISTRY_BATCH_SIZE": "7",
            "SINERGI_REGISTRY_CHANGES_INTERVAL_S": "0.3",
        },
    )
    try:
        yield identity
    finally:
        identity.stop()


def test_no_nik_reaches_a_log_line_an_identity_event_or_an_error_body(
    service: IdentityProcess,
    registry: StandIn,
    streams: redis.Redis,
    population: Population,
) -> None:
    people = [population.person(i) for i in range(500, 530)]
    roster = [(f"P-{i}", p) for i, p in enumerate(people)]
    stranger = dataclasses.replace(people[0], nik=unknown_nik(people[0]))
    roster.append(("P-stranger", stranger))
    niks = {p.nik for _, p in roster}
    service.migrate_and_admit(roster)
    publish_civil_registry_agreement(streams)
    service.start()
    wait_until(lambda: service.scalar("SELECT count(*) FROM legal_basis"), what="legal basis")
    registry.faults(error_rate=0.2)  # retries and their log lines too
    url = service.url

    job = httpx.post(f"{url}/matching/jobs", json={"purpose": "pemadanan"}, headers=REGISTRATION)
    assert job.status_code == 202, job.text
    job_id = job.json()["job_id"]
    wait_until(
        lambda: (
            service.scalar("SELECT status FROM matching_job WHERE id = :id", id=job_id)
            == "completed"
        ),
        timeout=60,
        what="the job",
    )
    registry.faults()
    registry.change(people[3].nik, "death")
    wait_until(
        lambda: service.scalar("SELECT count(*) FROM matching_job WHERE status = 'completed'") == 2,
        timeout=60,
        what="the re-check after the death",
    )
    nik = people[1].nik
    errors = [
        httpx.post(
            f"{url}/matching/jobs", json={"purpose": nik, "person_ids": nik}, headers=REGISTRATION
        ),
        httpx.post(f"{url}/matching/jobs", json={"purpose": "x", "nik": nik}, headers=REGISTRATION),
        httpx.get(f"{url}/matching/jobs/{nik}", headers=STAFF),
    ]
    assert [e.status_code for e in errors] == [422, 422, 404]
    wait_until(
        lambda: service.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0,
        what="the outbox to drain",
    )
    service.stop()

    log = service.log.read_text()
    assert "batch" in log and "applied" in log  # the job did log
    entries = stream_entries(streams)
    assert entries
    for nik_value in niks:
        assert nik_value not in log
        assert all(nik_value.encode() not in entry for entry in entries)
        for error in errors:
            assert nik_value not in error.text
