"""The registry's changes feed and periodic re-validation keep results current."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.civil_registry.population import Population
from services.identity.bootstrap import create_app
from tests.integration.identity_matching.conftest import matching_settings
from tests.integration.identity_matching.roster import (
    admit,
    audit_rows,
    container_of,
    finished,
    inmate,
    items,
    start_job,
    with_legal_basis,
)
from tests.integration.identity_matching.support import (
    REGISTRATION,
    STAFF,
    StandIn,
    inmate_body,
    stream_entries,
    wait_until,
)


def jobs_with_purpose(client: TestClient, purpose: str) -> list[dict[str, Any]]:
    listed = client.get("/matching/jobs", headers=STAFF).json()["data"]
    return [job for job in listed if job["purpose"] == purpose]


def published_statuses(streams: redis.Redis, person_id: str) -> list[str]:
    """The NIK statuses the person's facts carried on `sinergi.identity`, oldest first."""
    statuses = []
    for entry in stream_entries(streams):
        event = json.loads(entry)
        if event["subject"] == person_id:
            statuses.append(event["data"]["inmate"]["nik_status"])
    return statuses


def scalar(client: TestClient, sql: str) -> Any:
    with container_of(client).engine.connect() as connection:
        return connection.execute(sa.text(sql)).scalar_one()


def test_a_death_in_the_registry_sends_the_person_back_to_unverified_and_re_checks_them(
    database_url: str,
    redis_url: str,
    streams: redis.Redis,
    registry: StandIn,
    population: Population,
) -> None:
    settings = matching_settings(
        database_url,
        redis_url,
        registry.url,
        registry_resync_enabled=True,
        registry_changes_interval_s=0.3,
    )
    with TestClient(create_app(settings)) as client:
        agreement_id = with_legal_basis(client, streams)
        people = [p for p in (population.person(i) for i in range(300, 320)) if p.alive][:5]
        ids = [admit(client, inmate_body(p, f"S-{i}")) for i, p in enumerate(people)]
        first = finished(client, start_job(client, "pemadanan", ids))
        assert first["outcomes"] == {"matched": 5}

        registry.change(people[2].nik, "death")
        rechecks = wait_until(
            lambda: jobs_with_purpose(client, "re-check after registry change"),
            what="a re-check job",
        )
        job_id = rechecks[0]["job_id"]
        recheck = finished(client, job_id)

        assert recheck["total"] == 1
        assert [item["person_id"] for item in items(client, job_id)] == [ids[2]]
        dead = inmate(client, ids[2])
        assert dead["last_match"]["alive"] is False
        assert inmate(client, ids[0])["last_match"]["alive"] is True
        wait_until(
            lambda: published_statuses(streams, ids[2])[-2:] == ["unverified", "matched"],
            what="the person's status facts",
        )
        resyncs = audit_rows(client, "resync_call")
        assert sum(row["items"] for row in resyncs) == 1
        assert {row["agreement_id"] for row in resyncs} == {agreement_id}
        assert scalar(client, "SELECT position FROM registry_cursor WHERE name = 'changes'") == 1


def test_people_last_checked_long_ago_are_re_validated_and_validated_people_stay_validated(
    database_url: str,
    redis_url: str,
    streams: redis.Redis,
    registry: StandIn,
    population: Population,
) -> None:
    settings = matching_settings(database_url, redis_url, registry.url, revalidation_days=180)
    with TestClient(create_app(settings)) as client:
        with_legal_basis(client, streams)
        people = [p for p in (population.person(i) for i in range(400, 420)) if p.alive][:4]
        ids = [admit(client, inmate_body(p, f"V-{i}")) for i, p in enumerate(people)]
        finished(client, start_job(client, "pemadanan", ids))
        confirm = {"decision": "confirm"}
        review = client.post(f"/inmates/{ids[0]}/review", json=confirm, headers=REGISTRATION)
        assert review.is_success, review.text
        with container_of(client).engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE matching_batch SET sent_at = :at"),
                {"at": datetime.now(UTC) - timedelta(days=200)},
            )
        resync = container_of(client).resync
        assert client.portal is not None

        jobs = client.portal.call(resync.revalidate)

        assert len(jobs) == 1
        again = finished(client, jobs[0])
        assert again["purpose"] == "periodic re-validation"
        assert again["total"] == 4
        assert inmate(client, ids[0])["nik_status"] == "validated"  # confirmed again, kept
        assert inmate(client, ids[1])["nik_status"] == "matched"
        assert client.portal.call(resync.revalidate) == []  # checked just now: not due
