"""Enrolments, certificates and exam results, and exits caused by the identity service."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

import redis
from fastapi.testclient import TestClient

from tests.integration.programs.support import (
    OTHER_FACILITY,
    STAFF,
    World,
    published,
    refusal,
)
from tests.streams import wait_until


def enrol(
    client: TestClient,
    person: str,
    agreement: str,
    kind: str = "job_training",
    on: str = "2024-02-01",
) -> Any:
    return client.post(
        "/enrolments",
        json={
            "person_id": person,
            "agreement_id": agreement,
            "programme_kind": kind,
            "enrolled_on": on,
        },
        headers=STAFF,
    )


def created(response: Any) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def enrolment(client: TestClient, enrolment_id: str) -> dict[str, Any]:
    listed: list[dict[str, Any]] = client.get("/enrolments", headers=STAFF).json()["data"]
    [found] = [e for e in listed if e["id"] == enrolment_id]
    return found


def test_completing_a_training_with_a_validated_nik_issues_the_certificate(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    agreement = world.agreement(["job_training"], partner="disnaker")
    person = world.admit("B.I-010/2024")
    world.settle()
    enrolment_id = created(enrol(client, person, agreement))

    response = client.post(
        f"/enrolments/{enrolment_id}/complete",
        json={"completed_on": "2024-05-20", "outcome": {"passed": True, "level": "welding"}},
        headers=STAFF,
    )

    assert response.status_code == 200, response.text
    outcome_id = response.json()["outcome_id"]
    [issued] = wait_until(lambda: published(streams, "sinergi.outcome.issued", outcome_id))
    assert issued["data"]["kind"] == "certificate"
    assert issued["data"]["person_id"] == person
    assert published(streams, "sinergi.enrolment.completed", enrolment_id)
    outcomes = client.get("/outcomes", params={"person": person}, headers=STAFF).json()
    assert [o["id"] for o in outcomes["data"]] == [outcome_id]


def test_an_outcome_without_a_validated_nik_is_refused_naming_the_missing_step(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["job_training"], partner="disnaker")
    person = world.admit("B.I-011/2024", nik_status="partial")
    world.settle()
    enrolment_id = created(enrol(client, person, agreement))
    done = client.post(
        f"/enrolments/{enrolment_id}/complete", json={"completed_on": "2024-05-20"}, headers=STAFF
    )
    assert done.status_code == 200, done.text

    issue = {"enrolment_id": enrolment_id, "issued_on": "2024-05-21", "passed": True}
    response = client.post("/outcomes", json=issue, headers=STAFF)

    assert refusal(response) == "nik_not_validated"
    assert response.json()["detail"] == (
        "the NIK of B.I-011/2024 is 'partial': it must be matched and validated (pengesahan) "
        "in the identity service before a certificate is issued"
    )
    world.nik(person, "validated")
    world.settle()
    assert client.post("/outcomes", json=issue, headers=STAFF).status_code == 201
    assert refusal(client.post("/outcomes", json=issue, headers=STAFF), 409) == (
        "outcome_already_issued"
    )


def test_registering_for_the_equivalency_exam_needs_a_validated_nik(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["equivalency_class", "equivalency_exam"], partner="disdik")
    person = world.admit("B.IIa-004/2024", nik_status="matched")
    world.settle()

    assert created(enrol(client, person, agreement, "equivalency_class"))
    assert refusal(enrol(client, person, agreement, "equivalency_exam")) == "nik_not_validated"


def test_a_released_person_is_exited_from_every_active_enrolment(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    agreement = world.agreement(["job_training", "equivalency_class"], partner="disnaker")
    person = world.admit("B.I-012/2024")
    world.settle()
    training = created(enrol(client, person, agreement))
    schooling = created(enrol(client, person, agreement, "equivalency_class"))

    world.release(person, date(2024, 4, 15))
    world.settle()

    for enrolment_id in (training, schooling):
        exited = enrolment(client, enrolment_id)
        assert (exited["status"], exited["exit_reason"]) == ("exited", "released")
        assert exited["ended_on"] == "2024-04-15"
        [event] = wait_until(partial(published, streams, "sinergi.enrolment.exited", enrolment_id))
        assert event["data"]["enrolment"]["exit_reason"] == "released"
        assert event["causationid"] is not None
    assert refusal(enrol(client, person, agreement, on="2024-04-15")) == "not_in_custody"


def test_a_transferred_person_is_exited_at_the_old_facility(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement(["job_training"], partner="disnaker")
    person = world.admit("B.I-013/2024")
    world.settle()
    training = created(enrol(client, person, agreement))

    world.transfer(person, OTHER_FACILITY, date(2024, 4, 20))
    world.settle()

    exited = enrolment(client, training)
    assert (exited["status"], exited["exit_reason"]) == ("exited", "transferred")
