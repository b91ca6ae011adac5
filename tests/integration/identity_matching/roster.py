"""Admitting people and running jobs through an in-process identity app."""

from __future__ import annotations

from typing import Any

import redis
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.identity.container import Container
from tests.integration.identity_matching.support import (
    REGISTRATION,
    STAFF,
    publish_civil_registry_agreement,
    wait_until,
)


def container_of(client: TestClient) -> Container:
    app = client.app
    assert isinstance(app, FastAPI)
    c = app.state.container
    assert isinstance(c, Container)
    return c


def admit(client: TestClient, body: dict[str, Any]) -> str:
    response = client.post("/inmates", json=body, headers=STAFF)
    assert response.status_code == 201, response.text
    person_id: str = response.json()["id"]
    return person_id


def with_legal_basis(client: TestClient, streams: redis.Redis, **agreement: Any) -> str:
    """Publish an agreement with Dukcapil and wait until the identity read model has it."""
    agreement_id = publish_civil_registry_agreement(streams, **agreement)
    engine = container_of(client).engine

    def arrived() -> bool:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    sa.text("SELECT count(*) FROM legal_basis WHERE agreement_id = :id"),
                    {"id": agreement_id},
                ).scalar_one()
            )

    wait_until(arrived, what="the agreement in the legal-basis read model")
    return agreement_id


def start_job(client: TestClient, purpose: str, person_ids: list[str] | None = None) -> str:
    body: dict[str, Any] = {"purpose": purpose}
    if person_ids is not None:
        body["person_ids"] = person_ids
    response = client.post("/matching/jobs", json=body, headers=REGISTRATION)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def progress(client: TestClient, job_id: str) -> dict[str, Any]:
    response = client.get(f"/matching/jobs/{job_id}", headers=STAFF)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def finished(client: TestClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = progress(client, job_id)
        return body if body["status"] != "running" else None

    result: dict[str, Any] = wait_until(done, timeout=timeout, what=f"job {job_id} to finish")
    return result


def inmate(client: TestClient, person_id: str) -> dict[str, Any]:
    response = client.get(f"/inmates/{person_id}", headers=STAFF)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def items(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    engine = container_of(client).engine
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT * FROM matching_item WHERE job_id = :id"), {"id": job_id}
        ).mappings()
        return [dict(row) for row in rows]


def audit_rows(client: TestClient, action: str) -> list[dict[str, Any]]:
    engine = container_of(client).engine
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT * FROM access_audit WHERE action = :a ORDER BY id"), {"a": action}
        ).mappings()
        return [dict(row) for row in rows]
