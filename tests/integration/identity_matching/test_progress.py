"""A job's progress is read from its own counters, and a reader never queues behind a writer."""

from __future__ import annotations

import time

import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.civil_registry.population import Population
from tests.integration.identity_matching.roster import (
    admit,
    container_of,
    finished,
    progress,
    start_job,
    with_legal_basis,
)
from tests.integration.identity_matching.support import StandIn, inmate_body


def test_progress_counts_every_person_once_and_answers_while_a_batch_is_being_written(
    client: TestClient, streams: redis.Redis, registry: StandIn, population: Population
) -> None:
    with_legal_basis(client, streams)
    people = [population.person(i) for i in range(300, 325)]
    ids = [admit(client, inmate_body(p, f"P-{i}")) for i, p in enumerate(people)]

    done = finished(client, start_job(client, "pemadanan", [*ids, "no-such-person"]))

    assert (done["total"], done["done"], done["sent"], done["pending"]) == (26, 26, 0, 0)
    assert sum(done["outcomes"].values()) == 26
    assert done["outcomes"]["skipped"] == 1
    engine = container_of(client).engine
    with engine.connect() as connection:
        by_outcome: dict[str, int] = dict(
            connection.execute(
                sa.text(
                    "SELECT outcome, count(*) FROM matching_item WHERE job_id = :id"
                    " GROUP BY outcome"
                ),
                {"id": done["job_id"]},
            ).all()
        )
    assert by_outcome == done["outcomes"]

    with engine.begin() as writer:  # a long write transaction holds the database
        writer.execute(sa.text("UPDATE matching_job SET detail = 'busy'"))
        asked = time.monotonic()
        during = progress(client, done["job_id"])
        waited = time.monotonic() - asked

    assert during["done"] == 26
    assert during["detail"] is None  # what was committed, not the writer's change
    assert waited < 5.0  # SQLite's busy timeout is 30 s: the read did not wait for the lock
